"""Writes of rules and of the smart score.

Scores are derived data: they are written with QuerySet.update / bulk_update (no history
rows) and can always be recomputed from the ticket, the customer, the organization's
weights and its active rules.
"""

import json
import logging
from collections.abc import Iterable

from celery import current_app
from django.db import IntegrityError, connection, transaction
from django.db.models import FilteredRelation, Q
from django.utils import timezone

from agents.exceptions import Conflict, DomainError, NotFound
from agents.models import Agent, Organization
from rules.models import Rule, ScoringConfig
from rules.scoring import DEFAULT_WEIGHTS, RuleSpec, ScoreInput, Weights, score_compute
from tickets import lifecycle
from tickets.models import Ticket

logger = logging.getLogger(__name__)

SCORE_FIELDS = (
    "id",
    "organization_id",
    "status",
    "priority",
    "channel",
    "created_at",
    "search_text",
    "sla_status",
    "sla_due_at",
    "customer__tier",
    # Customer intelligence kept from Quimbi (LEFT JOIN; None while unknown).
    "customer__intelligence__lifetime_value",
    "customer__intelligence__churn_score",
)


# --- Inputs ---------------------------------------------------------------------------


def weights_for(config: ScoringConfig | None) -> Weights:
    if config is None:
        return DEFAULT_WEIGHTS
    return Weights(
        priority_points={**DEFAULT_WEIGHTS.priority_points, **(config.priority_points or {})},
        channel_points={**DEFAULT_WEIGHTS.channel_points, **(config.channel_points or {})},
        tier_points={**DEFAULT_WEIGHTS.tier_points, **(config.tier_points or {})},
        age_points_per_sqrt_hour=config.age_points_per_sqrt_hour,
        age_points_max=config.age_points_max,
        ltv_points_per_1000=config.ltv_points_per_1000,
        churn_points_max=config.churn_points_max,
        intelligence_cap=config.intelligence_cap,
        sla_at_risk_points=config.sla_at_risk_points,
        sla_breached_points=config.sla_breached_points,
        rules_cap=config.rules_cap,
    )


def rule_spec(rule: Rule) -> RuleSpec:
    return RuleSpec(
        id=str(rule.pk),
        name=rule.name,
        type=rule.type,
        keywords=tuple(str(k).strip().lower() for k in rule.keywords or () if str(k).strip()),
        boost=float(rule.boost_amount),
        conditions=dict(rule.conditions or {}),
    )


CONFIG_FIELDS = (
    "priority_points",
    "channel_points",
    "tier_points",
    "age_points_per_sqrt_hour",
    "age_points_max",
    "ltv_points_per_1000",
    "churn_points_max",
    "intelligence_cap",
    "sla_at_risk_points",
    "sla_breached_points",
    "rules_cap",
)
RULE_COLUMNS = ("id", "name", "type", "keywords", "boost_amount", "conditions")


def scoring_context(*, organization_id, rule_ids: Iterable | None = None):
    """(weights, rules) for an organization: its weights and active rules (or the given
    rules, active or not), in one query (LEFT JOINs from the organization row)."""
    condition = Q(rules__pk__in=list(rule_ids)) if rule_ids is not None else Q(rules__active=True)
    rows = list(
        Organization.objects.filter(pk=organization_id)
        .annotate(picked=FilteredRelation("rules", condition=condition))
        .values(
            "scoring_config__organization_id",
            *[f"scoring_config__{f}" for f in CONFIG_FIELDS],
            *[f"picked__{c}" for c in RULE_COLUMNS],
        )
        .order_by("picked__name")
    )
    config = None
    if rows and rows[0]["scoring_config__organization_id"] is not None:
        config = ScoringConfig(**{f: rows[0][f"scoring_config__{f}"] for f in CONFIG_FIELDS})
    rules = [
        rule_spec(Rule(**{c: row[f"picked__{c}"] for c in RULE_COLUMNS}))
        for row in rows
        if row["picked__id"] is not None
    ]
    return weights_for(config), rules


