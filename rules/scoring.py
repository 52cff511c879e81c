"""The smart score: how urgently a ticket needs the team, on the frontend's scale
(>= 10 high priority, > 5 elevated).

score = priority + channel + waiting time (capped) + customer tier
      + customer intelligence (LTV and churn risk when known, capped)
      + matching prioritization rules (their boosts, together capped)
      + SLA (a step once at risk, more once breached)

Calibration (the defaults; weights are per organization, ScoringConfig). A "calm" ticket
— low priority, no rule, no SLA pressure, not a VIP — can reach at most 1 (channel) +
1.5 (age) = 2.5 points. Every urgent ticket (5.5), at-risk ticket (3.75), breached
ticket (4) and VIP customer's ticket (3.75) starts above that, so each ranks above every
calm low-priority one. 10 ("high" in the frontend) takes several strong signals
together, e.g. urgent and breached, or breached, high priority and a rule; on the demo
data under a fifth of open tickets reach it. Rules together add at most 2 points, so
stacked keyword rules cannot outrank priority and SLA.

Every component is listed in the breakdown with its points and why (rule components
name the rule). The age term grows with the square root of the whole hours waited
(0.35 × √h, capped at 1.5 after about 18 hours): an old ticket never sinks below a newer
one of the same kind, and the periodic refresh rewrites a ticket only when an hour of
waiting turns or its SLA changes state. Resolved and closed tickets score 0: they are in
nobody's queue.

Pure functions: no database access here (rules.services loads the inputs).
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tickets import lifecycle
from tickets.models import SlaStatus

DEFAULT_PRIORITY_POINTS = {"low": 0.0, "normal": 1.0, "high": 3.0, "urgent": 5.5}
DEFAULT_CHANNEL_POINTS = {"phone": 1.0, "chat": 1.0, "sms": 0.5, "email": 0.0, "form": 0.0}
DEFAULT_TIER_POINTS = {"standard": 0.0, "premium": 0.75, "vip": 3.75}


@dataclass(frozen=True)
class Weights:
    priority_points: dict = field(default_factory=lambda: dict(DEFAULT_PRIORITY_POINTS))
    channel_points: dict = field(default_factory=lambda: dict(DEFAULT_CHANNEL_POINTS))
    tier_points: dict = field(default_factory=lambda: dict(DEFAULT_TIER_POINTS))
    age_points_per_sqrt_hour: float = 0.35
    age_points_max: float = 1.5
    ltv_points_per_1000: float = 0.5
    churn_points_max: float = 2.0
    intelligence_cap: float = 3.0
    sla_at_risk_points: float = 3.75
    sla_breached_points: float = 4.0
    rules_cap: float = 2.0  # all matching rules together


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
    # The ticket's SLA summary as the SLA engine keeps it on the ticket: its status
    # ("", active, at_risk, breached, paused) and next deadline.
    sla_status: str = ""
    sla_due_at: datetime | None = None


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


def _sla_component(ticket: ScoreInput, weights: Weights, now: datetime) -> dict:
    """From the ticket's own SLA summary: no clock to load, whatever the number of
    tickets scored. A deadline passed before the scan marked it counts as breached."""
    status, due = ticket.sla_status, ticket.sla_due_at
    running = status in (SlaStatus.ACTIVE, SlaStatus.AT_RISK)
    if status == SlaStatus.BREACHED or (running and due is not None and due <= now):
        return {"points": weights.sla_breached_points, "reason": "SLA breached or due now"}
    if status == SlaStatus.AT_RISK:
        return {"points": weights.sla_at_risk_points, "reason": "SLA at risk"}
    reasons = {SlaStatus.ACTIVE: "SLA on track", SlaStatus.PAUSED: "SLA paused"}
    return {"points": 0.0, "reason": reasons.get(status, "no SLA clock")}


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
    age_points = min(
        weights.age_points_per_sqrt_hour * math.sqrt(math.floor(hours)), weights.age_points_max
    )
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
            "points": round(age_points, 2),
            "reason": f"waiting {hours:.1f} h"
            + (" (capped)" if age_points >= weights.age_points_max else ""),
        },
        {
            "name": "tier",
            "points": float(weights.tier_points.get(ticket.customer_tier, 0.0)),
            "reason": f"customer tier {ticket.customer_tier}",
        },
        *_intelligence_components(ticket, weights),
    ]
    room = weights.rules_cap
    for rule in rules:
        reason = rule_match(rule, ticket, hours_waiting=hours)
        if reason:
            points = round(max(min(rule.boost, room), 0.0), 2) if rule.boost > 0 else rule.boost
            room -= max(points, 0.0)
            capped = points != round(rule.boost, 2)
            components.append(
                {
                    "name": f"rule:{rule.name}",
                    "points": points,
                    "reason": reason
                    + (f" (rules capped at {weights.rules_cap:g})" if capped else ""),
                    "rule_id": rule.id,
                    "rule_type": rule.type,
                }
            )
    components.append({"name": "sla", **_sla_component(ticket, weights, now)})
    total = round(max(sum(c["points"] for c in components), 0.0), 2)
    return total, {"total": total, "components": components, "computed_at": now.isoformat()}
