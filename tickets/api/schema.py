"""OpenAPI parameters read from a FilterSet, so a list's documented filters are the ones
it applies (drf-spectacular's own django-filter support only covers plain list views)."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from tickets.filters import ChoiceListFilter, InstantFilter, TrueFalseFilter


def filterset_parameters(filterset_class) -> list[OpenApiParameter]:
    """One query parameter per filter: a comma list of its allowed values for a
    ChoiceListFilter (`style=form, explode=false`), a boolean, an instant, or a string."""
    parameters = []
    for name, filter_ in filterset_class.base_filters.items():
        description = str(filter_.extra.get("help_text") or "")
        if isinstance(filter_, ChoiceListFilter):
            parameter = OpenApiParameter(
                name,
                str,
                many=True,
                style="form",
                explode=False,
                enum=filter_.choices,
                description=description,
            )
        elif isinstance(filter_, TrueFalseFilter):
            parameter = OpenApiParameter(name, bool, description=description)
        elif isinstance(filter_, InstantFilter | django_filters.IsoDateTimeFilter):
            parameter = OpenApiParameter(
                name, OpenApiTypes.DATETIME, description=description or "An ISO 8601 instant."
            )
        else:
            parameter = OpenApiParameter(name, str, description=description)
        parameters.append(parameter)
    return parameters
