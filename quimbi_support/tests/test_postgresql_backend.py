"""The PostgreSQL backend (quimbi_support.postgresql): timestamps read by psycopg's C
loader give the same aware UTC datetimes Django's own loader gives."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection, connections
from psycopg.pq import Format

from quimbi_support.postgresql.base import DatabaseWrapper, UtcTimestamptzLoader
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_project_runs_on_its_backend(require_postgres):
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.settings_dict["ENGINE"] == "quimbi_support.postgresql"


def test_timestamps_come_back_as_the_same_instants_in_utc(require_postgres, organization, customer):
    kolkata = timezone(timedelta(hours=5, minutes=30))
    written = datetime(2026, 3, 29, 1, 59, 59, 123456, tzinfo=kolkata)
    ticket = Ticket.objects.create(
        organization=organization, customer=customer, subject="s", first_response_at=written
    )
    read = Ticket.objects.values("first_response_at", "last_message_at").get(pk=ticket.pk)
    assert read["first_response_at"] == written
    assert read["first_response_at"].tzinfo is UTC
    assert read["first_response_at"].isoformat() == "2026-03-28T20:29:59.123456+00:00"
    assert read["last_message_at"] is None
    # A server-side cursor (iterator) reads them the same way.
    streamed = list(Ticket.objects.filter(pk=ticket.pk).values_list("first_response_at")
                    .iterator(chunk_size=10))  # fmt: skip
    assert streamed == [(written,)]


def test_cursors_read_with_the_c_parser(require_postgres):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", ["2026-01-02 03:04:05.6+00"])
        assert cursor.fetchone()[0] == datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
        adapters = cursor.cursor.adapters
        oid = adapters.types["timestamptz"].oid
        # The connection's loader, not a per-cursor copy of Django's Python one.
        assert adapters.get_loader(oid, Format.TEXT) is UtcTimestamptzLoader
        loader = UtcTimestamptzLoader(oid, cursor.cursor)
        assert type(loader.load.__self__).__module__.startswith("psycopg_binary")
