"""The Quimbi platform client: one requests session, connect/read timeouts, bounded
retries with exponential backoff and jitter on 429/500/502/503/504 (honouring
Retry-After, capped), no retry on other 4xx, a circuit breaker, and one structured log
line per call (path, status, attempts, duration, outcome).

Answers are returned raw; `intelligence.adapters` normalises the two shapes Quimbi is
known to serve (the published contract and what its code serves today)."""

import json
import logging
import random
import time
from collections.abc import Callable

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from intelligence.breaker import CircuitBreaker, CircuitOpen

logger = logging.getLogger("intelligence.quimbi")

RETRYABLE = {429, 500, 502, 503, 504}
ANALYZE_TTL = 15 * 60
PREDICTION_TTL = 60 * 60
MAX_RETRY_AFTER = 2.0  # seconds: a ticket request never waits long on Quimbi


class QuimbiError(Exception):
    """Quimbi answered with an error that retrying will not fix (e.g. 404, 422)."""

    def __init__(self, message: str, *, status: int | None = None, code: str = ""):
        super().__init__(message)
        self.status, self.code = status, code


class QuimbiUnavailable(QuimbiError):
    """Quimbi is not configured, down, slow, open-circuited or answering garbage."""


_breaker = CircuitBreaker(threshold=5, cooldown=30.0)


def breaker() -> CircuitBreaker:
    return _breaker


