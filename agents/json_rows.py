"""Child rows folded into their parent's row as one JSON array, on SQLite and PostgreSQL.

A page that shows a parent with a handful of children (a clock's pauses, say) reads
them in the parent's own query instead of a second one:

    clocks.annotate(pauses=json_rows(
        SLAEvent.objects.filter(clock=OuterRef("pk"), kind__in=("paused", "resumed")),
        group_by="clock", id="id", kind="kind", at=KT("payload__at"),
    ))

Each clock then carries a list of dicts (None when it has no such child). The array's
order is not guaranteed: sort in Python, as the callers do.
"""

from django.db.models import Aggregate, Func, JSONField, QuerySet, Subquery
from django.db.models.functions import JSONObject


class JSONArrayAgg(Aggregate):
    """One JSON array of an expression's values over a group: JSON_GROUP_ARRAY on SQLite,
    JSONB_AGG on PostgreSQL (jsonb, which Django's JSONField reads back on any driver)."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra_context)


class AsJSON(Func):
    """A JSON column as a JSON value inside JSONObject: SQLite keeps JSON as text, which
    json_object would quote as a string unless passed through json(); PostgreSQL's jsonb
    nests as it is."""

    function = "JSON"
    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])


def json_row(rows: QuerySet, **fields) -> Subquery:
    """A correlated subquery: the first of `rows` (filtered on an OuterRef, ordered) as one
    JSON object with the given keys (None when there is none)."""
    return Subquery(rows.values(row=JSONObject(**fields))[:1], output_field=JSONField())


def json_rows(children: QuerySet, *, group_by: str, **fields) -> Subquery:
    """A correlated subquery: `children` (filtered on an OuterRef of `group_by`) as a JSON
    array of objects with the given keys, each an expression or a field name."""
    return Subquery(
        children.order_by()
        .values(group_by)
        .annotate(rows=JSONArrayAgg(JSONObject(**fields)))
        .values("rows"),
        output_field=JSONField(),
    )
