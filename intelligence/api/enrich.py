"""The ticket detail's `customer_profile` from the kept intelligence (no Quimbi call on
the request path: a stale or missing entry schedules a background refresh)."""

from intelligence.models import CustomerIntelligence
from intelligence.profile import customer_profile
from intelligence.services import intelligence_refresh_enqueue


def intelligence_detail_enrich(ticket, data) -> None:
    row = CustomerIntelligence.objects.filter(customer_id=ticket.customer_id).first()
    data["customer_profile"] = customer_profile(ticket.customer, row)
    if data["customer_profile"]["intelligence_status"] != "fresh":
        intelligence_refresh_enqueue(customer=ticket.customer)
