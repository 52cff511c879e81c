"""`field__any_of=[...]`: membership in a list sent as one array parameter on PostgreSQL
(`field = ANY(%s)`), where `__in` sends one parameter per value. A page of an import
looks up a thousand keys at a time, and quoting a thousand parameters into the SQL text
cost more than the index probes. Elsewhere it is `IN (...)`."""

from django.db import models
from django.db.models.lookups import In


@models.CharField.register_lookup
class AnyOf(In):
    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [v for v in self.rhs if v is not None]
        return f"{lhs} = ANY(%s::text[])", (*lhs_params, values)
