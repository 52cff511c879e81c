"""Performance metrics over a period, per agent, per team and for the organization.

Every figure is aggregate SQL, grouped by the agent, the team or the organization: a
fixed number of queries whatever the number of tickets or agents, no Python loop over
tickets. The same code runs on SQLite and PostgreSQL (percentiles by window functions,
durations by a small portable function).

What each figure means (the README's "Analytics" section says it for API users):

- period: `start`..`end`, whole days inclusive, in the organization's timezone.
- assigned: Assignment rows to the agent (team) created in the period (every manual,
  automatic, transfer, escalation or rebalance assignment counts).
- replies / replied_tickets: public agent replies written by the agent in the period, and
  the distinct tickets they went to (for a team: replies on the team's tickets).
- resolved: tickets whose resolved_at lies in the period, attributed to the ticket's
  current assignee (team). A reopened ticket has no resolved_at until resolved again.
- first response and resolution times (median p50 and p90, and the mean): tickets
  whose first response (resolution) lies in the period, attributed like `resolved`.
  Business time where an SLA clock measured it (the fulfilled clock's
  consumed_seconds), else calendar time (first_response_at or resolved_at minus
  created_at); `time_basis` counts each.
- sla_compliance: clocks decided in the period (met: met_at in it; breached:
  breached_at in it), met / (met + breached), of the clocks' tickets' current assignee.
- csat_average / csat_count: ratings given in the period (Satisfaction.rated_at).
- reopened: tickets moved from resolved/closed back to open/in_progress in the period
  (ticket.status_changed events); reopen_rate: reopened / resolutions, the tickets
  resolved or closed in the period by a status change (reopened ones included).
- open_load / capacity: now, not over the period: active tickets (open, in progress,
  pending) assigned, against Agent.capacity (a team: its active members' capacities).

Rates are fractions 0-1, or None when there is nothing to divide by.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    Avg,
    Count,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from agents.exceptions import DomainError, NotFound
from agents.models import Agent, Organization, Team
from intelligence.models import CustomerIntelligence
from sla.models import SLAClock
from tickets import lifecycle
from tickets.models import Assignment, Message, Priority, Satisfaction, Ticket, TicketEvent

DEFAULT_DAYS = 30
MAX_DAYS = 366
TIME_BASIS = "business hours where an SLA policy applies, else calendar time"
AT_RISK_LEVELS = ("high", "critical")
REOPEN_TO = (lifecycle.OPEN, lifecycle.IN_PROGRESS)
# The percentiles reported, as exact fractions (numerator, denominator).
P50, P90 = (1, 2), (9, 10)

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "TIME_BASIS",
    "Period",
    "Seconds",
    "agent_metrics",
    "overview",
    "period_resolve",
    "sla_report",
    "team_get_for_organization",
    "team_metrics",
]


# --- The period ---------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days `start`..`end` (inclusive) in `timezone`: [start_at, end_at)."""

    start: date
    end: date
    timezone: str
    start_at: datetime
    end_at: datetime  # exclusive: midnight after `end`

    def as_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "days": (self.end - self.start).days + 1,
            "start_at": self.start_at.isoformat(),
            "end_before": self.end_at.isoformat(),
        }

    def q(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.start_at, f"{field_name}__lt": self.end_at})


def period_resolve(
    *, organization_id, start: date | None = None, end: date | None = None
) -> Period:
    """The period `start`..`end` in the organization's timezone (the selectors below
    resolve it themselves unless given `period=`, already resolved); by default the last
    DEFAULT_DAYS days up to today. A DomainError names `end_date` when it is before
    `start_date`, and the range when it is longer than MAX_DAYS days."""
    tz_name = (
        Organization.objects.filter(pk=organization_id).values_list("timezone", flat=True).first()
        or "UTC"
    )
    tz = ZoneInfo(tz_name)
    today = timezone.now().astimezone(tz).date()
    if end is None:
        end = max(today, start) if start and start > today else today
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise DomainError(
            f"end_date {end.isoformat()} is before start_date {start.isoformat()}.",
            field="end_date",
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise DomainError(
            f"The period is {(end - start).days + 1} days long; at most {MAX_DAYS}.",
            field="end_date",
        )
    start_at = datetime.combine(start, time.min, tzinfo=tz)
    end_at = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return Period(start, end, tz_name, start_at, end_at)


# --- Portable SQL pieces ---------------------------------------------------------------


class Seconds(Func):
    """`end - start` in seconds (a float), on SQLite and PostgreSQL."""

    output_field = FloatField()
    arity = 2

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra_context,
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
            arg_joiner=" - ",
            **extra_context,
        )


