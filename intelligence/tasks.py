from celery import shared_task
from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from intelligence.client import QuimbiError
from intelligence.models import CustomerIntelligence
from intelligence.services import FRESH_FOR, intelligence_refresh
from tickets import lifecycle
from tickets.models import Customer, Ticket


@shared_task(name="intelligence.refresh_customer", acks_late=True)
def refresh_customer_task(customer_id: str) -> bool:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None or not settings.QUIMBI_BASE_URL:
        return False
    try:
        intelligence_refresh(customer=customer)
    except QuimbiError:
        return False  # kept as it was; the next refresh tries again
    return True


@shared_task(name="intelligence.refresh_open_customers", acks_late=True)
def refresh_open_customers_task(limit: int = 200) -> int:
    """Periodic: refresh stale intelligence of customers with open tickets (bounded)."""
    if not settings.QUIMBI_BASE_URL:
        return 0
    stale_before = timezone.now() - FRESH_FOR
    open_ticket = Ticket.objects.filter(
        customer=OuterRef("pk"), status__in=lifecycle.ACTIVE_STATUSES
    )
    fresh = CustomerIntelligence.objects.filter(
        customer=OuterRef("pk"), fetched_at__gte=stale_before
    )
    customers = Customer.objects.filter(Exists(open_ticket)).exclude(Exists(fresh))[:limit]
    done = 0
    for customer in customers:
        try:
            intelligence_refresh(customer=customer)
            done += 1
        except QuimbiError:
            break  # Quimbi is struggling: stop, the breaker and the next run take over
    return done