def score_input(row: dict) -> ScoreInput:
    """From a Ticket.values(*SCORE_FIELDS) row (or an equivalent dict)."""
    return ScoreInput(
        status=row["status"],
        priority=row["priority"],
        channel=row["channel"],
        created_at=row["created_at"],
        customer_tier=row.get("customer__tier") or "standard",
        search_text=row.get("search_text") or "",
        lifetime_value=row.get("customer__intelligence__lifetime_value"),
        churn_risk=row.get("customer__intelligence__churn_score"),
        sla_status=row.get("sla_status") or "",
        sla_due_at=row.get("sla_due_at"),
    )


def _intelligence_of(ticket: Ticket):
    """The customer's kept intelligence when the query loaded it (select_related), else
    None: scoring a page never costs a query per ticket."""
    customer = ticket.customer
    if "intelligence" not in customer._state.fields_cache:
        return None
    return customer._state.fields_cache["intelligence"]


def score_input_from_ticket(ticket: Ticket) -> ScoreInput:
    intel = _intelligence_of(ticket)
    return ScoreInput(
        status=ticket.status,
        priority=ticket.priority,
        channel=ticket.channel,
        created_at=ticket.created_at,
        customer_tier=ticket.customer.tier,
        search_text=ticket.search_text,
        lifetime_value=intel.lifetime_value if intel else None,
        churn_risk=intel.churn_score if intel else None,
        sla_status=ticket.sla_status,
        sla_due_at=ticket.sla_due_at,
    )


# --- The score loader: every path scores through it ----------------------------------


def scores_compute_for(rows: list[dict], *, now, contexts: dict | None = None) -> list[tuple]:
    """`(id, score, breakdown)` for ticket rows read with `values(*SCORE_FIELDS)` (which
    carry the ticket's SLA summary and its customer's kept intelligence): each
    organization's weights and rules are loaded once, so the cost is one query per
    organization whatever the number of rows. The event handler, the periodic refresh,
    rule and customer changes and prioritize all score through here, so no path forgets
    a component."""
    contexts = {} if contexts is None else contexts
    scored = []
    for row in rows:
        org = row["organization_id"]
        if org not in contexts:
            contexts[org] = scoring_context(organization_id=org)
        weights, rules = contexts[org]
        score, breakdown = score_compute(
            score_input(row),
            now=now,
            weights=weights,
            rules=rules,
        )
        scored.append((row["id"], score, breakdown))
    return scored


# --- Refresh --------------------------------------------------------------------------


def ticket_score_refresh(*, ticket_id) -> float | None:
    """Recompute one ticket's score; None if the ticket is gone."""
    rows = list(Ticket.objects.filter(pk=ticket_id).values(*SCORE_FIELDS))
    if not rows:
        return None
    [(_, score, breakdown)] = scores_compute_for(rows, now=timezone.now())
    Ticket.objects.filter(pk=ticket_id).update(smart_score=score, score_breakdown=breakdown)
    return score


def _scores_write(rows: list[tuple]) -> None:
    """Write many (id, score, breakdown) at once: on PostgreSQL one UPDATE joined to a
    single JSON document per batch (bulk_update's CASE WHEN, and quoting thousands of
    array items, are far slower); bulk_update elsewhere. Callers pass changed rows only."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Ticket.objects.bulk_update(
            [Ticket(pk=pk, smart_score=score, score_breakdown=bd) for pk, score, bd in rows],
            ["smart_score", "score_breakdown"],
        )
        return
    document = json.dumps([{"id": str(pk), "s": score, "b": bd} for pk, score, bd in rows])
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE tickets_ticket AS t SET smart_score = v.s, score_breakdown = v.b
            FROM jsonb_to_recordset(%s::jsonb) AS v(id uuid, s float8, b jsonb)
            WHERE t.id = v.id
            """,
            [document],
        )


