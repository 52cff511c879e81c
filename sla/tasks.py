from celery import shared_task

from sla.clocks import sla_rematch
from sla.scan import sla_scan
from tickets.models import Ticket


@shared_task(name="sla.scan", acks_late=True)
def sla_scan_task() -> dict:
    """Beat, every minute: mark at-risk and breached clocks."""
    return sla_scan()


@shared_task(name="sla.rematch_organization", acks_late=True)
def sla_rematch_organization_task(organization_id: str) -> int:
    """After a policy or calendar change: re-match the organization's open tickets."""
    return sla_rematch(Ticket.objects.filter(organization_id=organization_id))


@shared_task(name="sla.rematch_customer", acks_late=True)
def sla_rematch_customer_task(customer_id: str) -> int:
    return sla_rematch(Ticket.objects.filter(customer_id=customer_id))
