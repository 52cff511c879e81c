"""Pagination for large lists: a bounded count and an opaque keyset cursor.

- The envelope's `total`: counting a million-row inbox on every page view would cost
  more than the page, so no request counts more than a bounded number of rows.
  - An inbox queue (the organization's tickets filtered by nothing but status, assignee
    and team, as the frontend's and the admin's queues are) is counted exactly up to
    API_COUNT_CAP rows (PostgreSQL's planner estimate past it), and that count is
    cached for API_QUEUE_COUNT_SECONDS (a few seconds): the queues are few and read
    over and over, so a count is taken once per queue every few seconds, not per view.
  - Any other combination of filters is counted exactly up to API_FILTER_COUNT_CAP
    rows (1,000) on each request, the planner's estimate past it.
  Past a cap, `total_is_estimate` is true.
- `cursor` is an opaque token for the position after the last row of a page (the row's
  ordering values); the next page is a keyset query (`WHERE (sort, id) < (...)`), as fast
  at the millionth row as at the first and stable under inserts. Clients get
  `next_cursor` in the pagination block.
"""

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.models import Case, Count, Q, QuerySet, Sum, When

from agents.exceptions import DomainError

# Orderings that support a cursor: (field, descending) tuples, ending with the pk.
KEYSET_ORDERINGS = {
    ("created_at", "desc"): (("created_at", True), ("id", True)),
    ("created_at", "asc"): (("created_at", False), ("id", False)),
    ("updated_at", "desc"): (("updated_at", True), ("id", True)),
    ("updated_at", "asc"): (("updated_at", False), ("id", False)),
    ("smart", "desc"): (("smart_score", True), ("created_at", True), ("id", True)),
    ("smart_score", "desc"): (("smart_score", True), ("created_at", True), ("id", True)),
    ("smart_score", "asc"): (("smart_score", False), ("created_at", False), ("id", False)),
}


def count_cap() -> int:
    return getattr(settings, "API_COUNT_CAP", 10_000)


def filter_count_cap() -> int:
    return getattr(settings, "API_FILTER_COUNT_CAP", 1_000)


def cursor_encode(values: list) -> str:
    raw = json.dumps(
        [
            v.isoformat() if isinstance(v, datetime) else str(v) if v is not None else None
            for v in values
        ]
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(token: str, fields) -> list:
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != len(fields):
            raise ValueError
        out = []
        for (field, _), value in zip(fields, values, strict=True):
            if field in ("created_at", "updated_at"):
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is not None:
                    moment = moment.astimezone(UTC)  # OverflowError at the ends of time
                out.append(moment)
            elif field == "smart_score":
                out.append(float(value))
            else:
                out.append(str(value))
        return out
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, json.JSONDecodeError):
        raise DomainError("The cursor is not valid for this list.", field="cursor") from None


def keyset_after(queryset: QuerySet, fields, values) -> QuerySet:
    """Rows strictly after `values` in the (field, descending) ordering.

    `(a, b, id) < (x, y, z)` is written as `a <= x AND (a < x OR (a = x AND ...))`: the
    leading bound lets PostgreSQL start the index scan at the cursor."""
    first, descending = fields[0]
    queryset = queryset.filter(**{f"{first}__{'lte' if descending else 'gte'}": values[0]})
    condition = Q()
    for i, (field, descending) in enumerate(fields):
        step = Q(**{f"{field}__{'lt' if descending else 'gt'}": values[i]})
        for prior_field, _ in fields[:i]:
            step &= Q(**{prior_field: values[fields.index((prior_field, _))]})
        condition |= step
    return queryset.filter(condition)


def keyset_values(row, fields) -> list:
    return [getattr(row, field) for field, _ in fields]


def queue_count(
    queryset: QuerySet | Callable[[], QuerySet], queue: tuple | None = None
) -> tuple[int, bool]:
    """(count, is_estimate) of an inbox queue: bounded_count() at count_cap(), kept in the
    cache for API_QUEUE_COUNT_SECONDS under `queue` (what names the queue: the
    organization, the filter values, the caller where `me` is one) or, without it, under
    the count's own SQL (which holds all of those). At most that many seconds old; no
    query while it is fresh. 0 seconds turns the cache off. `queryset` may be a function
    that builds it, called only when the count is counted."""

    def counted() -> tuple[int, bool]:
        total, _, estimated = bounded_count(queryset() if callable(queryset) else queryset)
        return total, estimated

    seconds = getattr(settings, "API_QUEUE_COUNT_SECONDS", 5)
    if seconds <= 0:
        return counted()
    if queue is None:  # compiling the SQL costs about as much as the page's own query
        if callable(queryset):
            queryset = queryset()
        queue = queryset.order_by().query.sql_with_params()
    digest = hashlib.sha256(repr((queue, count_cap())).encode()).hexdigest()
    key = f"queue-count:v1:{digest}"
    try:
        hit = cache.get(key)
    except Exception:  # a cache that is down counts, as without one
        hit = None
    if hit is not None:
        return hit[0], hit[1]
    total, estimated = counted()
    try:
        cache.set(key, (total, estimated), seconds)
    except Exception:
        pass
    return total, estimated


def bounded_count(
    queryset: QuerySet, matches: Q | None = None, *, cap: int | None = None
) -> tuple[int, int, bool]:
    """(count, matches, is_estimate): exact up to `cap` rows (count_cap() by default; one
    query over at most that many rows); past it, the planner's estimate of the count (one
    more query)."""
    cap = count_cap() if cap is None else cap
    inner = queryset.order_by()
    if matches is not None:
        inner = inner.annotate(_match=Case(When(matches, then=1), default=0))
    aggregates = {"total": Count("pk")}
    if matches is not None:
        aggregates["matches"] = Sum("_match")
    counts = inner[: cap + 1].aggregate(**aggregates)
    exact, matched = counts["total"], counts.get("matches") or 0
    if exact <= cap:
        return exact, matched, False
    db = queryset.db  # the replica's estimate when the count was the replica's
    if connections[db].vendor != "postgresql":
        return exact, matched, True
    sql, params = queryset.order_by().query.get_compiler(using=db).as_sql()
    with connections[db].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    return max(estimate, cap + 1), matched, True
