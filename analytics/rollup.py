"""Writing the daily roll-up (analytics.models), set-based.

`rollup_refresh` brings an organization's roll-up up to yesterday (in its time zone)
and rebuilds the last REBUILD_DAYS days, for changes that land after a day ends (a
rating replaced, a clock decided late, an import). The beat task runs it hourly;
`manage.py analytics_rollup` runs it by hand (`--rebuild` starts over).

A day is rebuilt whole: its rows are deleted and written again in one transaction,
holding the organization's RollupState row, so two refreshes never interleave.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Exists, F, FloatField, Min, OuterRef, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from agents.models import Organization
from analytics import figures
from analytics.models import DailyFigures, GroupKind, ResponseTime, RollupState
from sla.models import SLAClock
from tickets.models import Ticket

REBUILD_DAYS = 3
# A first build (or --rebuild) goes a year at a time: some of its statements scan an
# index of all the organization's tickets whatever the span (the assignments' join to
# their tickets), so fewer, longer spans cost less. A full rebuild at 1M tickets over two
# years took 207 s in 31-day spans, 138 s in 92-day spans and 110 s in years (JIT off
# in all but the first; bench/README.md, "Third pass"). A year bounds the rows each
# transaction holds in memory.
CHUNK_DAYS = 366


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _without_jit() -> None:
    """For the rest of the caller's transaction, on PostgreSQL: no JIT compilation. The
    roll-up's grouped scans are estimated above `jit_above_cost`, and compiling them took
    longer than running them (311 ms of a 566 ms statement at 1M tickets)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


def rollup_build(*, organization_id, first_day: date, last_day: date, tz: ZoneInfo) -> int:
    """Rebuild first_day..last_day: the day figures of the organization, each agent and
    each team, and the ResponseTime facts. Returns the rows written. The caller holds
    the organization's RollupState row."""
    _without_jit()
    since, until = _midnight(first_day, tz), _midnight(last_day + timedelta(days=1), tz)
    days = {"day__gte": first_day, "day__lte": last_day}
    DailyFigures.objects.filter(organization_id=organization_id, **days).delete()
    ResponseTime.objects.filter(organization_id=organization_id, **days).delete()
    rows = []
    by_grouping = figures.day_figures_by_grouping(
        organization_id=organization_id, since=since, until=until, tz=tz
    )
    for grouping in figures.GROUPINGS:
        for (group, day), counts in by_grouping[grouping.kind].items():
            rows.append(
                (
                    organization_id,
                    day,
                    grouping.kind,
                    group if grouping.kind == GroupKind.AGENT else None,
                    group if grouping.kind == GroupKind.TEAM else None,
                    *(counts.get(name, 0) for name in figures.COUNTS),
                )
            )
    _figures_insert(rows)
    written = len(rows)
    for metric, at in figures.METRICS.items():
        written += _facts_insert(
            organization_id=organization_id, metric=metric, at=at, since=since, until=until, tz=tz
        )
    return written


FIGURE_COLUMNS = ("organization_id", "day", "kind", "agent_id", "team_id", *figures.COUNTS)


def _figures_insert(rows: list[tuple]) -> None:
    """Write the day figures (tuples in FIGURE_COLUMNS order): COPY on PostgreSQL, where
    bulk_create spent its time preparing model instances (80,000 per year at 1M tickets;
    a two-year rebuild's Python time went from 21.5 s to 11.6 s); bulk_create elsewhere."""
    if connection.vendor == "postgresql":
        sql = f"COPY {DailyFigures._meta.db_table} ({', '.join(FIGURE_COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    DailyFigures.objects.bulk_create(
        (DailyFigures(**dict(zip(FIGURE_COLUMNS, row, strict=True))) for row in rows),
        batch_size=2000,
    )


FACTS_COLUMNS = "organization_id, day, metric, ticket_id, agent_id, team_id, seconds, business"
# The same facts as _facts_insert's ORM query, on PostgreSQL: each ticket's fulfilled
# clock is joined (the newest met one per ticket, DISTINCT ON) instead of looked up by
# two subqueries per ticket. A year's first responses at 1M tickets (400,000 tickets)
# read in 2.1 s instead of 4.7 s. `{at}` is one of figures.METRICS' columns.
FACTS_SQL = f"""
INSERT INTO {ResponseTime._meta.db_table} ({FACTS_COLUMNS})
SELECT t.organization_id, (t.{{at}} AT TIME ZONE %(tz)s)::date, %(metric)s, t.id,
       t.assignee_id, t.team_id,
       COALESCE(c.consumed_seconds, EXTRACT(EPOCH FROM (t.{{at}} - t.created_at))::float8),
       c.ticket_id IS NOT NULL
  FROM {Ticket._meta.db_table} t
  LEFT JOIN (
        SELECT DISTINCT ON (k.ticket_id) k.ticket_id, k.consumed_seconds
          FROM {SLAClock._meta.db_table} k
         WHERE k.metric = %(metric)s AND k.met_at IS NOT NULL
           AND k.ticket_id IN (
                SELECT s.id FROM {Ticket._meta.db_table} s
                 WHERE s.organization_id = %(org)s
                   AND s.{{at}} >= %(since)s AND s.{{at}} < %(until)s)
         ORDER BY k.ticket_id, k.met_at DESC, k.id DESC
       ) c ON c.ticket_id = t.id
 WHERE t.organization_id = %(org)s AND t.{{at}} >= %(since)s AND t.{{at}} < %(until)s
"""