def _clock_seconds(metric: str) -> Subquery:
    """The business seconds the ticket's fulfilled `metric` clock used (met or, late,
    after a breach), or NULL when no clock measured it."""
    return Subquery(
        SLAClock.objects.filter(ticket_id=OuterRef("pk"), metric=metric, met_at__isnull=False)
        .order_by("-met_at", "-pk")
        .values("consumed_seconds")[:1],
        output_field=FloatField(),
    )


# --- Groupings and scopes ---------------------------------------------------------------


@dataclass(frozen=True)
class _Grouping:
    """The field each source is grouped by: on Ticket (models reaching it through their
    `ticket` use `ticket__<it>`), on Assignment, and on the replies (Message)."""

    ticket: str
    assignment: str
    reply: str


BY_AGENT = _Grouping("assignee_id", "to_agent_id", "author_agent_id")
BY_TEAM = _Grouping("team_id", "to_team_id", "ticket__team_id")
BY_ORGANIZATION = _Grouping("organization_id", "ticket__organization_id", "organization_id")


@dataclass(frozen=True)
class _Scope:
    """Extra conditions (lookups) on tickets, assignments and replies."""

    ticket: dict = field(default_factory=dict)
    assignment: dict = field(default_factory=dict)
    reply: dict = field(default_factory=dict)

    def via_ticket(self) -> dict:
        return {f"ticket__{k}": v for k, v in self.ticket.items()}


