"""The figures, computed from the raw tables with aggregate SQL, per group and day.

The same functions feed the live part of a report (the days not rolled up yet: today,
always) and the roll-up itself (analytics.rollup writes what `day_figures` returns), so
a rolled-up day and a live day count exactly alike. See analytics.selectors for what
each figure means.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import connections
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    UUIDField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate

from analytics.models import ResponseTime
from sla.models import SLAClock
from tickets import lifecycle
from tickets.models import Assignment, Message, Satisfaction, Ticket, TicketEvent

REOPEN_TO = (lifecycle.OPEN, lifecycle.IN_PROGRESS)
# The percentiles reported, as exact fractions (numerator, denominator).
P50, P90 = (1, 2), (9, 10)
COUNTS = (
    "created",
    "assigned",
    "replies",
    "replied_tickets",
    "first_responses",
    "resolved",
    "sla_met",
    "sla_breached",
    "csat_sum",
    "csat_count",
    "reopened",
    "resolutions",
)
# The tables day_figures reads, one query each: the report figures, and the trends.
TREND_SOURCES = frozenset({"created", "first_responses", "resolved"})
REPORT_SOURCES = frozenset({"assignments", "replies", "resolved", "clocks", "ratings", "events"})
SOURCES = TREND_SOURCES | REPORT_SOURCES
METRICS = {"first_response": "first_response_at", "resolution": "resolved_at"}


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


@dataclass(frozen=True)
class Grouping:
    """The field each source is grouped by: on Ticket, on Assignment, on the replies
    (Message), on rows reaching the ticket (SLA clocks, ratings, events: `via`), and on
    the ResponseTime facts."""

    kind: str
    ticket: str
    assignment: str
    reply: str
    via: str
    fact: str


BY_AGENT = Grouping(
    "agent", "assignee_id", "to_agent_id", "author_agent_id", "ticket__assignee_id", "agent_id"
)
BY_TEAM = Grouping("team", "team_id", "to_team_id", "ticket__team_id", "ticket__team_id", "team_id")
BY_ORGANIZATION = Grouping(
    "organization",
    "organization_id",
    "ticket__organization_id",
    "organization_id",
    "organization_id",
    "organization_id",
)


@dataclass(frozen=True)
class Scope:
    """Limits every source to a team's tickets and/or an agent's own work."""

    team_id: object = None
    agent_id: object = None

    @property
    def whole(self) -> bool:
        return self.team_id is None and self.agent_id is None

    def _pick(self, team: str, agent: str) -> dict:
        lookups = {}
        if self.team_id is not None:
            lookups[team] = self.team_id
        if self.agent_id is not None:
            lookups[agent] = self.agent_id
        return lookups

    def ticket(self) -> dict:
        return self._pick("team_id", "assignee_id")

    def assignment(self) -> dict:
        return self._pick("to_team_id", "to_agent_id")

    def reply(self) -> dict:
        return self._pick("ticket__team_id", "author_agent_id")

    def via(self) -> dict:
        return self._pick("ticket__team_id", "ticket__assignee_id")

    def fact(self) -> dict:
        return self._pick("team_id", "agent_id")


WHOLE = Scope()


def _in(field_name: str, since: datetime, until: datetime) -> dict:
    return {f"{field_name}__gte": since, f"{field_name}__lt": until}


def _limited(key: str, groups) -> dict:
    return {f"{key}__in": groups} if groups is not None else {f"{key}__isnull": False}


@dataclass(frozen=True)
class _Source:
    """One table day_figures reads: its rows of the period (filtered by organization and
    scope), the Grouping attribute naming its group column, the timestamp that dates a
    row, and the figures counted from it."""

    name: str
    rows: QuerySet
    key: str  # a Grouping attribute: "ticket", "assignment", "reply" or "via"
    at: object
    aggregates: dict


def _sources(organization_id, since, until, scope: Scope, sources) -> list[_Source]:
    tickets = Ticket.objects.filter(organization_id=organization_id, **scope.ticket())
    met = Q(status=SLAClock.Status.MET, **_in("met_at", since, until))
    breached = Q(status=SLAClock.Status.BREACHED, **_in("breached_at", since, until))
    done = list(lifecycle.DONE_STATUSES)
    listed = [
        _Source(
            "assignments",
            Assignment.objects.filter(
                ticket__organization_id=organization_id,
                **_in("created_at", since, until),
                **scope.assignment(),
            ),
            "assignment",
            "created_at",
            {"assigned": Count("pk")},
        ),
        _Source(
            "replies",
            Message.objects.filter(
                organization_id=organization_id,
                from_agent=True,
                is_internal=False,
                **_in("created_at", since, until),
                **scope.reply(),
            ),
            "reply",
            "created_at",
            {"replies": Count("pk"), "replied_tickets": Count("ticket_id", distinct=True)},
        ),
        *(
            _Source(
                name, tickets.filter(**_in(at, since, until)), "ticket", at, {name: Count("pk")}
            )  # fmt: skip
            for name, at in (
                ("created", "created_at"),
                ("first_responses", "first_response_at"),
                ("resolved", "resolved_at"),
            )
        ),
        _Source(
            "clocks",
            SLAClock.objects.filter(met | breached, organization_id=organization_id, **scope.via()),
            "via",
            Case(When(status=SLAClock.Status.MET, then=F("met_at")), default=F("breached_at")),
            {
                "sla_met": Count("pk", filter=Q(status=SLAClock.Status.MET)),
                "sla_breached": Count("pk", filter=Q(status=SLAClock.Status.BREACHED)),
            },
        ),
        _Source(
            "ratings",
            Satisfaction.objects.filter(
                organization_id=organization_id, **_in("rated_at", since, until), **scope.via()
            ),
            "via",
            "rated_at",
            {"csat_sum": Sum("rating"), "csat_count": Count("pk")},
        ),
        _Source(
            "events",
            TicketEvent.objects.filter(
                organization_id=organization_id,
                kind="ticket.status_changed",
                **_in("created_at", since, until),
                **scope.via(),
            ),
            "via",
            "created_at",
            {
                "reopened": Count(
                    "ticket_id",
                    distinct=True,
                    filter=Q(payload__from__in=done, payload__to__in=list(REOPEN_TO)),
                ),
                "resolutions": Count(
                    "ticket_id",
                    distinct=True,
                    filter=Q(payload__to__in=done) & ~Q(payload__from__in=done),
                ),
            },
        ),
    ]
    return [source for source in listed if source.name in sources]


def day_figures(
    *,
    organization_id,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    grouping: Grouping,
    scope: Scope = WHOLE,
    groups: QuerySet | None = None,
    sources: frozenset[str] = SOURCES,
) -> dict[tuple, dict]:
    """{(group, day): {count: n}} for the COUNTS of [since, until), the day in `tz`.
    One grouped query per source (SOURCES: eight) whatever the data. `groups` limits
    the groups (a values("pk") queryset of agents or teams)."""
    out: dict[tuple, dict] = defaultdict(dict)
    for source in _sources(organization_id, since, until, scope, sources):
        key = getattr(grouping, source.key)
        rows = (
            source.rows.filter(**_limited(key, groups))
            .annotate(day=TruncDate(source.at, tzinfo=tz))
            .values(key, "day")
            .annotate(**source.aggregates)
            .order_by()
        )
        for row in rows:
            out[(row[key], row["day"])].update({name: row[name] or 0 for name in source.aggregates})
    return out


GROUPINGS = (BY_ORGANIZATION, BY_AGENT, BY_TEAM)


def day_figures_by_grouping(
    *, organization_id, since: datetime, until: datetime, tz: ZoneInfo
) -> dict[str, dict[tuple, dict]]:
    """day_figures for each of GROUPINGS, {kind: {(group, day): counts}}: what the roll-up
    writes. On PostgreSQL one query per source for the three (GROUP BY GROUPING SETS: one
    scan of the source's rows, not three; a year's figures at 1M tickets took 25.7 s
    instead of 32.7 s, the same figures); elsewhere day_figures per grouping."""
    if connections[Ticket.objects.db].vendor != "postgresql":
        return {
            g.kind: day_figures(
                organization_id=organization_id, since=since, until=until, tz=tz, grouping=g
            )  # fmt: skip
            for g in GROUPINGS
        }
    out: dict[str, dict[tuple, dict]] = {g.kind: defaultdict(dict) for g in GROUPINGS}
    connection = connections[Ticket.objects.db]
    for source in _sources(organization_id, since, until, WHOLE, SOURCES):
        columns = {f"g{i}": F(getattr(g, source.key)) for i, g in enumerate(GROUPINGS)}
        query = (
            source.rows.values(**columns, day=TruncDate(source.at, tzinfo=tz))
            .annotate(**source.aggregates)
            .order_by()
        )
        sql, params = query.query.get_compiler(connection=connection).as_sql()
        # Django groups by every column above; the three groups by day instead. The
        # statement has no HAVING and no ORDER BY: GROUP BY is its last clause.
        head, _, _ = sql.rpartition(" GROUP BY ")
        sets = ", ".join(f"({i + 1}, {len(GROUPINGS) + 1})" for i in range(len(GROUPINGS)))
        with connection.cursor() as cursor:
            cursor.execute(f"{head} GROUP BY GROUPING SETS ({sets})", params)
            names = [column.name for column in cursor.description]
            rows = cursor.fetchall()
        for row in rows:
            values = dict(zip(names, row, strict=True))
            # Each row is one set's: its group column is the one set (an organization
            # never is NULL; a NULL agent or team is no group, as day_figures skips it).
            for i, g in enumerate(GROUPINGS):
                if values[f"g{i}"] is not None:
                    out[g.kind][(values[f"g{i}"], values["day"])].update(
                        {name: values[name] or 0 for name in source.aggregates}
                    )
                    break
    return out


def open_loads(
    *, organization_id, grouping: Grouping, scope: Scope = WHOLE, groups=None
) -> dict[object, int]:
    """{group: active tickets (open, in progress, pending) now}. One query, COUNT(*)
    so that PostgreSQL can answer from a partial index alone. Per agent of `groups` (the
    organization's agents) the organization goes without saying: their tickets are
    its tickets, and the assignee index is then enough."""
    key = grouping.ticket
    tickets = Ticket.objects.filter(status__in=lifecycle.ACTIVE_STATUSES, **scope.ticket())
    if grouping is not BY_AGENT or groups is None:
        tickets = tickets.filter(organization_id=organization_id)
    rows = tickets.filter(**_limited(key, groups)).values(key).annotate(n=Count("*")).order_by()
    return {row[key]: row["n"] for row in rows}


def clock_seconds(metric: str) -> Subquery:
    """The business seconds the ticket's fulfilled `metric` clock used (met or, late,
    after a breach), or NULL when no clock measured it."""
    return Subquery(
        SLAClock.objects.filter(ticket_id=OuterRef("pk"), metric=metric, met_at__isnull=False)
        .order_by("-met_at", "-pk")
        .values("consumed_seconds")[:1],
        output_field=FloatField(),
    )


def durations_live(
    *,
    organization_id,
    metric: str,
    since: datetime,
    until: datetime,
    grouping: Grouping,
    scope: Scope = WHOLE,
    groups=None,
) -> QuerySet:
    """The tickets' `metric` durations in [since, until) from the raw tables, as rows
    (g: group, v: seconds, b: 1 when business time else NULL, t: ticket)."""
    at = METRICS[metric]
    business = clock_seconds(metric)
    return (
        Ticket.objects.filter(
            organization_id=organization_id,
            **_in(at, since, until),
            **scope.ticket(),
            **_limited(grouping.ticket, groups),
        )
        .order_by()
        .values(
            g=F(grouping.ticket),
            v=Coalesce(business, Seconds(F(at), F("created_at")), output_field=FloatField()),
            b=business,
            t=F("pk"),
        )
    )


def durations_rolled(
    *,
    organization_id,
    metric: str,
    first_day: date,
    last_day: date,
    grouping: Grouping,
    scope: Scope = WHOLE,
    groups=None,
) -> QuerySet:
    """The same rows from the roll-up's ResponseTime facts of first_day..last_day."""
    return (
        ResponseTime.objects.filter(
            organization_id=organization_id,
            metric=metric,
            day__gte=first_day,
            day__lte=last_day,
            **scope.fact(),
            **_limited(grouping.fact, groups),
        )
        .order_by()
        .values(
            g=F(grouping.fact),
            v=F("seconds"),
            b=Case(When(business=True, then=Value(1)), output_field=IntegerField()),
            t=F("ticket_id"),
        )
    )


