"""One error shape for the API: {"field": ["message"]} or {"detail": "message"}."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.queue import QueueUnavailable


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with the current state of the data."
    default_code = "conflict"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def exception_handler(exc, context):
    if isinstance(exc, QueueUnavailable):
        # The broker is down (M1): a temporary state the client may retry, not a crash.
        return Response(
            {"detail": str(exc)},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, RequestDataTooBig):
        # DRF reads a JSON body through Django, which enforces DATA_UPLOAD_MAX_MEMORY_SIZE;
        # left alone it would be Django's bare HTML 400.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = RequestTooLarge(
            f"The request body is larger than {limit:,} bytes, the most the API takes; "
            "send fewer or smaller records per request."
        )
    if isinstance(exc, DjangoValidationError):
        # Model validation raised inside a service: same shape as a serializer error.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    if isinstance(exc, ProtectedError):
        # A safety net: services refuse such deletes with a message of their own first.
        exc = Conflict("Other records still refer to this one; it cannot be deleted.")
    if isinstance(exc, IntegrityError):
        # A uniqueness race lost against a concurrent request: a conflict, not a crash.
        return Response(
            {"detail": "This change conflicts with another record; reload and try again."},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
