"""HTTP to a provider: Basic auth, timeouts, a client-side request budget, 429 answers
honoured with their Retry-After, 5xx and timeouts retried with exponential backoff.

One `ProviderHTTP` per sync run (its session is shared by the comment-fetching threads:
requests' Session is safe for concurrent GETs with a pool sized to the threads).
"""

from __future__ import annotations

import logging
import random
import threading
import time

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    """The provider refused or kept failing; `status` is its last HTTP status (0: no
    answer)."""

    def __init__(self, message: str, status: int = 0, body: str = ""):
        super().__init__(message)
        self.status = status
        self.body = body[:2000]


class NotFound(ProviderError):
    pass


class _Budget:
    """At most `per_minute` requests in any minute, shared by the run's threads."""

    def __init__(self, per_minute: int):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.next_at = 0.0
        self.lock = threading.Lock()

    def take(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            at = max(now, self.next_at)
            self.next_at = at + self.interval
        if at > now:
            time.sleep(at - now)


class ProviderHTTP:
    def __init__(self, *, base_url: str, auth: tuple[str, str], per_minute: int, threads: int = 8):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers.update({"Accept": "application/json", "User-Agent": "quimbi-support"})
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(threads, 1))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.budget = _Budget(per_minute)
        self.timeout = settings.PROVIDER_TIMEOUT_SECONDS
        self.retries = settings.PROVIDER_MAX_RETRIES
        self.requests_made = 0

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def request(self, method: str, path: str, *, params=None, json=None) -> dict:
        """The JSON answer; retries what is worth retrying, raises ProviderError (or
        NotFound for a 404) otherwise."""
        url = self.url(path)
        for attempt in range(self.retries + 1):
            self.budget.take()
            self.requests_made += 1
            try:
                response = self.session.request(
                    method, url, params=params, json=json, timeout=self.timeout
                )
            except requests.RequestException as exc:
                if attempt == self.retries:
                    raise ProviderError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
                self._backoff(attempt, f"{type(exc).__name__}")
                continue
            status = response.status_code
            if status == 429 and attempt < self.retries:
                wait = _retry_after(response)
                if wait > settings.PROVIDER_MAX_RETRY_AFTER_SECONDS:
                    raise ProviderError(f"{method} {url}: rate limited for {wait:.0f} s", 429)
                logger.info("%s %s: 429, waiting %.1f s (Retry-After)", method, url, wait)
                time.sleep(wait)
                continue
            if status >= 500 and attempt < self.retries:
                self._backoff(attempt, f"HTTP {status}")
                continue
            if status == 404:
                raise NotFound(f"{method} {url}: not found", 404, response.text)
            if status >= 400:
                raise ProviderError(
                    f"{method} {url}: HTTP {status}: {response.text[:300]}", status, response.text
                )
            try:
                return response.json() if response.content else {}
            except ValueError as exc:
                raise ProviderError(f"{method} {url}: the answer is not JSON", status) from exc
        raise ProviderError(f"{method} {url}: gave up")  # pragma: no cover - loop returns

    def get(self, path: str, **params) -> dict:
        return self.request("GET", path, params=params or None)

    def _backoff(self, attempt: int, why: str) -> None:
        base = settings.PROVIDER_BACKOFF_SECONDS
        wait = min(base * 2**attempt, 60.0) * (0.5 + random.random() / 2)  # noqa: S311
        logger.info("provider request failed (%s); retry %s in %.2f s", why, attempt + 1, wait)
        time.sleep(wait)


def _retry_after(response) -> float:
    value = response.headers.get("Retry-After") or response.headers.get("Retry-after")
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return settings.PROVIDER_BACKOFF_SECONDS
