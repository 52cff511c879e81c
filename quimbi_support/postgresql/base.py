"""The PostgreSQL backend with timestamps read by psycopg's C loader.

Django reads every `timestamptz` through a Python subclass of psycopg's pure-Python
loader (a regular expression and a `replace()` per value): about 7 µs each, 2 ms for a
page of the inbox with its SLA clocks. psycopg's C loader reads the same text in well
under a microsecond and gives the session's time zone, which Django sets to UTC on every
connection (`init_connection_state`). This backend registers a loader that Django's own
cursor check accepts (it reads the loader's `timezone`) and whose `load` is the C one.
Where the C module or a UTC connection is not there, it is Django's backend unchanged.
"""

from datetime import UTC

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import is_psycopg3

try:  # psycopg[binary] or psycopg[c]
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg._cmodule import _psycopg
except ImportError:  # pure-Python psycopg, or psycopg2
    _psycopg = None


if _psycopg is not None and is_psycopg3:

    class UtcTimestamptzLoader(BaseTzLoader):
        """Django's loader for UTC (same `timezone`), loading with the C parser."""

        timezone = UTC

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self.load = _psycopg.TimestamptzLoader(oid, context).load
else:
    UtcTimestamptzLoader = None


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if UtcTimestamptzLoader is not None and self.timezone == UTC and "context" in params:
            params["context"].register_loader("timestamptz", UtcTimestamptzLoader)
        return params
