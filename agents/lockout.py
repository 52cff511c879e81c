"""Login lock-out (django-axes, database-backed): after LOGIN_FAILURE_LIMIT failed logins
an account, and separately a client address, is refused for LOGIN_LOCKOUT_MINUTES, on the
admin's login page and on POST /api/v1/auth/token alike. The records live in PostgreSQL,
so the lock holds with Redis down and across every web worker.

These are the hooks axes calls (see the AXES_* settings)."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse

LOCKED_MESSAGE = "Too many failed logins. Try again in {minutes} minutes."


def login_name(request, credentials: dict | None) -> str | None:
    """The account a login names: `email` (API) or `username` (the admin's form field),
    compared case-insensitively as the login itself is."""
    credentials = credentials or {}
    name = credentials.get("email") or credentials.get("username")
    if name is None and request is not None:
        name = request.POST.get("username") or request.POST.get("email")
    return name.strip().lower() if isinstance(name, str) else None


def client_address(request) -> str:
    """REMOTE_ADDR, or behind the TLS proxy the address that proxy saw (the last entry of
    X-Forwarded-For: earlier entries are whatever the client chose to send)."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR", "")


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    detail = LOCKED_MESSAGE.format(minutes=minutes)
    headers = {"Retry-After": str(minutes * 60)}
    if request.path.startswith("/api/"):
        body = {
            "detail": detail,
            "error": {"code": "ACCOUNT_LOCKED", "message": detail, "details": {}},
        }
        return JsonResponse(body, status=429, headers=headers)
    return HttpResponse(detail, status=429, headers=headers, content_type="text/plain")