def _percentile(rows: list[dict], fraction: tuple[int, int]) -> float | None:
    """percentile_cont from the (at most two) rows around the position."""
    if not rows:
        return None
    num, den = fraction
    n = rows[0]["n"]
    position = num * (n - 1) / den  # 0-based
    by_rank = {r["rn"] - 1: r["v"] for r in rows}
    low, high = int(position), -(-num * (n - 1) // den)
    if low not in by_rank or high not in by_rank:
        return None
    return by_rank[low] + (by_rank[high] - by_rank[low]) * (position - low)


def _time_figures(tickets: QuerySet, key: str, at_field: str, metric: str) -> dict[object, dict]:
    """{group: {p50, p90, avg (seconds), count, business}} over `tickets` whose
    `at_field` is set (already filtered to the period): one query, returning the rows
    around the 50th and 90th percentile positions of each group (window functions)."""
    value = Coalesce(
        _clock_seconds(metric), Seconds(F(at_field), F("created_at")), output_field=FloatField()
    )
    partition = [F(key)]
    ranked = (
        tickets.filter(**{f"{key}__isnull": False})
        .annotate(v=value, business=_clock_seconds(metric))
        .annotate(
            rn=Window(RowNumber(), partition_by=partition, order_by=[F("v").asc(), F("pk").asc()]),
            n=Window(Count("pk"), partition_by=partition),
            n_business=Window(Count("business"), partition_by=partition),
            mean=Window(Avg("v"), partition_by=partition),
        )
    )
    # Rank positions (1-based) around each percentile: floor and ceil of p * (n - 1),
    # in integer arithmetic (exact on both databases).
    wanted = Q()
    for num, den in (P50, P90):
        low = F("n") - 1
        wanted |= Q(
            rn__gte=(low * num) / den + 1,
            rn__lte=(low * num + den - 1) / den + 1,
        )
    rows = ranked.filter(wanted).values(key, "rn", "n", "n_business", "mean", "v").order_by()
    grouped: dict[object, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    out = {}
    for group, group_rows in grouped.items():
        first = group_rows[0]
        out[group] = {
            "p50": _percentile(group_rows, P50),
            "p90": _percentile(group_rows, P90),
            "avg": first["mean"],
            "count": first["n"],
            "business": first["n_business"],
        }
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _scaled(seconds: float | None, unit: float) -> float | None:
    return round(seconds / unit, 2) if seconds is not None else None


def _figures(
    *,
    organization_id,
    period: Period,
    grouping: _Grouping,
    scope: _Scope,
    groups: QuerySet | None = None,
) -> dict[object, dict]:
    """Every figure per group, in a fixed number of queries (eight). `groups` limits
    the groups (a values("pk") queryset of agents or teams)."""
    g = grouping
    ticket_key = f"ticket__{g.ticket}"

    def limited(key: str) -> dict:
        return {f"{key}__in": groups} if groups is not None else {f"{key}__isnull": False}

    tickets = Ticket.objects.filter(organization_id=organization_id, **scope.ticket)
    figures: dict[object, dict] = defaultdict(dict)

    assignments = (
        Assignment.objects.filter(
            period.q("created_at"),
            ticket__organization_id=organization_id,
            **scope.assignment,
            **limited(g.assignment),
        )
        .values(g.assignment)
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in assignments:
        figures[row[g.assignment]]["assigned"] = row["n"]

    replies = (
        Message.objects.filter(
            period.q("created_at"),
            organization_id=organization_id,
            from_agent=True,
            is_internal=False,
            **scope.reply,
            **limited(g.reply),
        )
        .values(g.reply)
        .annotate(n=Count("pk"), tickets=Count("ticket_id", distinct=True))
        .order_by()
    )
    for row in replies:
        figures[row[g.reply]].update(replies=row["n"], replied_tickets=row["tickets"])

    resolved_q = period.q("resolved_at")
    active_q = Q(status__in=lifecycle.ACTIVE_STATUSES)
    counts = (
        tickets.filter(resolved_q | active_q, **limited(g.ticket))
        .values(g.ticket)
        .annotate(resolved=Count("pk", filter=resolved_q), open=Count("pk", filter=active_q))
        .order_by()
    )
    for row in counts:
        figures[row[g.ticket]].update(resolved=row["resolved"], open_load=row["open"])

    decided = Q(status=SLAClock.Status.MET, **_period_lookups(period, "met_at")) | Q(
        status=SLAClock.Status.BREACHED, **_period_lookups(period, "breached_at")
    )
    clocks = (
        SLAClock.objects.filter(
            decided, organization_id=organization_id, **scope.via_ticket(), **limited(ticket_key)
        )
        .values(ticket_key)
        .annotate(
            met=Count("pk", filter=Q(status=SLAClock.Status.MET)),
            breached=Count("pk", filter=Q(status=SLAClock.Status.BREACHED)),
        )
        .order_by()
    )
    for row in clocks:
        figures[row[ticket_key]].update(sla_met=row["met"], sla_breached=row["breached"])

    ratings = (
        Satisfaction.objects.filter(
            period.q("rated_at"),
            organization_id=organization_id,
            **scope.via_ticket(),
            **limited(ticket_key),
        )
        .values(ticket_key)
        .annotate(avg=Avg("rating"), n=Count("pk"))
        .order_by()
    )
    for row in ratings:
        figures[row[ticket_key]].update(csat_average=row["avg"], csat_count=row["n"])

    reopen_q = Q(payload__from__in=list(lifecycle.DONE_STATUSES), payload__to__in=list(REOPEN_TO))
    resolution_q = Q(payload__to__in=list(lifecycle.DONE_STATUSES)) & ~Q(
        payload__from__in=list(lifecycle.DONE_STATUSES)
    )
    events = (
        TicketEvent.objects.filter(
            period.q("created_at"),
            organization_id=organization_id,
            kind="ticket.status_changed",
            **scope.via_ticket(),
            **limited(ticket_key),
        )
        .values(ticket_key)
        .annotate(
            reopened=Count("ticket_id", distinct=True, filter=reopen_q),
            resolutions=Count("ticket_id", distinct=True, filter=resolution_q),
        )
        .order_by()
    )
    for row in events:
        figures[row[ticket_key]].update(reopened=row["reopened"], resolutions=row["resolutions"])

    first = _time_figures(
        tickets.filter(period.q("first_response_at"), **limited(g.ticket)),
        g.ticket,
        "first_response_at",
        "first_response",
    )
    for group, f in first.items():
        figures[group]["first_response"] = f
    resolution = _time_figures(
        tickets.filter(resolved_q, **limited(g.ticket)), g.ticket, "resolved_at", "resolution"
    )
    for group, f in resolution.items():
        figures[group]["resolution"] = f
    return figures


def _period_lookups(period: Period, field_name: str) -> dict:
    return {f"{field_name}__gte": period.start_at, f"{field_name}__lt": period.end_at}


EMPTY_TIMES = {"p50": None, "p90": None, "avg": None, "count": 0, "business": 0}


def _row(f: dict) -> dict:
    """The public figures of one group (its capacity and identity are added by callers)."""
    first = f.get("first_response", EMPTY_TIMES)
    resolution = f.get("resolution", EMPTY_TIMES)
    met, breached = f.get("sla_met", 0), f.get("sla_breached", 0)
    csat = f.get("csat_average")
    return {
        "assigned": f.get("assigned", 0),
        "replied_tickets": f.get("replied_tickets", 0),
        "replies": f.get("replies", 0),
        "resolved": f.get("resolved", 0),
        "first_response_p50_minutes": _scaled(first["p50"], 60),
        "first_response_p90_minutes": _scaled(first["p90"], 60),
        "first_response_avg_minutes": _scaled(first["avg"], 60),
        "first_responses": first["count"],
        "first_responses_business_time": first["business"],
        "resolution_p50_hours": _scaled(resolution["p50"], 3600),
        "resolution_p90_hours": _scaled(resolution["p90"], 3600),
        "resolution_avg_hours": _scaled(resolution["avg"], 3600),
        "resolutions_timed": resolution["count"],
        "resolutions_business_time": resolution["business"],
        "sla_met": met,
        "sla_breached": breached,
        "sla_compliance": _rate(met, met + breached),
        "csat_average": round(csat, 2) if csat is not None else None,
        "csat_count": f.get("csat_count", 0),
        "reopened": f.get("reopened", 0),
        "resolutions": f.get("resolutions", 0),
        "reopen_rate": _rate(f.get("reopened", 0), f.get("resolutions", 0)),
        "open_load": f.get("open_load", 0),
    }


def _load_ratio(open_load: int, capacity: int | None) -> float | None:
    return round(open_load / capacity, 4) if capacity else None


# --- Public selectors -----------------------------------------------------------------


def team_get_for_organization(*, organization_id, team_id) -> Team:
    """The organization's team, or NotFound (a foreign or unknown id)."""
    team = Team.objects.filter(organization_id=organization_id, pk=team_id).first()
    if team is None:
        raise NotFound(f"Team {team_id} not found.")
    return team


def agent_metrics(
    *,
    organization_id,
    start: date | None,
    end: date | None,
    team_id=None,
    agent_id=None,
    period: Period | None = None,
) -> list[dict]:
    """One dict per active agent of the organization (of `team_id`'s members, or only
    `agent_id`), by name: agent_id, name, email, every figure of `_row` (see the module
    docstring), capacity and load (open_load / capacity). Ten queries (nine given `period`)."""
    period = period or period_resolve(organization_id=organization_id, start=start, end=end)
    agents = Agent.objects.filter(organization_id=organization_id, is_active=True)
    if team_id is not None:
        agents = agents.filter(teams=team_id)
    if agent_id is not None:
        agents = agents.filter(pk=agent_id)
    figures = _figures(
        organization_id=organization_id,
        period=period,
        grouping=BY_AGENT,
        scope=_Scope(),
        groups=agents.values("pk"),
    )
    rows = []
    for agent in agents.order_by("name", "email").only("pk", "name", "email", "capacity"):
        row = _row(figures.get(agent.pk, {}))
        rows.append(
            {
                "agent_id": agent.pk,
                "name": agent.name,
                "email": agent.email,
                **row,
                "capacity": agent.capacity,
                "load": _load_ratio(row["open_load"], agent.capacity),
            }
        )
    return rows


def team_metrics(
    *,
    organization_id,
    start: date | None,
    end: date | None,
    team_id=None,
    period: Period | None = None,
) -> list[dict]:
    """One dict per team of the organization (or only `team_id`), by name: team_id,
    name, members ([{agent_id, name, email, capacity}], active ones), every figure of
    `_row` over the team's tickets (Ticket.team; replies on them; assignments to the
    team), capacity (sum of active members') and load. Eleven queries (ten given `period`)."""
    period = period or period_resolve(organization_id=organization_id, start=start, end=end)
    teams = Team.objects.filter(organization_id=organization_id)
    if team_id is not None:
        teams = teams.filter(pk=team_id)
    figures = _figures(
        organization_id=organization_id,
        period=period,
        grouping=BY_TEAM,
        scope=_Scope(),
        groups=teams.values("pk"),
    )
    members: dict[object, list[dict]] = defaultdict(list)
    memberships = (
        Agent.teams.through.objects.filter(team__in=teams.values("pk"), agent__is_active=True)
        .values("team_id", "agent_id", "agent__name", "agent__email", "agent__capacity")
        .order_by("agent__name", "agent__email")
    )
    for m in memberships:
        members[m["team_id"]].append(
            {
                "agent_id": m["agent_id"],
                "name": m["agent__name"],
                "email": m["agent__email"],
                "capacity": m["agent__capacity"],
            }
        )
    rows = []
    for team in teams.order_by("name").only("pk", "name"):
        row = _row(figures.get(team.pk, {}))
        capacity = sum(m["capacity"] or 0 for m in members[team.pk])
        rows.append(
            {
                "team_id": team.pk,
                "name": team.name,
                "members": members[team.pk],
                **row,
                "capacity": capacity,
                "load": _load_ratio(row["open_load"], capacity),
            }
        )
    return rows


def overview(
    *,
    organization_id,
    start: date | None,
    end: date | None,
    team_id=None,
    agent_id=None,
    period: Period | None = None,
) -> dict:
    """The dashboard's overview (the frontend's AnalyticsOverview, plus extra keys): the
    tickets created in the period by status, priority and channel; response times,
    SLA, CSAT and reopen figures; open load against capacity; at-risk customers.
    `team_id` limits it to the team's tickets; `agent_id` to the agent's own (tickets
    assigned to them, their replies). Twelve queries (eleven given `period`)."""
    period = period or period_resolve(organization_id=organization_id, start=start, end=end)
    scope = _Scope()
    agents = Agent.objects.filter(organization_id=organization_id, is_active=True)
    if team_id is not None:
        scope = _Scope(
            ticket={"team_id": team_id},
            assignment={"to_team_id": team_id},
            reply={"ticket__team_id": team_id},
        )
        agents = agents.filter(teams=team_id)
    if agent_id is not None:
        scope = _Scope(
            ticket={**scope.ticket, "assignee_id": agent_id},
            assignment={**scope.assignment, "to_agent_id": agent_id},
            reply={**scope.reply, "author_agent_id": agent_id},
        )
        agents = agents.filter(pk=agent_id)
    f = _figures(
        organization_id=organization_id, period=period, grouping=BY_ORGANIZATION, scope=scope
    ).get(organization_id, {})
    row = _row(f)

    created = (
        Ticket.objects.filter(
            period.q("created_at"), organization_id=organization_id, **scope.ticket
        )
        .values("status", "priority", "channel")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_status = dict.fromkeys(lifecycle.STATUSES, 0)
    by_priority = dict.fromkeys(Priority.values, 0)
    by_channel: dict[str, int] = {}
    for r in created:
        by_status[r["status"]] = by_status.get(r["status"], 0) + r["n"]
        by_priority[r["priority"]] = by_priority.get(r["priority"], 0) + r["n"]
        by_channel[r["channel"]] = by_channel.get(r["channel"], 0) + r["n"]
    capacity = agents.aggregate(c=Sum("capacity"))["c"] or 0
    at_risk_customers = CustomerIntelligence.objects.filter(
        organization_id=organization_id, churn_level__in=AT_RISK_LEVELS
    ).count()

    return {
        "period": period.as_dict(),
        "scope": {"team_id": team_id, "agent_id": agent_id},
        "tickets": {
            "total": sum(by_status.values()),
            "open": by_status[lifecycle.OPEN] + by_status[lifecycle.IN_PROGRESS],
            "pending": by_status[lifecycle.PENDING],
            "closed": by_status[lifecycle.RESOLVED] + by_status[lifecycle.CLOSED],
            "by_status": by_status,
            "by_priority": by_priority,
            "by_channel": by_channel,
            "resolved_in_period": row["resolved"],
            "open_now": row["open_load"],
        },
        "response_times": {
            "avg_first_response_minutes": row["first_response_avg_minutes"] or 0,
            "avg_resolution_hours": row["resolution_avg_hours"] or 0,
            "within_sla": row["sla_compliance"] if row["sla_compliance"] is not None else 0,
            "first_response_p50_minutes": row["first_response_p50_minutes"],
            "first_response_p90_minutes": row["first_response_p90_minutes"],
            "resolution_p50_hours": row["resolution_p50_hours"],
            "resolution_p90_hours": row["resolution_p90_hours"],
            "sla_met": row["sla_met"],
            "sla_breached": row["sla_breached"],
            "time_basis": _time_basis(row),
        },
        "customer_satisfaction": {
            "avg_rating": row["csat_average"] or 0,
            "total_responses": row["csat_count"],
            "nps_score": 0,
        },
        "churn_prevention": {
            "at_risk_customers": at_risk_customers,
            "interventions": 0,
            "retention_rate": 0,
            "revenue_saved": 0,
        },
        "ai_performance": {
            "draft_acceptance_rate": 0,
            "recommendation_follow_rate": 0,
            "avg_edit_distance": 0,
        },
        "activity": {
            "assigned": row["assigned"],
            "replies": row["replies"],
            "replied_tickets": row["replied_tickets"],
            "reopened": row["reopened"],
            "resolutions": row["resolutions"],
            "reopen_rate": row["reopen_rate"],
        },
        "load": {
            "open_load": row["open_load"],
            "capacity": capacity,
            "load": _load_ratio(row["open_load"], capacity),
        },
        # Figures of the frontend's schema this backend does not measure: answered 0.
        "not_measured": [
            "customer_satisfaction.nps_score",
            "churn_prevention.interventions",
            "churn_prevention.retention_rate",
            "churn_prevention.revenue_saved",
            "ai_performance.draft_acceptance_rate",
            "ai_performance.recommendation_follow_rate",
            "ai_performance.avg_edit_distance",
        ],
    }


def _time_basis(row: dict) -> dict:
    return {
        "description": TIME_BASIS,
        "first_response": {
            "business": row["first_responses_business_time"],
            "calendar": row["first_responses"] - row["first_responses_business_time"],
        },
        "resolution": {
            "business": row["resolutions_business_time"],
            "calendar": row["resolutions_timed"] - row["resolutions_business_time"],
        },
    }


def sla_report(
    *,
    organization_id,
    start: date | None,
    end: date | None,
    team_id=None,
    period: Period | None = None,
) -> dict:
    """SLA compliance of the clocks decided in the period (met: met_at in it; breached:
    breached_at in it): overall, per metric and per priority (of the clock's ticket),
    and the clocks still open and already breached now. Three queries (two given `period`)."""
    period = period or period_resolve(organization_id=organization_id, start=start, end=end)
    clocks = SLAClock.objects.filter(organization_id=organization_id)
    if team_id is not None:
        clocks = clocks.filter(ticket__team_id=team_id)
    decided = Q(status=SLAClock.Status.MET, **_period_lookups(period, "met_at")) | Q(
        status=SLAClock.Status.BREACHED, **_period_lookups(period, "breached_at")
    )
    rows = (
        clocks.filter(decided)
        .values("metric", "ticket__priority")
        .annotate(
            met=Count("pk", filter=Q(status=SLAClock.Status.MET)),
            breached=Count("pk", filter=Q(status=SLAClock.Status.BREACHED)),
            business=Sum("consumed_seconds"),
        )
        .order_by()
    )
    metrics = ("first_response", "next_response", "resolution")
    by_metric = {m: {"met": 0, "breached": 0} for m in metrics}
    by_priority = {p: {"met": 0, "breached": 0} for p in Priority.values}
    total = {"met": 0, "breached": 0}
    for r in rows:
        for bucket in (
            by_metric.setdefault(r["metric"], {"met": 0, "breached": 0}),
            by_priority.setdefault(r["ticket__priority"], {"met": 0, "breached": 0}),
            total,
        ):
            bucket["met"] += r["met"]
            bucket["breached"] += r["breached"]
    for bucket in (*by_metric.values(), *by_priority.values(), total):
        bucket["compliance"] = _rate(bucket["met"], bucket["met"] + bucket["breached"])
    open_breached = clocks.filter(is_open=True, status=SLAClock.Status.BREACHED).count()
    return {
        "period": period.as_dict(),
        "team_id": team_id,
        "basis": "clocks decided in the period: met (met_at in it) or breached "
        "(breached_at in it); compliance = met / (met + breached)",
        **total,
        "by_metric": by_metric,
        "by_priority": by_priority,
        "open_breached_now": open_breached,
    }
