"""The API's composition: one exception handler, and the versioned URL tree.

Errors are always JSON with a `detail` string; validation errors also carry the
per-field messages (`{"detail": "...", "errors": {"field": ["..."]}}`).
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
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


def exception_handler(exc, context):
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


v1_patterns = [
    path("", include("agents.api.urls")),
]

urlpatterns = [
    path("api/v1/", include((v1_patterns, "v1"))),
    # The current version also answers unversioned (the existing frontend calls /api/...).
    path("api/", include((v1_patterns, "current"))),
]
