from celery import shared_task
from django.db import transaction
from django.utils import timezone

from sla.clocks import sla_reconcile
from sla.scan import sla_scan
from tickets import lifecycle
from tickets.models import Ticket


@shared_task(name="sla.scan", acks_late=True)
def sla_scan_task() -> dict:
    """Beat, every minute: mark at-risk and breached clocks."""
    return sla_scan()


def _rematch(tickets) -> int:
    now = timezone.now()
    count = 0
    for ticket_id in (
        tickets.filter(status__in=lifecycle.ACTIVE_STATUSES).values_list("pk", flat=True).iterator()
    ):
        with transaction.atomic():
            sla_reconcile(ticket_id=ticket_id, at=now)
        count += 1
    return count


@shared_task(name="sla.rematch_organization", acks_late=True)
def sla_rematch_organization_task(organization_id: str) -> int:
    """After a policy or calendar change: re-match the organization's open tickets."""
    return _rematch(Ticket.objects.filter(organization_id=organization_id))


@shared_task(name="sla.rematch_customer", acks_late=True)
def sla_rematch_customer_task(customer_id: str) -> int:
    return _rematch(Ticket.objects.filter(customer_id=customer_id))
