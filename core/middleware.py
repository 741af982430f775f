"""Checks on every request before any view runs."""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse


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
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
