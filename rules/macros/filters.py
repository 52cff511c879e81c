"""The macro list's filters: bad values are a 400 naming the parameter."""

import django_filters
from django.db.models import Q

from rules.models import Macro
from tickets.filters import StrictFilterSet, TrueFalseFilter


class MacroFilterSet(StrictFilterSet):
    q = django_filters.CharFilter(method="filter_q", help_text="Search the name and the body.")
    active = TrueFalseFilter(field_name="active", help_text="Only active (true) or inactive.")

    class Meta:
        model = Macro
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        value = value.strip()[:200]
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(body__icontains=value))
