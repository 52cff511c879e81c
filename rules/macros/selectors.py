"""Reading macros, always within one organization (another's id is a NotFound)."""

from django.db.models import QuerySet

from agents.exceptions import NotFound
from rules.models import Macro
from tickets.ids import uuid_parse


def macro_list(*, organization_id) -> QuerySet[Macro]:
    """The organization's macros by name (filters: rules.macros.filters.MacroFilterSet)."""
    return Macro.objects.filter(organization_id=organization_id).order_by("name", "pk")


def macro_get(*, organization_id, macro_id, field: str = "id") -> Macro:
    """The organization's macro `macro_id`; a malformed id is a 400 naming `field`."""
    pk = uuid_parse(macro_id, field=field, what="macro")
    macro = Macro.objects.filter(organization_id=organization_id, pk=pk).first()
    if macro is None:
        raise NotFound(f"Macro {pk} not found.")
    return macro
