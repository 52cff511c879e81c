"""The breach scan: set-based, idempotent, cheap at any number of tickets.

Every minute (beat) and with `manage.py sla_scan`:
1. on PostgreSQL, take a transaction-level advisory lock (a concurrent scan skips);
2. active clocks whose at-risk instant has passed get `at_risk_at` (one UPDATE over the
   partial index on `at_risk_due_at`), active clocks past `due_at` become breached with
   `breached_at = due_at` (one UPDATE over the partial index on `due_at`);
3. one SLAEvent per transition (unique per clock and kind: a second scan writes none)
   and one `sla.at_risk` / `sla.breached` ticket event, dispatched through the outbox
   to the escalation handler (and later to outbound webhooks);
4. the tickets' sla_status / sla_due_at summaries are refreshed.
Its cost grows with the number of newly due clocks, not with the number of tickets.
"""

import logging
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from sla.clocks import ticket_sla_summary_refresh
from sla.models import SLAClock, SLAEvent
from tickets.events import events_record_bulk
from tickets.models import TicketEvent

logger = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 7_240_113  # "sla scan"
BATCH = 5000
FIELDS = ("id", "ticket_id", "organization_id", "metric", "policy_id", "due_at", "at_risk_due_at")


def _lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: one writer at a time anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _record(rows: list[dict], kind: str, at_field: str, *, notify: list[dict] | None = None):
    """One SLAEvent per transition, and one ticket event per transition in `notify`."""
    SLAEvent.objects.bulk_create(
        [
            SLAEvent(
                organization_id=r["organization_id"],
                ticket_id=r["ticket_id"],
                clock_id=r["id"],
                kind=kind,
                payload={"at": r[at_field].isoformat(), "metric": r["metric"]},
            )
            for r in rows
        ],
        ignore_conflicts=True,
    )
    notify = rows if notify is None else notify
    if not notify:
        return
    events_record_bulk(
        [
            TicketEvent(
                organization_id=r["organization_id"],
                ticket_id=r["ticket_id"],
                kind=f"sla.{kind}",
                actor_label="sla",
                payload={
                    "clock_id": r["id"],
                    "metric": r["metric"],
                    "policy_id": str(r["policy_id"]) if r["policy_id"] else None,
                    "due_at": r["due_at"].isoformat(),
                    "at": r[at_field].isoformat(),
                },
            )
            for r in notify
        ]
    )


def sla_scan(*, now: datetime | None = None, batch: int = BATCH) -> dict:
    """Mark newly at-risk and breached clocks. Returns what it did."""
    now = now or timezone.now()
    with transaction.atomic():
        if not _lock():
            return {"skipped": "another scan is running", "at_risk": 0, "breached": 0}
        at_risk = list(
            SLAClock.objects.filter(
                status=SLAClock.Status.ACTIVE, at_risk_at__isnull=True, at_risk_due_at__lte=now
            )
            .order_by("at_risk_due_at")
            .values(*FIELDS)[:batch]
        )
        breached = list(
            SLAClock.objects.filter(status=SLAClock.Status.ACTIVE, due_at__lte=now)
            .order_by("due_at")
            .values(*FIELDS)[:batch]
        )
        if at_risk:
            SLAClock.objects.filter(
                id__in=[r["id"] for r in at_risk], at_risk_at__isnull=True
            ).update(at_risk_at=F("at_risk_due_at"), updated_at=now)
            # A clock that went past at-risk straight to breached (between two scans)
            # gets its at-risk record, but only the breach is announced.
            breaching = {r["id"] for r in breached}
            _record(
                at_risk,
                "at_risk",
                "at_risk_due_at",
                notify=[r for r in at_risk if r["id"] not in breaching],
            )
        if breached:
            SLAClock.objects.filter(
                id__in=[r["id"] for r in breached], status=SLAClock.Status.ACTIVE
            ).update(
                status=SLAClock.Status.BREACHED,
                breached_at=F("due_at"),
                at_risk_at=Coalesce("at_risk_at", "at_risk_due_at", "due_at"),
                updated_at=now,
            )
            _record(breached, "breached", "due_at")
        tickets = list({r["ticket_id"] for r in at_risk + breached})
        if tickets:
            ticket_sla_summary_refresh(ticket_ids=tickets)
    result = {"at_risk": len(at_risk), "breached": len(breached), "tickets": len(tickets)}
    if tickets:
        logger.info("sla scan: %s", result)
    return result
