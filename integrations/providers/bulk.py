"""Bulk inserts for imports: PostgreSQL's COPY (rows streamed in one statement, no
per-row parameter binding), else Django's bulk_create.

Rows are dicts or plain objects of attname -> value (no model instance per row: building
one costs more than sending it). A column a row does not give takes the field's default,
auto_now(_add) ones the current time, as bulk_create does; an auto-increment primary key
is left to the database. The column plan (which default, which value needs JSON) is
worked out once per call, not once per row."""

from __future__ import annotations

import json
import os
import uuid

from django.db import connection, models
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

_MISSING = object()
_VERSION_4 = (0x4 << 76) | (0x2 << 62)
_VERSION_MASK = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)


def uuids(n: int) -> list[uuid.UUID]:
    """`n` random (version 4) UUIDs from one read of the OS's randomness."""
    raw = os.urandom(16 * n)
    return [
        uuid.UUID(int=(int.from_bytes(raw[i : i + 16]) & _VERSION_MASK) | _VERSION_4)
        for i in range(0, 16 * n, 16)
    ]


def _columns(model: type[models.Model]) -> list[models.Field]:
    return [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and isinstance(f, AutoFieldMixin))
    ]


def _as_dict(row) -> dict:
    return row if isinstance(row, dict) else row.__dict__


def _json_text(value) -> str | None:
    if value is None:
        return None
    if value == [] or value == {}:
        return "[]" if isinstance(value, list) else "{}"
    return json.dumps(value)


def bulk_insert(model: type[models.Model], rows: list) -> None:
    if not rows:
        return
    fields = _columns(model)
    if connection.vendor != "postgresql":
        names = {f.attname for f in fields}
        objects = [model(**{k: v for k, v in _as_dict(row).items() if k in names}) for row in rows]
        model.objects.bulk_create(objects, batch_size=1000)
        return

    now = timezone.now()
    pk_ids = iter(uuids(len(rows))) if isinstance(model._meta.pk, models.UUIDField) else None
    plan = []  # (attname, constant, factory, is_json)
    for f in fields:
        constant, factory = _MISSING, None
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            constant = now
        elif f.primary_key and pk_ids is not None:
            factory = pk_ids.__next__
        elif f.has_default() and callable(f.default):
            if f.default is timezone.now:
                constant = now
            else:
                factory = f.default
        else:
            constant = f.get_default()
        plan.append((f.attname, constant, factory, isinstance(f, models.JSONField)))
    auto_now = {f.attname for f in fields if getattr(f, "auto_now", False)}

    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                given = _as_dict(row)
                values = []
                for attname, constant, factory, is_json in plan:
                    value = given.get(attname, _MISSING)
                    if value is _MISSING or (value is None and constant is now):
                        value = factory() if factory is not None else constant
                    elif attname in auto_now:
                        value = now
                    if is_json:
                        value = _json_text(value)
                    values.append(value)
                copy.write_row(values)
