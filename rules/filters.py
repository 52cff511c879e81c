"""The rules list's filters: bad values are a 400 that lists the allowed ones."""

from rules.models import Rule
from tickets.filters import ChoiceListFilter, StrictFilterSet, TrueFalseFilter


class RuleFilterSet(StrictFilterSet):
    active = TrueFalseFilter(field_name="active", help_text="Only active (true) or inactive.")
    type = ChoiceListFilter(choices=Rule.Type.values)

    class Meta:
        model = Rule
        fields: list[str] = []
