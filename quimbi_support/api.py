"""The API's composition: one exception handler, and the versioned URL tree.

Errors are always JSON with a `detail` string; validation errors also carry the
per-field messages (`{"detail": "...", "errors": {"field": ["..."]}}`).
"""

import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.utils import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.urls import include, path
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from agents.exceptions import Conflict, DomainError, NotFound


def _first_message(errors) -> str:
    if isinstance(errors, dict):
        for field, value in errors.items():
            message = _first_message(value)
            return message if field in ("non_field_errors", "detail") else f"{field}: {message}"
    if isinstance(errors, list) and errors:
        return _first_message(errors[0])
    return str(errors)


ERROR_CODES = {
    400: "VALIDATION_ERROR",
    401: "INVALID_API_KEY",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
DEFAULT_DETAILS = {
    400: "The request is not valid.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    500: "Server error; it has been logged.",
    503: "The service is unavailable; try again.",
}
DATABASE_UNAVAILABLE = "The database is unavailable; try again."

logger = logging.getLogger(__name__)


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def api_error(status_code: int, detail: str | None = None) -> JsonResponse:
    """The documented error body, for answers given outside DRF's exception handler."""
    if detail is None:
        detail = DEFAULT_DETAILS.get(status_code) or f"{HTTPStatus(status_code).phrase}."
    error = {"code": ERROR_CODES.get(status_code, "ERROR"), "message": detail, "details": {}}
    return JsonResponse({"detail": detail, "error": error}, status=status_code)


def _with_error_block(response: Response) -> Response:
    """Errors carry `detail` (what the frontend shows) and the frontend schema's
    `error: {code, message, details}` block."""
    data = response.data
    data["error"] = {
        "code": ERROR_CODES.get(response.status_code, "ERROR"),
        "message": data.get("detail", ""),
        "details": data.get("errors") or {},
    }
    return response


def exception_handler(exc, context):
    response = _exception_response(exc, context)
    return _with_error_block(response) if response is not None else None


def _exception_response(exc, context):
    if isinstance(exc, OperationalError | InterfaceError):
        # The connection dropped (or the server is gone): the transaction rolled back, so
        # the client may retry the whole request.
        logger.warning("database unavailable: %s", exc)
        return Response(
            {"detail": DATABASE_UNAVAILABLE}, status=status.HTTP_503_SERVICE_UNAVAILABLE
        )
    if isinstance(exc, OverflowError):
        # Date arithmetic past year 9999 (or before year 1) on a date the client sent; the
        # inputs known to reach it are checked where they are read, naming the field.
        return Response(
            {"detail": "A date or number is outside the supported range."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large.", "code": "too_large"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DomainError):
        code = (
            status.HTTP_404_NOT_FOUND
            if isinstance(exc, NotFound)
            else status.HTTP_409_CONFLICT
            if isinstance(exc, Conflict)
            else status.HTTP_400_BAD_REQUEST
        )
        body = {"detail": exc.detail, "code": exc.code}
        if exc.field:
            body["errors"] = {exc.field: [exc.detail]}
        return Response(body, status=code)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": _first_message(response.data), "errors": response.data}
    elif not isinstance(response.data, dict) or "detail" not in response.data:
        response.data = {"detail": _first_message(response.data), "errors": response.data}
    return response


def not_found(request, exception=None):
    """JSON 404 for API paths (HTML for the rest, e.g. the admin)."""
    from django.views.defaults import page_not_found

    if is_api_path(request.path):
        return api_error(404)
    return page_not_found(request, exception)


def server_error(request):
    """JSON 500 for API paths (HTML for the rest); Django has logged the exception."""
    from django.views.defaults import server_error as html_server_error

    if is_api_path(request.path):
        return api_error(500)
    return html_server_error(request)


v1_patterns = [
    path("", include("agents.api.urls")),
    path("", include("analytics.api.urls")),
    path("", include("routing.api.team_urls")),
    path("", include("routing.api.urls")),
    path("", include("rules.api.urls")),
    path("", include("rules.api.automation_urls")),
    path("", include("rules.api.macro_urls")),
    path("", include("sla.api.urls")),
    path("", include("intelligence.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("tickets.api.urls")),
]

urlpatterns = [
    path("api/v1/", include((v1_patterns, "v1"))),
    # The current version also answers unversioned (the existing frontend calls /api/...).
    path("api/", include((v1_patterns, "current"))),
]
