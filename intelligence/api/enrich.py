"""The ticket detail's `customer_profile` and `ai_recommendation` from what is kept (no
Quimbi call on the request path: a stale or missing profile schedules a background
refresh). When nothing is known of the customer the profile is left out rather than
filled with zeros the agent would read as facts; a stale one carries its last known
values marked `intelligence_status: stale`."""

from intelligence.ai import recommendation_data
from intelligence.models import CustomerIntelligence, TicketRecommendation
from intelligence.profile import customer_profile
from intelligence.services import intelligence_refresh_enqueue


def intelligence_detail_enrich(ticket, data) -> None:
    row = CustomerIntelligence.objects.filter(customer_id=ticket.customer_id).first()
    if row is not None:
        data["customer_profile"] = customer_profile(ticket.customer, row)
    if row is None or data["customer_profile"]["intelligence_status"] != "fresh":
        intelligence_refresh_enqueue(customer=ticket.customer)
    recommendation = TicketRecommendation.objects.filter(ticket=ticket).first()
    if recommendation is not None:
        data["ai_recommendation"] = recommendation_data(recommendation)
