"""Bulk inserts for imports: PostgreSQL's COPY (rows streamed in one statement, no
per-row parameter binding), else Django's bulk_create. Rows are unsaved model
instances or dicts of attname -> value (cheaper: no instance per row); columns not given
take the field's default, auto_now(_add) ones the current time, as bulk_create does."""

from __future__ import annotations

from django.db import connection, models
from django.utils import timezone


def _filled(fields, row: dict, now) -> list:
    values = []
    for f in fields:
        value = row.get(f.attname)
        if getattr(f, "auto_now", False) or (getattr(f, "auto_now_add", False) and value is None):
            value = now
        elif value is None and f.attname not in row:
            value = f.get_default()
        values.append(value)
    return values


def bulk_insert(model: type[models.Model], rows: list) -> None:
    if not rows:
        return
    if connection.vendor != "postgresql":
        objects = [model(**r) if isinstance(r, dict) else r for r in rows]
        model.objects.bulk_create(objects, batch_size=1000)
        return
    from psycopg.types.json import Jsonb

    fields = list(model._meta.concrete_fields)
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = _filled(fields, row if isinstance(row, dict) else row.__dict__, now)
                for i in json_at:
                    values[i] = Jsonb(values[i])
                copy.write_row(values)
