"""Checks on every request before any view runs, and what a response needs after one."""

import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

from core.queue import QueueUnavailable


def _refusal(request: HttpRequest, message: str, status: int) -> HttpResponse:
    """A refusal in the shape the caller reads: JSON under /api/, plain text elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class RefuseOversizedBodyMiddleware:
    """A request body larger than COHORT_MAX_REQUEST_BYTES is a 413, before it is read.

    Django bounds form fields and JSON (DATA_UPLOAD_MAX_MEMORY_SIZE) but not the file
    parts of a multipart body, which the CSRF check streams to temporary files before
    any view (or sign-in check) runs: anyone could make a worker read gigabytes. The
    declared Content-Length is all it needs; without one, Django reads no body at all.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.COHORT_MAX_REQUEST_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refusal(request, "The Content-Length header is not a number.", 400)
        if length > limit:
            return _refusal(
                request,
                f"The request body is {length / 2**20:.1f} MB, larger than the "
                f"{limit / 2**20:.0f} MB accepted (a CSV file to import: at most 20 MB). "
                "Split the file into smaller parts and send each.",
                413,
            )
        return self.get_response(request)


class RefuseNulInQueryMiddleware:
    """A NUL character in a query parameter is a 400 that says so.

    No stored text holds NUL (PostgreSQL cannot store it; forms and serializers
    refuse it), so a search or filter with one can match nothing. PostgreSQL also
    refuses to compare it, which made every search box and filter a 500 there;
    checking here covers them all, present and future.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    return self._refuse(request, name)
        return self.get_response(request)

    def _refuse(self, request: HttpRequest, name: str) -> HttpResponse:
        shown = name.replace("\x00", "\\x00")
        message = (
            f"The query parameter “{shown}” contains a null character (\\x00), "
            "which no search or filter can match; remove it."
        )
        return _refusal(request, message, 400)


class QueueUnavailableMiddleware:
    """A page that needed the job queue while the broker is down answers 503 with
    Retry-After and a page saying what happened and when to try again, instead of a 500.

    (The API turns the same exception into JSON: core.api.exceptions.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, QueueUnavailable):
            return None
        if request.path.startswith("/api/"):
            response = _refusal(request, str(exception), 503)
        else:
            response = TemplateResponse(
                request, "core/queue_unavailable.html", {"message": str(exception)}, status=503
            )
            response.render()
        response["Retry-After"] = str(exception.retry_after)
        return response


class SlidingSessionMiddleware:
    """A signed-in session lasts SESSION_COOKIE_AGE (COHORT_SESSION_IDLE_HOURS) from its
    last use: each request pushes the expiry forward, at most once a minute, so a session
    idle that long ends while one in use never does. Cheaper than
    SESSION_SAVE_EVERY_REQUEST, which writes the session row on every request.
    """

    KEY = "_cohort_refreshed_at"
    EVERY_S = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only a request that read the session (a signed-in page) counts as use; the
        # others (health probes, static files, token API calls) never load it.
        if session is None or not session.accessed or not session.get("_auth_user_id"):
            return response
        now = int(time.time())
        if session.modified or now - session.get(self.KEY, 0) >= self.EVERY_S:
            session[self.KEY] = now  # marks it modified: saved with a new expiry, cookie re-sent
        return response

    @classmethod
    def mark_signed_in(cls, sender, request, user, **kwargs) -> None:
        """user_logged_in (CoreConfig.ready): the sign-in's own session write counts as
        the first extension, so the next request does not write the session again."""
        if getattr(request, "session", None) is not None:
            request.session[cls.KEY] = int(time.time())
