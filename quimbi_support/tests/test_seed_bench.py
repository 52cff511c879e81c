"""`manage.py seed_bench` on PostgreSQL. It drops the loaded tables' secondary indexes
and foreign keys for the load, as pg_restore does, and scores the active tickets in bulk:
a small load must leave the schema exactly as the migrations made it (each key added back,
and so checked against every row), even when the load fails half-way, and every active
ticket must carry the score the worker's own scorer gives it."""

import io
import os
import signal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from analytics.models import ResponseTime, RollupState
from quimbi_support.management.commands import seed_bench
from rules.services import SCORE_FIELDS, scores_compute_for
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

ACTIVE = ["open", "in_progress", "pending"]


@pytest.fixture(autouse=True)
def _timing_elsewhere(tmp_path, monkeypatch):
    """Keep the committed bench/results/seed_bench.json as the real load left it."""
    monkeypatch.setattr(seed_bench, "TIMING", tmp_path / "seed_bench.json")


def _schema():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2
            """
        )
        constraints = cursor.fetchall()
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")
        # A partial index made again from its definition reads back with its ARRAY's items
        # cast one by one (the same predicate): compare up to the WHERE, and that it has one.
        indexes = [(ddl.split(" WHERE ")[0], " WHERE " in ddl) for (ddl,) in cursor.fetchall()]
        return constraints, sorted(indexes)


def _load(**options):
    call_command("seed_bench", tickets=400, messages_per_ticket=2, stdout=io.StringIO(), **options)


@pytest.mark.parametrize("chunk", [100_000, 150], ids=["one-chunk", "chunks-in-parallel"])
def test_a_load_leaves_every_key_and_index_and_scores_each_active_ticket(require_postgres, chunk):
    before = _schema()
    _load(chunk=chunk)
    assert _schema() == before  # the lookup tables the chunks shared are gone too
    assert Ticket.objects.count() == 400
    # Every ticket once (uneven chunks, two connections), each with its two messages.
    assert Ticket.objects.values("external_id").distinct().count() == 400
    per_ticket = Message.objects.values("ticket_id").annotate(n=Count("pk"))
    assert sorted({row["n"] for row in per_ticket}) == [2] and len(per_ticket) == 400

    rows = list(Ticket.objects.filter(status__in=ACTIVE).values(*SCORE_FIELDS, "smart_score"))
    assert len(rows) > 100
    assert {row["sla_status"] for row in rows} <= {"active", "at_risk", "breached", "paused"}
    assert all(row["sla_due_at"] for row in rows if row["sla_status"] != "paused")
    expected = {pk: score for pk, score, _ in scores_compute_for(rows, now=timezone.now())}
    off = [row for row in rows if abs(row["smart_score"] - expected[row["id"]]) > 0.05]
    assert not off, f"{len(off)} of {len(rows)} scores differ from the scorer's"
    # The scorer's parts are kept too (the list's score explanation shows them).
    breakdown = Ticket.objects.filter(status="open").values_list("score_breakdown", flat=True)[0]
    assert breakdown


@pytest.mark.parametrize("step", ["_work", "_scores"])  # _scores: while indexes build
def test_a_load_that_fails_half_way_still_puts_the_keys_and_indexes_back(
    require_postgres, monkeypatch, step
):
    before = _schema()

    def broken(self, *args):
        raise RuntimeError("the load broke")

    monkeypatch.setattr(seed_bench.Command, step, broken)
    with pytest.raises(RuntimeError, match="the load broke"):
        _load()
    assert _schema() == before


def test_a_load_stopped_by_sigterm_still_puts_the_keys_and_indexes_back(
    require_postgres, monkeypatch
):
    """`kill` (or a runner's timeout) mid-load: the keys and indexes go back before it
    exits, so the next load has them to drop and rebuild."""
    before, handler = _schema(), signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(
        seed_bench.Command, "_work", lambda self: os.kill(os.getpid(), signal.SIGTERM) or []
    )
    with pytest.raises(SystemExit) as stopped:
        _load()
    assert stopped.value.code == 128 + signal.SIGTERM
    assert _schema() == before
    assert signal.getsignal(signal.SIGTERM) == handler  # as it was


def test_a_reset_replaces_the_load_and_its_roll_up(require_postgres):
    _load()
    first = set(ResponseTime.objects.values_list("ticket_id", flat=True))
    assert first
    _load(reset=True)
    assert Ticket.objects.count() == 400
    again = set(ResponseTime.objects.values_list("ticket_id", flat=True))
    assert again and not again & first  # the old load's facts are gone, not kept beside
    assert RollupState.objects.count() == 1
