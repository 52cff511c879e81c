"""The smart score: how urgently a ticket needs the team, on the frontend's scale
(>= 10 high priority, > 5 elevated).

score = base (priority + channel + waiting time)
      + customer intelligence (LTV and churn risk when known, capped)
      + matching prioritization rules (each rule's boost)
      + SLA urgency (grows as the nearest open SLA clock nears its deadline; maximal
        once breached)

Every component is listed in the breakdown with its points and why (rule components
name the rule), so an agent can see why a ticket ranks where it does. The age term grows
with the square root of the hours waited (a day adds ~2.4, a week ~6.5 with the default
weight): an old ticket never sinks below a newer one of the same kind. Resolved and
closed tickets score 0: they are in nobody's queue. Weights are per organization
(ScoringConfig); these are the defaults.

Pure functions: no database access here (rules.services loads the inputs).
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tickets import lifecycle

DEFAULT_PRIORITY_POINTS = {"low": 0.5, "normal": 2.0, "high": 5.0, "urgent": 8.0}
DEFAULT_CHANNEL_POINTS = {"phone": 1.5, "chat": 1.5, "sms": 1.0, "email": 0.5, "form": 0.5}


@dataclass(frozen=True)
class Weights:
    priority_points: dict = field(default_factory=lambda: dict(DEFAULT_PRIORITY_POINTS))
    channel_points: dict = field(default_factory=lambda: dict(DEFAULT_CHANNEL_POINTS))
    age_points_per_sqrt_hour: float = 0.5
    ltv_points_per_1000: float = 1.0
    churn_points_max: float = 4.0
    intelligence_cap: float = 5.0
    sla_points_max: float = 6.0


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class RuleSpec:
    id: str
    name: str
    type: str
    keywords: tuple[str, ...]
    boost: float
    conditions: dict


@dataclass(frozen=True)
class ScoreInput:
    status: str
    priority: str
    channel: str
    created_at: datetime
    customer_tier: str = "standard"
    search_text: str = ""
    # Customer intelligence (Quimbi); None while unknown.
    lifetime_value: float | None = None
    churn_risk: float | None = None
    # 0..1 urgency of the nearest SLA deadline; None while no clock runs.
    sla_urgency: float | None = None


def _keyword_hit(rule: RuleSpec, text: str) -> str | None:
    for keyword in rule.keywords:
        if keyword and keyword in text:
            return keyword
    return None


def rule_match(rule: RuleSpec, ticket: ScoreInput, *, hours_waiting: float) -> str | None:
    """Why `rule` matches `ticket` (a short reason), or None."""
    cond = rule.conditions or {}
    if rule.type == "vip":
        tiers = cond.get("tiers") or ["vip"]
        if ticket.customer_tier in tiers:
            return f"customer tier {ticket.customer_tier}"
        min_ltv = cond.get("min_ltv")
        if min_ltv is not None and ticket.lifetime_value is not None:
            if ticket.lifetime_value >= float(min_ltv):
                return f"lifetime value {ticket.lifetime_value:,.0f} >= {float(min_ltv):,.0f}"
        return None
    if rule.type == "churn":
        threshold = float(cond.get("min_churn_risk", 0.7))
        if ticket.churn_risk is not None and ticket.churn_risk >= threshold:
            return f"churn risk {ticket.churn_risk:.2f} >= {threshold:.2f}"
        return None
    hit = _keyword_hit(rule, ticket.search_text)
    if rule.type == "time_sensitive":
        if rule.keywords and hit is None:
            return None
        min_age = float(cond.get("min_age_hours", 0))
        if hours_waiting < min_age:
            return None
        reason = f"keyword '{hit}'" if hit else "time-sensitive"
        return reason + (f", waiting {hours_waiting:.1f} h >= {min_age:g} h" if min_age else "")
    if rule.type == "custom":
        return f"keyword '{hit}'" if hit else None
    return None


def _intelligence_components(ticket: ScoreInput, weights: Weights) -> list[dict]:
    if ticket.lifetime_value is None and ticket.churn_risk is None:
        return [{"name": "intelligence", "points": 0.0, "reason": "no customer intelligence yet"}]
    points, reasons = 0.0, []
    if ticket.lifetime_value is not None:
        points += max(ticket.lifetime_value, 0) / 1000 * weights.ltv_points_per_1000
        reasons.append(f"LTV {ticket.lifetime_value:,.0f}")
    if ticket.churn_risk is not None:
        points += min(max(ticket.churn_risk, 0.0), 1.0) * weights.churn_points_max
        reasons.append(f"churn risk {ticket.churn_risk:.2f}")
    capped = min(points, weights.intelligence_cap)
    reason = ", ".join(reasons) + (
        f" (capped at {weights.intelligence_cap:g})" if capped < points else ""
    )
    return [{"name": "intelligence", "points": round(capped, 2), "reason": reason}]


def score_compute(
    ticket: ScoreInput,
    *,
    now: datetime,
    weights: Weights = DEFAULT_WEIGHTS,
    rules: Iterable[RuleSpec] = (),
) -> tuple[float, dict]:
    """The score and its breakdown `{"total", "components": [{name, points, reason}]}`."""
    if ticket.status in lifecycle.DONE_STATUSES:
        return 0.0, {
            "total": 0.0,
            "components": [],
            "reason": f"{ticket.status} tickets are not queued",
            "computed_at": now.isoformat(),
        }
    hours = max((now - ticket.created_at).total_seconds(), 0) / 3600
    components = [
        {
            "name": "priority",
            "points": float(weights.priority_points.get(ticket.priority, 0.0)),
            "reason": f"priority {ticket.priority}",
        },
        {
            "name": "channel",
            "points": float(weights.channel_points.get(ticket.channel, 0.0)),
            "reason": f"channel {ticket.channel}",
        },
        {
            "name": "age",
            "points": round(weights.age_points_per_sqrt_hour * math.sqrt(hours), 2),
            "reason": f"waiting {hours:.1f} h",
        },
        *_intelligence_components(ticket, weights),
    ]
    for rule in rules:
        reason = rule_match(rule, ticket, hours_waiting=hours)
        if reason:
            components.append(
                {
                    "name": f"rule:{rule.name}",
                    "points": round(rule.boost, 2),
                    "reason": reason,
                    "rule_id": rule.id,
                    "rule_type": rule.type,
                }
            )
    if ticket.sla_urgency is None:
        sla_points, sla_reason = 0.0, "no SLA clock"
    elif ticket.sla_urgency >= 1:
        sla_points, sla_reason = weights.sla_points_max, "SLA breached or due now"
    else:
        sla_points = round(weights.sla_points_max * ticket.sla_urgency, 2)
        sla_reason = f"{ticket.sla_urgency:.0%} of the nearest SLA target used"
    components.append({"name": "sla", "points": sla_points, "reason": sla_reason})
    total = round(max(sum(c["points"] for c in components), 0.0), 2)
    return total, {"total": total, "components": components, "computed_at": now.isoformat()}
