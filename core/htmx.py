"""Whether a request wants a piece of a page or the whole page.

Every view that answers htmx with a partial asks this one question, so they all
agree on the two htmx requests that must still get the full page: a boosted link
(it swaps the whole body) and a history restore (htmx found no snapshot of the page
in its cache and asks for it again to show it whole).
"""

from django.http import HttpRequest


def is_partial(request: HttpRequest) -> bool:
    """An htmx request for a piece of the page (not a boosted link or a history restore)."""
    htmx = request.htmx
    return bool(htmx and not htmx.boosted and not htmx.history_restore_request)
