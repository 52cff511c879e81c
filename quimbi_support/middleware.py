"""Request hardening in front of every view.

NUL bytes are refused at the door: PostgreSQL text and jsonb cannot store them, so one
that reached a query or a write was a 500. And every error under /api/ is JSON in the
documented shape, also when Django itself answers (a 400 for a suspicious request, a 500).
"""

import re
from urllib.parse import unquote, unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseBadRequest

from quimbi_support.api import api_error, is_api_path

# A \u0000 escape in JSON text: its backslash is not itself escaped (`"\\u0000"` is the
# six characters \u0000, not NUL), i.e. it follows an even run of backslashes.
_JSON_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _nul_location(request) -> str | None:
    """Where the request carries a NUL byte: "path", "query", "body" or None."""
    if "\x00" in request.path_info or "\x00" in request.path:
        return "path"
    if "\x00" in unquote(request.META.get("QUERY_STRING", "")):
        return "query"
    content_type = request.META.get("CONTENT_TYPE", "").lower()
    if content_type.startswith("multipart/"):
        # Uploaded files may hold any bytes, and reading the body here would hold the
        # whole upload in memory: check the form fields only. POST is parsed from the
        # stream once and DRF reuses it; a malformed or oversized one is Django's 400.
        if request.method == "POST":
            for name, values in request.POST.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    return "body"
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None  # the view answers that one (DRF's JSON 400)
    if not body:
        return None
    if b"\x00" in body:
        return "body"
    if "json" in content_type and _JSON_NUL_ESCAPE.search(body):
        return "body"
    if content_type.startswith("application/x-www-form-urlencoded") and (
        b"\x00" in unquote_to_bytes(body.replace(b"+", b" "))
    ):
        return "body"
    return None


class RejectNulBytesMiddleware:
    """A NUL byte in the path, the query string or the body is a 400 before any view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = _nul_location(request)
        if where is None:
            return self.get_response(request)
        detail = f"NUL bytes (\\x00, %00, \\u0000) are not allowed in the request {where}."
        if is_api_path(request.path):
            return api_error(400, detail)
        return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")


class ApiErrorsAsJsonMiddleware:
    """Errors Django renders itself (handler400/403, CSRF, a 500 page) are HTML; under /api/
    they become the JSON error shape, so a client never has to parse an HTML page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not settings.DEBUG  # DEBUG's traceback and URL pages are for the developer
            and response.status_code >= 400
            and is_api_path(request.path)
            and not getattr(response, "streaming", False)
            and "json" not in response.get("Content-Type", "")
        ):
            replacement = api_error(response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate", "Vary"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response