def _error_of(response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # published shape
        return str(body["error"].get("code", "")), str(body["error"].get("message", ""))
    if isinstance(body, dict) and "detail" in body:  # what the platform's code serves
        return "", str(body["detail"])[:200]
    return "", str(body)[:200]


class QuimbiClient:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float | None = None,
        retries: int = 2,
        backoff: float = 0.2,
        circuit: CircuitBreaker | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = (base_url if base_url is not None else settings.QUIMBI_BASE_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else settings.QUIMBI_API_KEY
        self.timeout = (connect_timeout, read_timeout or settings.QUIMBI_TIMEOUT_SECONDS)
        self.retries, self.backoff = retries, backoff
        self.circuit = circuit or _breaker
        self.session = session or requests.Session()
        self.sleep = sleep  # injectable: tests check the waits without waiting

    def post(self, path: str, body: dict) -> dict:
        if not self.base_url:
            raise QuimbiUnavailable("Quimbi is not configured (QUIMBI_BASE_URL).")
        try:
            self.circuit.before_call()
        except CircuitOpen as exc:
            logger.info("quimbi call skipped", extra={"path": path, "outcome": "circuit_open"})
            raise QuimbiUnavailable(str(exc)) from None
        # Profiles carry datetimes (fetched_at) and decimals: encoded as Django does.
        payload = json.dumps(body, cls=DjangoJSONEncoder)
        started, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            try:
                response = self.session.post(
                    f"{self.base_url}{path}",
                    data=payload,
                    headers={"X-API-Key": self.api_key, "Content-Type": "application/json"},
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt <= self.retries:
                    self._sleep(attempt, None)
                    continue
                return self._fail(path, started, attempt, None, f"{type(exc).__name__}")
            if response.status_code in RETRYABLE:
                if attempt <= self.retries:
                    self._sleep(attempt, response.headers.get("Retry-After"))
                    continue
                return self._fail(path, started, attempt, response.status_code, "retryable")
            if response.status_code >= 400:
                # The service is up; the request is wrong or the customer unknown.
                self.circuit.success()
                code, message = _error_of(response)
                self._log(path, started, attempt, response.status_code, "client_error")
                raise QuimbiError(
                    message or f"HTTP {response.status_code}",
                    status=response.status_code,
                    code=code,
                )
            try:
                data = response.json()
            except ValueError:
                return self._fail(path, started, attempt, response.status_code, "malformed")
            if not isinstance(data, dict):
                return self._fail(path, started, attempt, response.status_code, "malformed")
            self.circuit.success()
            self._log(path, started, attempt, response.status_code, "ok")
            return data

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2 ** (attempt - 1)) + random.uniform(0, self.backoff)
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass
        self.sleep(min(delay, MAX_RETRY_AFTER))

    def _fail(self, path, started, attempt, status, outcome):
        self.circuit.failure()
        self._log(path, started, attempt, status, outcome)
        raise QuimbiUnavailable(f"Quimbi unavailable ({outcome})", status=status)

    def _log(self, path, started, attempt, status, outcome) -> None:
        logger.info(
            "quimbi %s %s in %.0f ms (%d attempt%s)",
            path,
            outcome,
            (time.monotonic() - started) * 1000,
            attempt,
            "" if attempt == 1 else "s",
            extra={
                "path": path,
                "status": status,
                "attempts": attempt,
                "outcome": outcome,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )

    def cached_post(self, path: str, body: dict, *, key: str, ttl: int) -> dict:
        """Intelligence answers are cacheable (generation answers are not)."""
        cache_key = f"quimbi:{self.api_key[-6:]}:{path}:{key}"
        hit = cache.get(cache_key)
        if hit is not None:
            return hit
        data = self.post(path, body)
        cache.set(cache_key, data, ttl)
        return data

    # --- the calls ---------------------------------------------------------------
    def analyze(self, customer_id: str) -> dict:
        return self.cached_post(
            "/api/intelligence/analyze",
            {"customer_id": customer_id, "context": {}},
            key=customer_id,
            ttl=ANALYZE_TTL,
        )

    def churn(self, customer_id: str) -> dict:
        return self.cached_post(
            "/api/intelligence/predict/churn",
            {"customer_id": customer_id},
            key=customer_id,
            ttl=PREDICTION_TTL,
        )

    def ltv(self, customer_id: str, months: int = 12) -> dict:
        # Both spellings of the horizon: the contract's and the one the code reads.
        return self.cached_post(
            "/api/intelligence/predict/ltv",
            {"customer_id": customer_id, "horizon_months": months, "time_horizon_months": months},
            key=f"{customer_id}:{months}",
            ttl=PREDICTION_TTL,
        )

    def generate_message(
        self,
        *,
        customer_id: str,
        profile: dict,
        conversation: list[dict],
        channel: str,
        tone: str,
        length: str,
        goal: str = "resolve_support_issue",
    ) -> dict:
        """A draft reply. The body carries both shapes: the published nested one and the
        flat one the platform's code reads (it ignores fields it does not know)."""
        channel = channel if channel in ("email", "sms", "chat") else "email"
        return self.post(
            "/api/generation/message",
            {
                "customer_profile": profile,
                "context": {
                    "goal": goal,
                    "channel": channel,
                    "conversation": [
                        {
                            "from": "agent" if m["from_agent"] else "customer",
                            "content": m["content"],
                        }
                        for m in conversation
                    ],
                    "constraints": {"tone": tone, "length": length},
                },
                "customer_id": customer_id,
                "conversation_history": [
                    {"from_customer": not m["from_agent"], "text": m["content"]}
                    for m in conversation
                ],
                "goal": goal,
                "channel": channel,
                "tone": tone,
                "length": length,
            },
        )

    def generate_actions(self, *, customer_id: str, profile: dict, ticket: dict) -> dict:
        return self.post(
            "/api/generation/actions",
            {
                "customer_profile": profile,
                "scenario": "support_ticket",
                "context": {"ticket": ticket},
                "customer_id": customer_id,
                "issue_type": ticket.get("subject", "support_ticket")[:100],
            },
        )


def client_for(organization_id, **kwargs) -> QuimbiClient:
    """A client with the organization's own key when it has one (QuimbiAccount)."""
    from intelligence.models import QuimbiAccount

    account = QuimbiAccount.objects.filter(organization_id=organization_id).first()
    if account is not None:
        kwargs.setdefault("api_key", account.api_key)
        if account.base_url:
            kwargs.setdefault("base_url", account.base_url)
    return QuimbiClient(**kwargs)


def quimbi_configured(organization_id) -> bool:
    """Is there a Quimbi to ask at all? Without one the backend runs on neutral defaults
    (that is not an outage, and nothing answers 503 for it)."""
    return bool(client_for(organization_id).base_url)