def _facts_insert(*, organization_id, metric: str, at: str, since, until, tz) -> int:
    """INSERT … SELECT the tickets' `metric` durations of [since, until) as facts."""
    if connection.vendor == "postgresql":
        params = {"org": organization_id, "metric": metric, "since": since, "until": until,
                  "tz": str(tz)}  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(FACTS_SQL.format(at=at), params)
            return cursor.rowcount
    clock = SLAClock.objects.filter(ticket_id=OuterRef("pk"), metric=metric, met_at__isnull=False)
    select = (
        Ticket.objects.filter(
            organization_id=organization_id, **{f"{at}__gte": since, f"{at}__lt": until}
        )
        .order_by()
        .values(
            o=F("organization_id"),
            d=TruncDate(at, tzinfo=tz),
            m=Value(metric),
            tk=F("pk"),
            a=F("assignee_id"),
            tm=F("team_id"),
            s=Coalesce(
                figures.clock_seconds(metric),
                figures.Seconds(F(at), F("created_at")),
                output_field=FloatField(),
            ),
            bz=Exists(clock),
        )
    )
    sql, params = select.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {ResponseTime._meta.db_table} ({FACTS_COLUMNS}) {sql}", params)
        return cursor.rowcount


def _first_day(organization_id, tz: ZoneInfo) -> date | None:
    first = Ticket.objects.filter(organization_id=organization_id).aggregate(at=Min("created_at"))
    return first["at"].astimezone(tz).date() if first["at"] else None


def rollup_refresh(
    *, organization_id, rebuild: bool = False, now: datetime | None = None, workers: int = 1
) -> int:
    """Roll the organization's days up to yesterday, rebuilding the last REBUILD_DAYS
    (everything with `rebuild`, or when its time zone changed). Returns the days built.
    `workers` > 1 builds a long span (a first build, a rebuild) that many years at a
    time on PostgreSQL, each on a connection of its own."""
    organization = Organization.objects.only("timezone").get(pk=organization_id)
    tz = ZoneInfo(organization.timezone or "UTC")
    yesterday = (now or timezone.now()).astimezone(tz).date() - timedelta(days=1)
    state, _ = RollupState.objects.get_or_create(organization_id=organization_id)
    if rebuild or state.timezone != str(tz) or state.rolled_through is None:
        start = _first_day(organization_id, tz)
        if state.rolled_through is not None:
            with transaction.atomic():
                RollupState.objects.filter(pk=state.pk).update(
                    rolled_through=None, timezone=str(tz)
                )
                DailyFigures.objects.filter(organization_id=organization_id).delete()
                ResponseTime.objects.filter(organization_id=organization_id).delete()
    else:
        start = state.rolled_through - timedelta(days=REBUILD_DAYS - 1)
    if start is None or start > yesterday:
        return 0
    if (
        workers > 1
        and connection.vendor == "postgresql"
        # Other connections would not see what an enclosing transaction has not committed.
        and not connection.in_atomic_block
        and start + timedelta(days=CHUNK_DAYS) <= yesterday
    ):
        return _build_in_parallel(state, organization_id, start, yesterday, tz, workers)
    built = 0
    while start <= yesterday:
        last = min(start + timedelta(days=CHUNK_DAYS - 1), yesterday)
        with transaction.atomic():
            locked = RollupState.objects.select_for_update().get(pk=state.pk)
            rollup_build(organization_id=organization_id, first_day=start, last_day=last, tz=tz)
            through = max(locked.rolled_through or last, last)
            RollupState.objects.filter(pk=state.pk).update(
                rolled_through=through, timezone=str(tz), rebuilt_at=timezone.now()
            )
        built += (last - start).days + 1
        start = last + timedelta(days=1)
    return built


def _build_in_parallel(state, organization_id, start: date, yesterday: date, tz, workers: int):
    """Build start..yesterday in CHUNK_DAYS spans, `workers` at a time, each span in its
    own transaction on its own connection (the spans' days are disjoint), while this
    connection holds the organization's RollupState row. `rolled_through` moves only once
    every span is built: after a failure the next refresh starts over."""
    spans = []
    while start <= yesterday:
        last = min(start + timedelta(days=CHUNK_DAYS - 1), yesterday)
        spans.append((start, last))
        start = last + timedelta(days=1)

    def build(span: tuple[date, date]) -> None:
        try:
            with transaction.atomic():
                rollup_build(organization_id=organization_id, first_day=span[0],
                             last_day=span[1], tz=tz)  # fmt: skip
        finally:
            connections[DEFAULT_DB_ALIAS].close()  # this thread's connection

    with transaction.atomic():
        locked = RollupState.objects.select_for_update().get(pk=state.pk)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(build, spans):
                pass
        RollupState.objects.filter(pk=state.pk).update(
            rolled_through=max(locked.rolled_through or yesterday, yesterday),
            timezone=str(tz),
            rebuilt_at=timezone.now(),
        )
    return sum((last - first).days + 1 for first, last in spans)


def rollup_refresh_all(*, now: datetime | None = None) -> int:
    """rollup_refresh for every organization; returns the days built."""
    return sum(
        rollup_refresh(organization_id=pk, now=now)
        for pk in Organization.objects.values_list("pk", flat=True)
    )
