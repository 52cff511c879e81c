"""The replica router's decisions (agents.replica), without a replica server: reads go to
the replica only inside replica_reads(), only when one is configured, never inside a
transaction; writes and migrations always to the primary. The routing against a real
second database: quimbi_support/tests/test_replica_routing.py."""

import asyncio
import threading

import pytest
from django.db import transaction

from agents import replica
from agents.models import Organization
from agents.replica import ReplicaRouter, replica_reads

router = ReplicaRouter()


@pytest.fixture
def configured(monkeypatch):
    """As if DATABASE_REPLICA_URL were set (no query is made: only the decisions)."""
    monkeypatch.setattr(replica, "replica_configured", lambda: True)


def test_without_a_replica_every_read_goes_to_the_primary(monkeypatch):
    monkeypatch.setattr(replica, "replica_configured", lambda: False)
    with replica_reads():
        assert router.db_for_read(Organization) == "default"


def test_reads_go_to_the_replica_only_inside_replica_reads(configured):
    assert router.db_for_read(Organization) == "default"
    with replica_reads():
        assert router.db_for_read(Organization) == "replica"
        assert router.db_for_write(Organization) == "default"
        with replica_reads():
            assert router.db_for_read(Organization) == "replica"
        assert router.db_for_read(Organization) == "replica"
    assert router.db_for_read(Organization) == "default"


def test_replica_reads_is_also_a_decorator(configured):
    @replica_reads()
    def read():
        return router.db_for_read(Organization)

    assert read() == "replica"
    assert router.db_for_read(Organization) == "default"


def test_the_flag_is_reset_when_the_block_raises(configured):
    with pytest.raises(RuntimeError), replica_reads():
        raise RuntimeError
    assert router.db_for_read(Organization) == "default"


def test_the_flag_stays_in_its_thread(configured):
    seen = []
    with replica_reads():
        thread = threading.Thread(target=lambda: seen.append(router.db_for_read(Organization)))
        thread.start()
        thread.join()
    assert seen == ["default"]


def test_the_flag_stays_in_its_task(configured):
    async def inside(entered: asyncio.Event, done: asyncio.Event):
        with replica_reads():
            entered.set()
            await done.wait()
            return router.db_for_read(Organization)

    async def outside(entered: asyncio.Event, done: asyncio.Event):
        await entered.wait()
        try:
            return router.db_for_read(Organization)
        finally:
            done.set()

    async def both():
        entered, done = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(inside(entered, done), outside(entered, done))

    assert asyncio.run(both()) == ["replica", "default"]


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_reads_go_to_the_primary(configured):
    with replica_reads():
        assert router.db_for_read(Organization) == "replica"
        with transaction.atomic():
            assert router.db_for_read(Organization) == "default"
        assert router.db_for_read(Organization) == "replica"


def test_migrations_run_on_the_primary_only():
    assert router.allow_migrate("default", "tickets", model_name="ticket") is True
    assert router.allow_migrate("replica", "tickets", model_name="ticket") is False


def test_rows_of_the_primary_and_the_replica_may_be_related():
    on_primary, on_replica = Organization(), Organization()
    on_primary._state.db, on_replica._state.db = "default", "replica"
    assert router.allow_relation(on_primary, on_replica) is True
    elsewhere = Organization()
    elsewhere._state.db = "other"
    assert router.allow_relation(on_primary, elsewhere) is None
