"""Sending webhook deliveries: signed, pinned to a checked address, retried from the
database, and one endpoint never waiting for another.

- Each endpoint is drained by its own thread of a process-wide pool (WEBHOOK_CONCURRENCY
  threads, at most one per endpoint in a process): its due deliveries oldest first, one
  request at a time, each with a WEBHOOK_TIMEOUT_SECONDS timeout. The Celery task only
  hands endpoints to the pool and returns, so even a `--pool=solo` worker goes on with
  the outbox (which feeds new deliveries) while a slow receiver is being waited for.
- A delivery is claimed with a lease (`next_attempt_at` moved past the batch's worst
  case), so two workers never send it together and a dead worker's claim expires.
- A failed attempt (not 2xx, timeout, connection error) is retried with exponential
  backoff stored in `next_attempt_at`; after WEBHOOK_MAX_ATTEMPTS it ends `failed`. The
  rest of that endpoint's due batch waits for the same retry time (a failing receiver is
  not hammered), and the endpoint's `failing_since` starts; any success clears it. An
  endpoint failing for WEBHOOK_DISABLE_AFTER_SECONDS is deactivated with the reason.
- Before each batch the URL is resolved and checked again (integrations/ssrf.py) and the
  connection goes to that address (Host header and TLS name kept): a refused address
  fails the deliveries at once, without retries.
"""

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook

from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.ssrf import Target, UnresolvableUrl, UnsafeUrl, url_check
from integrations.webhooks import TEST_TYPE

logger = logging.getLogger(__name__)

PENDING, SUCCEEDED, FAILED = (
    WebhookDelivery.Status.PENDING,
    WebhookDelivery.Status.SUCCEEDED,
    WebhookDelivery.Status.FAILED,
)
BATCH = 20  # deliveries claimed at once for one endpoint
USER_AGENT = "QuimbiSupport-Webhooks/1.0"
ERROR_BODY_BYTES = 500  # of a refusing receiver's answer, kept in last_error


def _timeout() -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS)


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failure: first, 2x, 4x … capped."""
    first = float(settings.WEBHOOK_BACKOFF_SECONDS)
    cap = float(settings.WEBHOOK_BACKOFF_MAX_SECONDS)
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), cap))


# --- HTTP -----------------------------------------------------------------------------


class PinnedAdapter(HTTPAdapter):
    """Connects to the address that was checked, whatever DNS says now; the URL's host
    name stays the Host header and the TLS server name (certificates are verified for
    it)."""

    def __init__(self, target: Target, **kwargs):
        self.target = target
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        address = self.target.address
        host_params = {**host_params, "host": f"[{address}]" if ":" in address else address}
        if host_params.get("scheme") == "https":
            pool_kwargs = {
                **pool_kwargs,
                "server_hostname": self.target.hostname,
                "assert_hostname": self.target.hostname,
            }
        return host_params, pool_kwargs


def _session(target: Target) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: it would bypass the pin
    adapter = PinnedAdapter(target, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _host_header(target: Target) -> str:
    host = f"[{target.hostname}]" if ":" in target.hostname else target.hostname
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


@dataclass
class Outcome:
    ok: bool
    code: int | None = None
    error: str = ""
    final: bool = False  # no retry (a refused address)


def _post(session, signer: Webhook, target: Target, url: str, delivery) -> Outcome:
    now = timezone.now()
    headers = {
        "Host": _host_header(target),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(delivery.message_id, now, delivery.body),
    }
    timeout = _timeout()
    try:
        response = session.post(
            url,
            data=delivery.body.encode(),
            headers=headers,
            timeout=(min(timeout, 5.0), timeout),
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout:
        return Outcome(False, error=f"Timed out after {timeout:g} s.")
    except requests.RequestException as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:1000])
    try:
        if 200 <= response.status_code < 300:
            return Outcome(True, response.status_code)
        try:
            text = response.raw.read(ERROR_BODY_BYTES, decode_content=True)
            snippet = text.decode("utf-8", "replace").strip()
        except Exception:  # the answer's body is only a hint
            snippet = ""
        error = f"HTTP {response.status_code}" + (f": {snippet}" if snippet else "")
        return Outcome(False, response.status_code, error)
    finally:
        response.close()


# --- Bookkeeping ----------------------------------------------------------------------


def _claim(endpoint_id, limit: int) -> list[WebhookDelivery]:
    """Due pending deliveries of the endpoint, oldest first, leased to this worker."""
    now = timezone.now()
    lease = timedelta(seconds=limit * (_timeout() + 5) + 60)
    with transaction.atomic():
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(endpoint_id=endpoint_id, status=PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "created_at")[:limit]
        )
        if rows:
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in rows]).update(
                next_attempt_at=now + lease
            )
    return rows


def _succeeded(delivery: WebhookDelivery, outcome: Outcome) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=SUCCEEDED,
        attempts=delivery.attempts + 1,
        last_attempt_at=timezone.now(),
        response_code=outcome.code,
        last_error="",
        next_attempt_at=None,
    )


def _failed(delivery: WebhookDelivery, endpoint: WebhookEndpoint, outcome: Outcome):
    """Record a failed attempt; the time of the next one (None: given up)."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    is_ping = delivery.event_type == TEST_TYPE  # a ping is tried once
    final = outcome.final or is_ping or attempts >= int(settings.WEBHOOK_MAX_ATTEMPTS)
    next_at = None if final else now + backoff(attempts)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=FAILED if final else PENDING,
        attempts=attempts,
        last_attempt_at=now,
        response_code=outcome.code,
        last_error=outcome.error[:2000],
        next_attempt_at=next_at,
    )
    logger.info(
        "webhook %s to %s failed (attempt %d%s): %s",
        delivery.message_id,
        endpoint.pk,
        attempts,
        ", giving up" if final else "",
        outcome.error[:200],
    )
    if not is_ping and endpoint.active:
        _endpoint_failing(endpoint, outcome.error, now=now)
    return next_at


