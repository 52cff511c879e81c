"""Fetching and keeping customer intelligence. Nothing here runs on a ticket request
path: refreshes run in Celery tasks (or on an explicit intelligence endpoint)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from intelligence.adapters import analyze_normalise, churn_normalise, ltv_normalise
from intelligence.client import QuimbiClient, QuimbiError, QuimbiUnavailable, client_for
from intelligence.models import CustomerIntelligence
from tickets.events import event_record
from tickets.models import Customer

logger = logging.getLogger(__name__)

FRESH_FOR = timedelta(minutes=15)  # analyze answers are cacheable ~15 min
FIELDS = (
    "archetype",
    "segments",
    "dominant_segments",
    "lifetime_value",
    "total_orders",
    "avg_order_value",
    "days_since_last_purchase",
    "customer_tenure_days",
    "churn_score",
    "churn_level",
    "churn_factors",
    "recommendations",
    "ltv_12m",
    "ltv_low",
    "ltv_high",
    "guidance",
)


def cache_key(customer: Customer) -> str:
    return f"intel:{customer.organization_id}:{customer.external_id}"


def intelligence_refresh(*, customer: Customer, client: QuimbiClient | None = None):
    """Ask Quimbi (analyze, then churn and LTV) and keep the answer. Raises
    QuimbiUnavailable / QuimbiError when analyze fails; the old row stays as it was."""
    client = client or client_for(customer.organization_id)
    try:
        data = analyze_normalise(client.analyze(customer.external_id))
    except QuimbiError as exc:
        CustomerIntelligence.objects.filter(customer=customer).update(
            last_error=str(exc)[:300], last_attempt_at=timezone.now()
        )
        raise
    for call, normalise in ((client.churn, churn_normalise), (client.ltv, ltv_normalise)):
        try:
            extra = normalise(call(customer.external_id))
        except QuimbiError:
            continue  # analyze is enough; the detailed predictions are a bonus
        data.update({k: v for k, v in extra.items() if v not in (None, [], {})})
    with transaction.atomic():
        row = CustomerIntelligence.objects.select_for_update().filter(customer=customer).first()
        before = (row.churn_score, row.ltv_12m, row.lifetime_value) if row else None
        values = {k: data.get(k) for k in FIELDS}
        for key in ("segments", "dominant_segments"):
            values[key] = values[key] or {}
        for key in ("churn_factors", "recommendations", "guidance"):
            values[key] = values[key] or []
        values["churn_level"] = values["churn_level"] or ""
        row, _ = CustomerIntelligence.objects.update_or_create(
            customer=customer,
            defaults={
                **values,
                "organization_id": customer.organization_id,
                "fetched_at": timezone.now(),
                "last_error": "",
                "last_attempt_at": timezone.now(),
            },
        )
        if before != (row.churn_score, row.ltv_12m, row.lifetime_value):
            # LTV and churn feed the smart score: rescore this customer's open tickets.
            event_record(
                kind="customer.updated",
                customer=customer,
                actor=None,
                actor_label="quimbi",
                payload={"fields": ["intelligence"]},
            )
    cache.set(cache_key(customer), values, int(FRESH_FOR.total_seconds()))
    return row


def intelligence_status(row: CustomerIntelligence | None) -> str:
    if row is None:
        return "unavailable"
    return "fresh" if timezone.now() - row.fetched_at <= FRESH_FOR else "stale"


# A customer's background refresh is queued at most once in this many seconds: agents
# opening the same ticket, or one agent reloading it, queue one refresh, not one each.
REFRESH_QUEUED_SECONDS = 60


def intelligence_refresh_enqueue(*, customer: Customer) -> None:
    """Refresh in the background (stale-while-revalidate); never blocks a request. Nothing
    is queued without Quimbi configured (the task would have nothing to ask), nor while
    a refresh of this customer was queued in the last REFRESH_QUEUED_SECONDS."""
    from celery import current_app

    if not settings.QUIMBI_BASE_URL:
        return
    # False only when the mark is there; a cache that is down (None) queues as before.
    if cache.add(f"intelligence-refresh:{customer.pk}", 1, REFRESH_QUEUED_SECONDS) is False:
        return

    def send():
        try:
            current_app.send_task("intelligence.refresh_customer", args=[str(customer.pk)])
        except Exception:
            logger.warning("intelligence refresh of %s not queued", customer.pk)

    transaction.on_commit(send)


__all__ = ["QuimbiUnavailable", "intelligence_refresh", "intelligence_status"]
