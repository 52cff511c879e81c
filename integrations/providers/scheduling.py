"""Starting syncs: by the beat (each enabled account at its interval) and by the API
(one now). A start takes the account's lock (the running SyncRun) and hands the run to
a Celery task; with the broker down the run is marked failed at once, not left
hanging."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.utils import timezone

from integrations.models import IntegrationAccount, SyncRun
from integrations.providers.sync import SyncBusy, run_start

logger = logging.getLogger(__name__)
RUN_TASK = "integrations.provider_sync_run"


def sync_queue(account: IntegrationAccount, *, full: bool, trigger: str) -> SyncRun:
    """Start a run (SyncBusy when one is running) and queue it."""
    run = run_start(account, full=full, trigger=trigger)
    try:
        current_app.send_task(RUN_TASK, kwargs={"run_id": run.pk})
    except Exception as exc:
        now = timezone.now()
        error = f"Could not queue the sync (broker unavailable: {type(exc).__name__})."
        with transaction.atomic():
            SyncRun.objects.filter(pk=run.pk).update(
                status=SyncRun.Status.FAILED, finished_at=now, errors=[error]
            )
            IntegrationAccount.objects.filter(pk=account.pk).update(
                last_sync_status=IntegrationAccount.SyncStatus.FAILED, last_sync_error=error
            )
        run.refresh_from_db()
    return run


def syncs_start_due(now=None) -> int:
    now = now or timezone.now()
    started = 0
    for account in IntegrationAccount.objects.filter(enabled=True).order_by("last_sync_at"):
        due = account.last_sync_at is None or account.last_sync_at <= now - timedelta(
            minutes=account.sync_interval_minutes
        )
        if not due:
            continue
        try:
            sync_queue(account, full=False, trigger="beat")
        except SyncBusy:
            continue
        started += 1
    return started
