"""Bulk inserts for imports: PostgreSQL's COPY (rows streamed in one statement, no
per-row parameter binding), else Django's bulk_create. Rows are unsaved model
instances; every concrete column is written from the instance as is (JSON columns
wrapped for psycopg), so defaults must be set on the instances, as bulk_create does."""

from __future__ import annotations

from django.db import connection, models


def bulk_insert(model: type[models.Model], objects: list[models.Model]) -> None:
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=1000)
        return
    from psycopg.types.json import Jsonb

    fields = [f for f in model._meta.concrete_fields]
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    names = [f.attname for f in fields]
    for obj in objects:  # what bulk_create would fill: defaults and auto_now(_add)
        for f in fields:
            if getattr(obj, f.attname, None) is None and f.has_default():
                setattr(obj, f.attname, f.get_default())
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                f.pre_save(obj, add=True)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row(
                    [Jsonb(getattr(obj, n)) if n in json_fields else getattr(obj, n) for n in names]
                )
