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
