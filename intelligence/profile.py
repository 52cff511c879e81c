"""The frontend's CustomerProfile (CONTRACTS.md section 2) from the kept intelligence,
or neutral values marked `intelligence_status: unavailable` when there is none."""

from django.utils import timezone

from intelligence.models import CustomerIntelligence
from intelligence.selectors import archetype_population
from intelligence.services import intelligence_status
from tickets.models import Customer

LEVELS = ("low", "medium", "high", "critical")


def customer_profile(customer: Customer, row: CustomerIntelligence | None) -> dict:
    status = intelligence_status(row)
    tenure = max((timezone.now() - customer.created_at).days, 0) if customer.created_at else 0
    if row is None:
        archetype, segments, dominant = None, {}, {}
        metrics = {
            "lifetime_value": 0.0,
            "total_orders": 0,
            "avg_order_value": 0.0,
            "days_since_last_purchase": None,
            "customer_tenure_days": tenure,
        }
        churn = {
            "churn_risk_score": 0.0,
            "risk_level": "low",
            "factors": {},
            "recommendation": "No customer intelligence available yet.",
        }
    else:
        segments = row.segments or {}
        dominant = row.dominant_segments if isinstance(row.dominant_segments, dict) else segments
        archetype = None
        if row.archetype and row.archetype.get("id"):
            members, share = archetype_population(
                organization_id=row.organization_id, archetype_id=row.archetype["id"]
            )
            archetype = {
                "id": row.archetype["id"],
                "archetype_id": row.archetype["id"],  # the frontend reads both
                "level": row.archetype.get("level"),
                "dominant_segments": dominant,
                "member_count": members,
                "population_percentage": share,
            }
        metrics = {
            "lifetime_value": row.lifetime_value or 0.0,
            "total_orders": row.total_orders or 0,
            "avg_order_value": row.avg_order_value or 0.0,
            "days_since_last_purchase": row.days_since_last_purchase,
            "customer_tenure_days": row.customer_tenure_days
            if row.customer_tenure_days is not None
            else tenure,
        }
        level = row.churn_level if row.churn_level in LEVELS else "low"
        churn = {
            "churn_risk_score": row.churn_score or 0.0,
            "risk_level": level,
            "factors": churn_factors(customer, row),
            "recommendation": row.recommendations[0] if row.recommendations else "",
        }
    memberships = {axis: {segment: 1.0} for axis, segment in segments.items()}
    return {
        "customer_id": customer.external_id,
        "name": customer.name,
        "email": customer.email or None,
        "tier": customer.tier,
        "intelligence_status": status,
        "fetched_at": row.fetched_at if row else None,
        "archetype": archetype,
        "segment_memberships": memberships,
        "fuzzy_memberships": memberships,
        "dominant_segments": dominant,
        "business_metrics": metrics,
        "churn_risk": churn,
        "ltv_forecast": {"ltv_12m": row.ltv_12m, "low": row.ltv_low, "high": row.ltv_high}
        if row
        else None,
        "last_purchase": None,
    }


def _factor(factors: list, *names: str) -> dict | None:
    for item in factors or []:
        if isinstance(item, dict) and str(item.get("factor", "")).lower() in names:
            return item
    return None


def churn_factors(customer: Customer, row: CustomerIntelligence) -> dict:
    """The frontend's four churn factors from Quimbi's factor list and the kept metrics;
    "unknown" where neither says (Quimbi's own list is kept under `items`)."""
    recency = _factor(row.churn_factors, "recency", "recency_days")
    frequency = _factor(row.churn_factors, "frequency", "order_frequency")
    engagement = _factor(row.churn_factors, "engagement", "engagement_trend")
    recency_days = row.days_since_last_purchase
    if recency_days is None and recency is not None and isinstance(recency.get("value"), int):
        recency_days = recency["value"]

    def trend(item):
        direction = (item or {}).get("direction")
        return {"up": "increasing", "down": "decreasing"}.get(direction, direction or "unknown")

    return {
        "recency_days": recency_days if isinstance(recency_days, int) else 0,
        "order_frequency": trend(frequency),
        "value_tier": customer.tier,
        "engagement_trend": trend(engagement),
        "items": row.churn_factors or [],
    }
