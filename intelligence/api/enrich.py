"""The ticket detail's `customer_profile` and `ai_recommendation` from what is kept (no
Quimbi call on the request path: a stale or missing profile schedules a background
refresh). When nothing is known of the customer the profile is left out rather than
filled with zeros the agent would read as facts; a stale one carries its last known
values marked `intelligence_status: stale`."""

from intelligence.ai import recommendation_data
from intelligence.profile import customer_profile
from intelligence.selectors import intelligence_get_for_customer, recommendation_get_for_ticket
from intelligence.services import intelligence_refresh_enqueue


def intelligence_detail_enrich(ticket, data) -> None:
    row = intelligence_get_for_customer(customer=ticket.customer)
    if row is not None:
        data["customer_profile"] = customer_profile(ticket.customer, row)
    if row is None or data["customer_profile"]["intelligence_status"] != "fresh":
        intelligence_refresh_enqueue(customer=ticket.customer)
    recommendation = recommendation_get_for_ticket(ticket=ticket)
    if recommendation is not None:
        data["ai_recommendation"] = recommendation_data(recommendation)
