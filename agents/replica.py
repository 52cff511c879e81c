"""Read-only queries on a replica (DATABASE_REPLICA_URL), opt in per read.

Every query goes to the primary ("default") unless it runs inside `replica_reads()`,
which list and report views wrap their selector work in:

    @replica_reads()
    def list(self, request): ...

Inside it, ReplicaRouter sends reads to the "replica" alias, when one is configured and
the primary is not in a transaction (a read in `transaction.atomic`, or after a
`select_for_update`, must see that transaction's writes). Writes always go to the
primary, so do services, the admin, authentication and Celery tasks: what a client has
just written, it reads back from the primary, except in the lists and reports, which are
as fresh as the replica (eventually consistent within its lag).

The flag is a ContextVar: per thread and per asyncio task (asgiref's sync_to_async
copies it into the thread that runs the ORM), never shared between requests.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside may be served by the replica; a context manager or a decorator."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """The database a read made here goes to."""
    if (
        _replica_reads.get()
        and replica_configured()
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    ):
        return REPLICA
    return DEFAULT_DB_ALIAS


class ReplicaRouter:
    """DATABASE_ROUTERS entry when DATABASE_REPLICA_URL is set (settings.py)."""

    def db_for_read(self, model, **hints) -> str:
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # One data set in two places: a row read from the replica may be related to one
        # of the primary (e.g. assigned to a ticket that is then saved on the primary).
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        # The replica receives the schema by replication; `migrate` writes the primary.
        return db == DEFAULT_DB_ALIAS
