"""What /api/ URLs that match no endpoint answer: JSON, like every other API error."""

from django.http import JsonResponse
from django.views.defaults import page_not_found
from rest_framework import status


def not_found(request, exception):
    """The project's handler404: `{"detail": …}` under /api/, the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "Not found: no such API endpoint or record. See /api/docs/."},
            status=status.HTTP_404_NOT_FOUND,
        )
    return page_not_found(request, exception)