def percentiles(parts: list[QuerySet]) -> dict[object, dict]:
    """{group: {p50, p90, avg, count, business}} over the union of `parts` (each with
    the columns g, v, b, t): one query. PostgreSQL computes percentile_cont itself; on
    SQLite window functions rank the rows and only those around the 50th and 90th
    percentile positions come back, interpolated alike (linear, as percentile_cont)."""
    if not parts:
        return {}
    # Where the parts would run (the replica inside agents.replica.replica_reads()).
    connection = connections[parts[0].db]
    sqls, params = [], []
    for part in parts:
        sql, part_params = part.query.get_compiler(connection=connection).as_sql()
        sqls.append(sql)
        params.extend(part_params)
    union = " UNION ALL ".join(sqls)
    if connection.vendor == "postgresql":
        # The ordered-set aggregate: one sort per group, no ranking of every row.
        fractions = ", ".join(
            f"percentile_cont({num}.0 / {den}) WITHIN GROUP (ORDER BY u.v)"
            for num, den in (P50, P90)
        )
        query = (
            f"SELECT u.g, {fractions}, COUNT(*), COUNT(u.b), AVG(u.v)"
            f" FROM ({union}) u WHERE u.g IS NOT NULL GROUP BY u.g"
        )
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
        as_uuid = UUIDField().to_python
        return {
            as_uuid(g): {"p50": p50, "p90": p90, "avg": mean, "count": n, "business": nb}
            for g, p50, p90, n, nb, mean in rows
        }
    wanted = " OR ".join(
        f"(rn >= (n - 1) * {num} / {den} + 1 AND rn <= ((n - 1) * {num} + {den - 1}) / {den} + 1)"
        for num, den in (P50, P90)
    )
    query = (
        "SELECT g, rn, n, nb, mean, v FROM ("
        " SELECT u.g AS g, u.v AS v,"
        " ROW_NUMBER() OVER (PARTITION BY u.g ORDER BY u.v, u.t) AS rn,"
        " COUNT(*) OVER (PARTITION BY u.g) AS n,"
        " COUNT(u.b) OVER (PARTITION BY u.g) AS nb,"
        " AVG(u.v) OVER (PARTITION BY u.g) AS mean"
        f" FROM ({union}) u WHERE u.g IS NOT NULL"
        f") r WHERE {wanted}"
    )
    grouped: dict[object, list[tuple]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for g, rn, n, nb, mean, v in cursor.fetchall():
            grouped[g].append((rn, n, nb, mean, v))
    out = {}
    as_uuid = UUIDField().to_python
    for g, rows in grouped.items():
        _, n, nb, mean, _ = rows[0]
        by_rank = {rn - 1: v for rn, _, _, _, v in rows}
        out[as_uuid(g)] = {
            "p50": _percentile(by_rank, n, P50),
            "p90": _percentile(by_rank, n, P90),
            "avg": mean,
            "count": n,
            "business": nb,
        }
    return out


def _percentile(by_rank: dict[int, float], n: int, fraction: tuple[int, int]) -> float | None:
    """percentile_cont from the values at the (at most two) ranks around the position."""
    num, den = fraction
    position = num * (n - 1) / den  # 0-based
    low, high = int(position), -(-num * (n - 1) // den)
    if low not in by_rank or high not in by_rank:
        return None
    return by_rank[low] + (by_rank[high] - by_rank[low]) * (position - low)
