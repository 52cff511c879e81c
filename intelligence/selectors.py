"""Reads of kept intelligence and recommendations, and the churn-risk analytics."""

from dataclasses import dataclass
from datetime import UTC

from django.core.cache import cache
from django.db.models import Avg, Count, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agents.json_rows import AsJSON, json_row
from intelligence.models import CustomerIntelligence, TicketRecommendation
from tickets.models import Customer, Ticket

CHURN_LEVELS = ("low", "medium", "high", "critical")
AT_RISK_FROM = 0.6  # churn score from which a customer is listed as at risk
AT_RISK_LISTED = 20
POPULATION_TTL = 60 * 60  # archetype sizes move slowly: counted at most hourly


def archetype_population(*, organization_id, archetype_id: str) -> tuple[int, float]:
    """How many of the organization's known customers share this archetype, and their
    share of all known customers. A count over the organization's kept intelligence, so
    it is cached: the ticket detail shows it and must not scan on every view."""
    key = f"intelligence:archetype-population:{organization_id}:{archetype_id}"
    cached = cache.get(key)
    if cached is not None:
        return tuple(cached)
    counts = CustomerIntelligence.objects.filter(organization_id=organization_id).aggregate(
        total=Count("pk"), same=Count("pk", filter=Q(archetype__id=archetype_id))
    )
    total, same = counts["total"] or 0, counts["same"] or 0
    population = (same, round(same / total, 4) if total else 0.0)
    cache.set(key, population, POPULATION_TTL)
    return population


def intelligence_get_for_customer(*, customer: Customer) -> CustomerIntelligence | None:
    """The customer's kept intelligence (fresh or stale), or None if none was kept; no
    query when it was joined in already (`select_related("customer__intelligence")`)."""
    if Customer.intelligence.is_cached(customer):
        try:
            return customer.intelligence
        except CustomerIntelligence.DoesNotExist:
            return None
    return CustomerIntelligence.objects.filter(customer=customer).first()


# The newest recommendation as the ticket detail's query carries it (one JSON object).
NEWEST = "newest_recommendation"


def recommendation_columns() -> dict:
    """A correlated subquery that gives a ticket query its newest recommendation (one index
    probe on (ticket, -created_at)), read back by recommendation_get_for_ticket without a
    query of its own."""
    newest = TicketRecommendation.objects.filter(ticket=OuterRef("pk")).order_by(
        *TicketRecommendation._meta.ordering
    )
    return {
        NEWEST: json_row(
            newest,
            id="id",
            data=AsJSON("data"),
            conversation_version="conversation_version",
            created_at="created_at",
        )
    }


def recommendation_get_for_ticket(*, ticket: Ticket) -> TicketRecommendation | None:
    """The ticket's newest recommendation, or None; no query when the ticket was read with
    recommendation_columns()."""
    if not hasattr(ticket, NEWEST):
        return TicketRecommendation.objects.filter(ticket=ticket).first()
    row = getattr(ticket, NEWEST)
    if row is None:
        return None
    created_at = parse_datetime(row["created_at"])
    if timezone.is_naive(created_at):  # SQLite keeps UTC without an offset
        created_at = timezone.make_aware(created_at, UTC)
    recommendation = TicketRecommendation.from_db(
        ticket._state.db,
        ("id", "ticket_id", "data", "conversation_version", "created_at"),
        (row["id"], ticket.pk, row["data"], row["conversation_version"], created_at),
    )
    TicketRecommendation.ticket.field.set_cached_value(recommendation, ticket)
    return recommendation


def recommendation_exists(*, ticket: Ticket) -> bool:
    return TicketRecommendation.objects.filter(ticket=ticket).exists()


@dataclass
class ChurnAnalytics:
    customers_with_intelligence: int
    average_churn_risk: float | None
    distribution: dict[str, int]  # customers per churn level, every level present
    at_risk: list[CustomerIntelligence]  # the riskiest, with their customers, riskiest first


def churn_analytics_for_organization(*, organization_id) -> ChurnAnalytics:
    """Churn risk over the organization's kept intelligence, in three queries: the count
    and average, the customers per level, and the riskiest customers (churn >= 0.6)."""
    rows = CustomerIntelligence.objects.filter(organization_id=organization_id)
    totals = rows.aggregate(n=Count("pk"), avg=Avg("churn_score"))
    distribution = dict.fromkeys(CHURN_LEVELS, 0)
    for row in rows.values("churn_level").annotate(n=Count("pk")):
        if row["churn_level"] in distribution:
            distribution[row["churn_level"]] = row["n"]
    at_risk = list(
        rows.filter(churn_score__gte=AT_RISK_FROM)
        .select_related("customer")
        .order_by("-churn_score")[:AT_RISK_LISTED]
    )
    return ChurnAnalytics(
        customers_with_intelligence=totals["n"],
        average_churn_risk=round(totals["avg"], 3) if totals["avg"] is not None else None,
        distribution=distribution,
        at_risk=at_risk,
    )