def scores_refresh(
    *, organization_id=None, customer_id=None, batch_size: int = 2000, limit: int | None = None
) -> int:
    """Recompute the score of every active ticket (of one organization or customer; at most
    `limit`), in pk-ordered batches, and write only the scores that changed (a rule change
    moves the tickets it matches; the periodic refresh, the tickets whose hour turned or
    whose SLA moved a step). Returns how many were written."""
    now = timezone.now()
    contexts: dict = {}
    active = Ticket.objects.filter(status__in=lifecycle.ACTIVE_STATUSES)
    if organization_id is not None:
        active = active.filter(organization_id=organization_id)
    if customer_id is not None:
        active = active.filter(customer_id=customer_id)
    active = active.order_by("pk")
    seen, written, last_pk = 0, 0, None
    while limit is None or seen < limit:
        page = active if last_pk is None else active.filter(pk__gt=last_pk)
        size = batch_size if limit is None else min(batch_size, limit - seen)
        rows = list(page.values(*SCORE_FIELDS, "smart_score")[:size])
        if not rows:
            break
        current = {row["id"]: row["smart_score"] for row in rows}
        changed = [
            (pk, score, breakdown)
            for pk, score, breakdown in scores_compute_for(rows, now=now, contexts=contexts)
            if current[pk] != score
        ]
        _scores_write(changed)
        written += len(changed)
        seen += len(rows)
        last_pk = rows[-1]["id"]
    return written


def tickets_rescore_live(tickets: list[Ticket], organization_id) -> None:
    """Recompute the given tickets' scores in place (not saved): the list's apply_rules."""
    weights, rules = scoring_context(organization_id=organization_id)
    now = timezone.now()
    for ticket in tickets:
        ticket.smart_score, ticket.score_breakdown = score_compute(
            score_input_from_ticket(ticket),
            now=now,
            weights=weights,
            rules=rules,
        )


def scores_refresh_active(*, batch_size: int = 2000) -> int:
    """Periodic: refresh the time-driven parts of every active ticket's score."""
    return scores_refresh(batch_size=batch_size)


def rescore_enqueue(*, organization_id=None, customer_id=None) -> None:
    """After commit, rescore in the background (the periodic refresh is the safety net)."""

    def send():
        try:
            if customer_id is not None:
                current_app.send_task("rules.rescore_customer", args=[str(customer_id)])
            else:
                current_app.send_task("rules.rescore_organization", args=[str(organization_id)])
        except Exception:
            logger.warning("rescore not queued; the periodic refresh will catch up")

    transaction.on_commit(send)


# --- Rules ----------------------------------------------------------------------------

RULE_FIELDS = ("name", "type", "keywords", "boost_amount", "active", "conditions")
CONDITION_KEYS = {
    "vip": {"tiers": list, "min_ltv": (int, float)},
    "churn": {"min_churn_risk": (int, float)},
    "time_sensitive": {"min_age_hours": (int, float)},
    "custom": {},
}


def _rule_validate(data: dict) -> None:
    rule_type = data["type"]
    if rule_type not in CONDITION_KEYS:
        raise DomainError(
            f"Unknown type {rule_type!r}; allowed values: {', '.join(CONDITION_KEYS)}.",
            field="type",
        )
    conditions = data.get("conditions") or {}
    if not isinstance(conditions, dict):
        raise DomainError("conditions must be an object.", field="conditions")
    allowed = CONDITION_KEYS[rule_type]
    for key, value in conditions.items():
        if key not in allowed:
            names = ", ".join(allowed) or "none"
            raise DomainError(
                f"Unknown condition {key!r} for a {rule_type} rule; allowed: {names}.",
                field="conditions",
            )
        if isinstance(value, bool) or not isinstance(value, allowed[key]):
            raise DomainError(f"Condition {key!r} has the wrong type.", field="conditions")
    if rule_type == "churn" and not 0 <= conditions.get("min_churn_risk", 0.7) <= 1:
        raise DomainError("min_churn_risk is between 0 and 1.", field="conditions")
    if rule_type in ("custom",) and not data.get("keywords"):
        raise DomainError("A custom rule needs at least one keyword.", field="keywords")
    keywords = data.get("keywords") or []
    if any(not isinstance(k, str) or not k.strip() for k in keywords):
        raise DomainError("Keywords are non-empty strings.", field="keywords")