def _endpoint_failing(endpoint: WebhookEndpoint, error: str, *, now) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    since = (
        WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("failing_since", flat=True)
    ).first()
    limit = timedelta(seconds=float(settings.WEBHOOK_DISABLE_AFTER_SECONDS))
    if since is not None and now - since >= limit:
        webhook_endpoint_disable(endpoint_id=endpoint.pk, since=since, error=error)


@transaction.atomic
def webhook_endpoint_disable(*, endpoint_id, since, error: str) -> bool:
    """Deactivate an endpoint that kept failing, saying why; its pending deliveries end
    failed (replayable once it is fixed). False if it was already inactive."""
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None or not endpoint.active:
        return False
    reason = (
        f"Disabled automatically at {timezone.now():%Y-%m-%d %H:%M} UTC: every delivery "
        f"failed since {since:%Y-%m-%d %H:%M} UTC. Last error: {error}"
    )[:500]
    endpoint.active, endpoint.disabled_reason = False, reason
    endpoint._history_user, endpoint._change_reason = None, "failing for too long"
    endpoint.save(update_fields=["active", "disabled_reason", "updated_at"])
    WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=PENDING).exclude(
        event_type=TEST_TYPE
    ).update(status=FAILED, next_attempt_at=None, last_error=reason)
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    return True


def _release(deliveries: list[WebhookDelivery], until) -> None:
    """Hand claimed, unsent deliveries back, due at `until` (their attempts unchanged)."""
    if deliveries:
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries], status=PENDING).update(
            next_attempt_at=until or timezone.now()
        )


def _fail_all(deliveries: list[WebhookDelivery], endpoint, outcome: Outcome) -> None:
    for delivery in deliveries:
        _failed(delivery, endpoint, outcome)


# --- Draining one endpoint ------------------------------------------------------------


def webhook_endpoint_drain(*, endpoint_id) -> int:
    """Send the endpoint's due deliveries, oldest first, until none is due or one fails
    (the rest then wait for its retry). Returns how many succeeded."""
    sent = 0
    while True:
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
        if endpoint is None:
            return sent
        batch = _claim(endpoint.pk, BATCH)
        if not batch:
            return sent
        if not endpoint.active:  # only pings go to a disabled endpoint
            refused = [d for d in batch if d.event_type != TEST_TYPE]
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in refused]).update(
                status=FAILED,
                next_attempt_at=None,
                last_error=f"The endpoint is disabled. {endpoint.disabled_reason}".strip(),
            )
            batch = [d for d in batch if d.event_type == TEST_TYPE]
            if not batch:
                continue
        try:
            target = url_check(endpoint.url)
        except UnsafeUrl as exc:
            _fail_all(batch, endpoint, Outcome(False, error=exc.detail, final=True))
            continue
        except UnresolvableUrl as exc:
            retry_at = _failed(batch[0], endpoint, Outcome(False, error=exc.detail))
            _release(batch[1:], retry_at)
            return sent
        signer = Webhook(endpoint.secret)
        cleared = False
        with _session(target) as session:
            for index, delivery in enumerate(batch):
                outcome = _post(session, signer, target, endpoint.url, delivery)
                if not outcome.ok:
                    retry_at = _failed(delivery, endpoint, outcome)
                    _release(batch[index + 1 :], retry_at)
                    return sent
                _succeeded(delivery, outcome)
                sent += 1
                if not cleared:
                    WebhookEndpoint.objects.filter(
                        pk=endpoint.pk, failing_since__isnull=False
                    ).update(failing_since=None)
                    cleared = True


# --- The process's sender pool --------------------------------------------------------


class SenderPool:
    """A thread per endpoint being drained (bounded), at most one per endpoint."""

    def __init__(self):
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._again: set[str] = set()
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, endpoint_id) -> Future | None:
        key = str(endpoint_id)
        with self._lock:
            if key in self._busy:
                self._again.add(key)  # its thread drains again before it stops
                return None
            self._busy.add(key)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=int(settings.WEBHOOK_CONCURRENCY),
                    thread_name_prefix="webhooks",
                )
            executor = self._executor
        return executor.submit(self._run, key)

    def _run(self, key: str) -> None:
        try:
            while True:
                try:
                    webhook_endpoint_drain(endpoint_id=key)
                except Exception:
                    logger.exception("webhook endpoint %s: drain failed", key)
                with self._lock:
                    if key not in self._again:
                        self._busy.discard(key)
                        return
                    self._again.discard(key)
        finally:
            with self._lock:
                self._busy.discard(key)
            connections.close_all()  # this thread's connections only


POOL = SenderPool()


def webhook_deliveries_send(*, endpoint_ids=None, wait: bool = False, limit: int = 1000) -> int:
    """Hand every endpoint with due deliveries (of `endpoint_ids`, or all) to the pool;
    with `wait`, return once they are drained. Returns how many endpoints were due."""
    due = WebhookDelivery.objects.filter(status=PENDING, next_attempt_at__lte=timezone.now())
    if endpoint_ids is not None:
        due = due.filter(endpoint_id__in=list(endpoint_ids))
    ids = list(due.order_by().values_list("endpoint_id", flat=True).distinct()[:limit])
    futures = [f for f in (POOL.submit(pk) for pk in ids) if f is not None]
    if wait and futures:
        futures_wait(futures)
    return len(ids)
