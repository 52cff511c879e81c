"""Celery tasks of outbound webhooks: thin, named, ids in."""

from celery import shared_task

from integrations.sending import webhook_deliveries_send


@shared_task(name="integrations.webhook_send", acks_late=True)
def webhook_send_task(endpoint_ids: list[str] | None = None, wait: bool = False) -> int:
    """Hand these endpoints' due deliveries to the sender threads (after a feed, a ping
    or a replay). It returns at once: the worker goes on while receivers answer."""
    return webhook_deliveries_send(endpoint_ids=endpoint_ids, wait=wait)


@shared_task(name="integrations.webhook_send_due", acks_late=True)
def webhook_send_due_task() -> int:
    """Beat: every endpoint with a due delivery (retries whose time came, sends whose
    broker message was lost, leases of a dead worker)."""
    return webhook_deliveries_send()


# --- Zendesk / Gorgias ------------------------------------------------------------------


@shared_task(name="integrations.provider_sync_run", acks_late=True)
def provider_sync_run_task(run_id: int) -> str:
    """Carry out a sync whose run (the account's lock) was started by the API or beat."""
    from integrations.models import SyncRun
    from integrations.providers.sync import sync_execute

    run = SyncRun.objects.select_related("account").filter(pk=run_id, status="running").first()
    if run is None:
        return "gone"
    return sync_execute(run.account, run).status


@shared_task(name="integrations.provider_sync_due")
def provider_sync_due_task() -> int:
    """Beat: start the incremental sync of every enabled account whose interval passed."""
    from integrations.providers.scheduling import syncs_start_due

    return syncs_start_due()


@shared_task(name="integrations.inbound_process", acks_late=True)
def inbound_process_task(event_id: int) -> str:
    from integrations.providers.inbound import inbound_process_id

    return inbound_process_id(event_id)


@shared_task(name="integrations.inbound_sweep")
def inbound_sweep_task() -> int:
    from integrations.providers.inbound import inbound_sweep

    return inbound_sweep()


@shared_task(name="integrations.provider_push_send", acks_late=True)
def provider_push_send_task() -> int:
    """Send the due pushes (after a feed, and from beat for retries and lost messages)."""
    from integrations.providers.push import pushes_send

    return pushes_send()