def _clean_keywords(keywords) -> list[str]:
    return list(dict.fromkeys(k.strip().lower() for k in keywords or []))


@transaction.atomic
def rule_create(*, organization: Organization, actor: Agent | None, **data) -> Rule:
    """Create a rule; the organization's open tickets are rescored in the background."""
    data = {k: v for k, v in data.items() if k in RULE_FIELDS}
    data.setdefault("keywords", [])
    data.setdefault("conditions", {})
    _rule_validate(data)
    data["keywords"] = _clean_keywords(data["keywords"])
    rule = Rule(organization=organization, **data)
    rule._history_user = actor
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        raise Conflict(f"A rule named {rule.name!r} already exists.", field="name") from exc
    rescore_enqueue(organization_id=organization.pk)
    return rule


@transaction.atomic
def rule_update(*, rule: Rule, actor: Agent | None, **changes) -> Rule:
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    changes = {k: v for k, v in changes.items() if k in RULE_FIELDS}
    merged = {f: getattr(rule, f) for f in RULE_FIELDS} | changes
    _rule_validate(merged)
    if "keywords" in changes:
        changes["keywords"] = _clean_keywords(changes["keywords"])
    for key, value in changes.items():
        setattr(rule, key, value)
    rule._history_user = actor
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        raise Conflict(f"A rule named {rule.name!r} already exists.", field="name") from exc
    rescore_enqueue(organization_id=rule.organization_id)
    return rule


@transaction.atomic
def rule_delete(*, rule: Rule, actor: Agent | None) -> None:
    organization_id = rule.organization_id
    rule._history_user = actor
    rule.delete()
    rescore_enqueue(organization_id=organization_id)


# --- Prioritize -----------------------------------------------------------------------


def tickets_prioritize(*, organization_id, ticket_ids: list, rule_ids: list | None) -> list[dict]:
    """Score the given tickets now and rank them, highest first.

    With `rule_ids`, only those rules apply (a what-if; nothing is saved). Without, the
    organization's active rules apply and the fresh scores are saved.
    """
    tickets = list(
        Ticket.objects.filter(organization_id=organization_id, pk__in=ticket_ids)
        .select_related("customer__intelligence")
        .prefetch_related("tags")
    )
    found = {str(t.pk) for t in tickets}
    missing = [str(i) for i in ticket_ids if str(i) not in found]
    if missing:
        raise NotFound(f"Unknown ticket ids: {', '.join(missing[:10])}.", field="ticket_ids")
    if rule_ids is not None:
        known = set(
            Rule.objects.filter(organization_id=organization_id, pk__in=rule_ids).values_list(
                "pk", flat=True
            )
        )
        unknown = [str(r) for r in rule_ids if r not in known]
        if unknown:
            raise NotFound(f"Unknown rule ids: {', '.join(unknown[:10])}.", field="rule_ids")
    now = timezone.now()
    contexts = {
        organization_id: scoring_context(organization_id=organization_id, rule_ids=rule_ids)
    }
    rows = list(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values(*SCORE_FIELDS))
    scores = {
        pk: (score, bd) for pk, score, bd in scores_compute_for(rows, now=now, contexts=contexts)
    }
    ranked = []
    for ticket in tickets:
        ticket.smart_score, ticket.score_breakdown = scores[ticket.pk]
        ranked.append(ticket)
    if rule_ids is None and ranked:
        Ticket.objects.bulk_update(ranked, ["smart_score", "score_breakdown"])
    ranked.sort(key=lambda t: (t.smart_score, t.created_at), reverse=True)  # ties: newest first
    return ranked
