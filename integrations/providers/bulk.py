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


def bulk_insert(model: type[models.Model], rows: list, *, meanwhile=None) -> None:
    """Insert `rows`. `meanwhile`, if given, is called once every row is sent and before
    waiting for PostgreSQL to finish with them (index maintenance): the caller's next
    piece of work overlaps the server's instead of following it."""
    if not rows:
        if meanwhile is not None:
            meanwhile()
        return
    fields = _columns(model)
    if connection.vendor != "postgresql":
        names = {f.attname for f in fields}
        objects = [model(**{k: v for k, v in _as_dict(row).items() if k in names}) for row in rows]
        model.objects.bulk_create(objects, batch_size=1000)
        if meanwhile is not None:
            meanwhile()
        return

    now = timezone.now()
    pk_ids = iter(uuids(len(rows))) if isinstance(model._meta.pk, models.UUIDField) else None
    # Per column: the attname and what a row that does not give it gets (a constant, or
    # _MISSING and a factory); then the columns to fix up after the lookup.
    pairs, factories, json_at, now_at, none_now_at = [], [], [], [], []
    for i, f in enumerate(fields):
        constant = _MISSING
        if getattr(f, "auto_now", False):
            now_at.append(i)
        elif getattr(f, "auto_now_add", False):
            constant = now
            none_now_at.append(i)
        elif f.primary_key and pk_ids is not None:
            factories.append((i, pk_ids.__next__))
        elif f.has_default() and callable(f.default):
            if f.default is timezone.now:
                constant = now
            else:
                factories.append((i, f.default))
        else:
            constant = f.get_default()
        if isinstance(f, models.JSONField):
            json_at.append(i)
        pairs.append((f.attname, constant))

    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                given = _as_dict(row)
                values = [given.get(attname, constant) for attname, constant in pairs]
                for i, factory in factories:
                    if values[i] is _MISSING:
                        values[i] = factory()
                for i in now_at:
                    values[i] = now
                for i in none_now_at:
                    if values[i] is None:
                        values[i] = now
                for i in json_at:
                    values[i] = _json_text(values[i])
                copy.write_row(values)
            if meanwhile is not None:
                meanwhile()
