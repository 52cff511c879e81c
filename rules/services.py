"""Writes of the smart score. Scores are derived data: they are written with
QuerySet.update / bulk_update (no history rows) and can always be recomputed."""

from django.utils import timezone

from rules.scoring import ScoreInput, score_compute
from tickets import lifecycle
from tickets.models import Ticket

SCORE_FIELDS = ("id", "status", "priority", "channel", "created_at")


def ticket_score_refresh(*, ticket_id) -> float | None:
    """Recompute one ticket's score; None if the ticket is gone."""
    row = Ticket.objects.filter(pk=ticket_id).values(*SCORE_FIELDS).first()
    if row is None:
        return None
    score, breakdown = score_compute(ScoreInput(**_input(row)), now=timezone.now())
    Ticket.objects.filter(pk=ticket_id).update(smart_score=score, score_breakdown=breakdown)
    return score


def scores_refresh_active(*, batch_size: int = 2000) -> int:
    """Refresh the time-driven part of every active ticket's score, in pk-ordered batches.

    Reads only the score inputs (values()), writes with one bulk UPDATE per batch.
    Returns the number of tickets refreshed.
    """
    now = timezone.now()
    refreshed = 0
    last_pk = None
    active = Ticket.objects.filter(status__in=lifecycle.ACTIVE_STATUSES).order_by("pk")
    while True:
        page = active if last_pk is None else active.filter(pk__gt=last_pk)
        rows = list(page.values(*SCORE_FIELDS)[:batch_size])
        if not rows:
            return refreshed
        updates = []
        for row in rows:
            score, breakdown = score_compute(ScoreInput(**_input(row)), now=now)
            updates.append(Ticket(pk=row["id"], smart_score=score, score_breakdown=breakdown))
        Ticket.objects.bulk_update(updates, ["smart_score", "score_breakdown"])
        refreshed += len(rows)
        last_pk = rows[-1]["id"]


def _input(row: dict) -> dict:
    return {k: row[k] for k in ("status", "priority", "channel", "created_at")}
