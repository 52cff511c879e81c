"""Request throttling per caller: an agent, or an organization API key (each key its own
bucket; DRF's UserRateThrottle would lump every key together, having no user pk).

Throttle histories live in the shared cache so that every worker counts the same requests.
When that cache is down the throttles do not fail open: each process counts in its own
memory until the shared cache answers again (limits then hold per process)."""

import logging
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from agents.principals import ApiKeyPrincipal

logger = logging.getLogger(__name__)


class ThrottleCache:
    """The "throttle" cache alias (Redis, errors not ignored), or "throttle-fallback" (local
    memory) while it fails. Without a "throttle" alias (embedded mode, no Redis) it is the
    default cache, already in process memory."""

    retry_after_seconds = 10.0  # a down Redis is not asked again on every request

    def __init__(self):
        self._down_until = 0.0

    def _call(self, method: str, *args):
        if time.monotonic() >= self._down_until:
            alias = "throttle" if "throttle" in settings.CACHES else "default"
            try:
                return getattr(caches[alias], method)(*args)
            except Exception:  # any cache failure: connection refused, timeout, bad answer
                self._down_until = time.monotonic() + self.retry_after_seconds
                logger.warning(
                    "throttle cache %r failed; counting in process memory for %ss",
                    alias,
                    self.retry_after_seconds,
                    exc_info=True,
                )
        return getattr(caches["throttle-fallback"], method)(*args)

    def reset(self) -> None:
        self._down_until = 0.0

    def get(self, key, default=None):
        return self._call("get", key, default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT):
        return self._call("set", key, value, timeout)


throttle_cache = ThrottleCache()


class CallerRateThrottle(SimpleRateThrottle):
    scope = "caller"
    cache = throttle_cache

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            ident = f"key:{user.api_key.pk}"
        elif user is not None and user.is_authenticated:
            ident = f"agent:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginRateThrottle(ScopedRateThrottle):
    """Logins per client address (the view's `throttle_scope`, "auth"), on the same cache."""

    cache = throttle_cache
