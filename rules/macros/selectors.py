"""Reading macros."""

from django.db.models import Q, QuerySet

from agents.exceptions import NotFound
from rules.models import Macro


def macro_list(*, organization_id, q: str | None = None, active=None) -> QuerySet:
    macros = Macro.objects.filter(organization_id=organization_id)
    if q:
        macros = macros.filter(Q(name__icontains=q) | Q(body__icontains=q))
    if active is not None:
        macros = macros.filter(active=active)
    return macros.order_by("name", "pk")


def macro_get(*, organization_id, macro_id) -> Macro:
    macro = Macro.objects.filter(organization_id=organization_id, pk=macro_id).first()
    if macro is None:
        raise NotFound(f"Macro {macro_id} not found.")
    return macro
