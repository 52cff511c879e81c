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
                self._failed(alias)
        return getattr(caches["throttle-fallback"], method)(*args)

    def _failed(self, alias: str) -> None:
        self._down_until = time.monotonic() + self.retry_after_seconds
        logger.warning(
            "throttle cache %r failed; counting in process memory for %ss",
            alias,
            self.retry_after_seconds,
            exc_info=True,
        )

    def reset(self) -> None:
        self._down_until = 0.0

    def get(self, key, default=None):
        return self._call("get", key, default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT):
        return self._call("set", key, value, timeout)

    def get_many(self, keys):
        return self._call("get_many", keys)

    def window_counts(self, current_key, previous_key, timeout) -> tuple[int, int]:
        """(this window's count with this request in it, the previous window's): one
        round trip on Redis (INCR, EXPIRE and GET in one MULTI/EXEC), not three."""
        if time.monotonic() >= self._down_until and "throttle" in settings.CACHES:
            cache = caches["throttle"]
            if hasattr(cache, "client") and hasattr(cache.client, "get_client"):  # django-redis
                try:
                    return self._redis_window_counts(cache, current_key, previous_key, timeout)
                except Exception:
                    self._failed("throttle")
        counts = self.get_many([current_key, previous_key])
        self.count(current_key, timeout)
        return counts.get(current_key, 0) + 1, counts.get(previous_key, 0)

    @staticmethod
    def _redis_window_counts(cache, current_key, previous_key, timeout) -> tuple[int, int]:
        current, previous = (
            cache.make_and_validate_key(current_key),
            cache.make_and_validate_key(previous_key),
        )
        # MULTI/EXEC: the counter never exists without its expiry.
        pipe = cache.client.get_client(write=True).pipeline(transaction=True)
        pipe.incr(current)
        pipe.expire(current, timeout)
        pipe.get(previous)
        count, _, before = pipe.execute()
        return int(count), int(before or 0)  # django-redis keeps integers unpickled

    def uncount(self, key) -> None:
        """Take back a request counted by window_counts (it was refused)."""
        try:
            self._call("decr", key)
        except ValueError:  # the counter expired meanwhile
            pass

    def count(self, key, timeout) -> None:
        """One more in the counter `key` (created with `timeout`), atomically where the
        cache can (Redis INCR)."""
        if not self._call("add", key, 1, timeout):
            try:
                self._call("incr", key)
            except ValueError:  # expired between the two calls
                self._call("set", key, 1, timeout)


throttle_cache = ThrottleCache()


class CallerRateThrottle(SimpleRateThrottle):
    """At most `rate` requests per caller over any window of the rate's length, estimated
    from two counters: this window's and the previous one's, weighted by how much of it
    still overlaps (a sliding-window counter). DRF's throttle keeps the time of every
    request in a list it reads and writes back whole on each request, which at thousands
    per minute costs more than many a request; two integers cost the same at any rate."""

    scope = "caller"
    cache = throttle_cache

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window, offset = divmod(now, self.duration)
        current_key, previous_key = f"{self.key}:{int(window)}", f"{self.key}:{int(window) - 1}"
        # Counted first, taken back if refused: one round trip for an allowed request.
        current, previous = self.cache.window_counts(
            current_key, previous_key, int(self.duration * 2)
        )
        current -= 1  # the others in this window
        overlap = 1 - offset / self.duration
        if previous * overlap + current + 1 > self.num_requests:
            self.cache.uncount(current_key)
            # Until enough of the previous window has slid out (or, if this window alone
            # is full, until the next one starts).
            if current + 1 > self.num_requests or not previous:
                self._wait = self.duration - offset
            else:
                room = (self.num_requests - current - 1) / previous
                self._wait = max((overlap - room) * self.duration, 0.0)
            return False
        return True

    def wait(self):
        return getattr(self, "_wait", None)

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
