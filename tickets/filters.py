"""The list endpoints' filters (django-filter), one FilterSet per list: tickets,
customers, a ticket's events. Unknown enum values are a 400 that lists the allowed ones;
unknown parameters are ignored. Other apps' lists build on `StrictFilterSet`,
`ChoiceListFilter` and `filterset_apply` (rules/filters.py)."""

import copy
from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django_filters.constants import EMPTY_VALUES
from django_filters.filters import FilterMethod

from agents.exceptions import DomainError
from tickets import event_kinds, lifecycle
from tickets.ids import uuid_parse
from tickets.models import Channel, Customer, CustomerTier, Priority, SlaStatus, Ticket, TicketEvent
from tickets.search import ticket_search

SLA_STATUSES = [s for s in SlaStatus.values if s]


def _comma_values(value: str, allowed: list[str], name: str) -> list[str]:
    values = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValidationError(
            f"Unknown {name} {', '.join(bad)}; allowed values: {', '.join(allowed)}."
        )
    return values


class _InstantField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 instant that exists in UTC: 9999-12-31T23:00-05:00 is past year 9999,
    which the database adapter cannot convert (OverflowError, a 500) without this check."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                "The date is outside the supported range (years 1 to 9999 in UTC).",
                code="overflow",
            ) from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = _InstantField


class _FilterError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


class ChoiceListFilter(django_filters.CharFilter):
    """One value or a comma list, each one of `choices`; any other value is a 400 that
    lists the allowed ones."""

    def __init__(self, *args, choices, **kwargs):
        kwargs.setdefault("help_text", "One or a comma list.")
        super().__init__(*args, **kwargs)
        self.choices = list(choices)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        try:
            values = _comma_values(value, self.choices, self.param_name)
        except ValidationError as exc:
            raise _FilterError(self.param_name, exc.messages[0]) from None
        return qs.filter(**{f"{self.field_name}__in": values})


class TrueFalseFilter(django_filters.CharFilter):
    """`true` or `false`; anything else is a 400 (not silently ignored)."""

    ALLOWED = ("true", "false")

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        if value not in self.ALLOWED:
            raise _FilterError(
                self.param_name,
                f"Unknown {self.param_name} {value:.40}; allowed values: true, false.",
            )
        return qs.filter(**{self.field_name: value == "true"})


class _CopiedShallow(dict):
    """Filters or form fields that each request copies one level deep, not whole:
    django-filter deep-copies every filter and Django every form field (with its widget,
    validators and messages) on each request, which cost more than the list's query.
    A request sets attributes on its copies (parent, model, param_name) and changes
    nothing inside them; these forms are never rendered."""

    def __deepcopy__(self, memo):
        return {name: self._copy(item) for name, item in self.items()}

    @staticmethod
    def _copy(item):
        copied = copy.copy(item)
        if isinstance(getattr(item, "filter", None), FilterMethod):
            copied.filter = FilterMethod(copied)  # `method=`: resolved on the copy's parent
        return copied


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet whose bad values are 400s naming the parameter (`filterset_apply`).

    `user` is the caller (for values such as `assigned_to=me`); it defaults to the
    request's."""

    _form_classes: dict = {}

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, user=None):
        cls = type(self)
        if type(cls.__dict__.get("base_filters")) is not _CopiedShallow:
            cls.base_filters = _CopiedShallow(cls.base_filters)
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.user = user if user is not None else getattr(request, "user", None)
        for name, filter_ in self.filters.items():
            filter_.param_name = name  # the name errors are reported under

    def get_form_class(self):
        """Built once per filter set class: django-filter builds a new form class on every
        request, and the filters (so the form's fields) are the class's, not the request's."""
        key = type(self)
        form_class = StrictFilterSet._form_classes.get(key)
        if form_class is None:
            form_class = StrictFilterSet._form_classes[key] = super().get_form_class()
            form_class.base_fields = _CopiedShallow(form_class.base_fields)
        return form_class

    def _check(self, value, allowed, name):
        try:
            return _comma_values(value, allowed, name)
        except ValidationError as exc:
            raise _FilterError(name, exc.messages[0]) from None


def filterset_apply(
    filterset_class: type[StrictFilterSet], params, queryset: QuerySet, *, user=None
) -> tuple[QuerySet, dict]:
    """`queryset` filtered by `params` and the filters applied ({name: cleaned value});
    raises DomainError (400) naming the parameter on bad input."""
    filterset = filterset_class(params, queryset=queryset, user=user)
    if not filterset.is_valid():
        field, messages = next(iter(filterset.errors.items()))
        raise DomainError(f"{field}: {messages[0]}", field=field)
    try:
        return filterset.qs, {
            k: v for k, v in filterset.form.cleaned_data.items() if v not in (None, "")
        }
    except _FilterError as exc:
        raise DomainError(exc.message, field=exc.field) from None


class TicketFilterSet(StrictFilterSet):
    status = ChoiceListFilter(choices=lifecycle.STATUSES)
    priority = ChoiceListFilter(choices=Priority.values)
    channel = ChoiceListFilter(choices=Channel.values)
    assigned_to = django_filters.CharFilter(
        method="filter_assigned_to", help_text="An agent id, 'me' or 'none'."
    )
    team = django_filters.CharFilter(method="filter_team", help_text="A team id or name.")
    customer_id = django_filters.CharFilter(field_name="customer__external_id")
    tag = django_filters.CharFilter(method="filter_tag")
    source = django_filters.CharFilter(
        field_name="source",
        max_length=32,
        help_text="Where tickets came from: native (this backend), zendesk, gorgias, ...",
    )
    external_id = django_filters.CharFilter(
        field_name="external_id",
        max_length=128,
        help_text="The provider's ticket id (with source: one ticket).",
    )
    created_after = InstantFilter(
        field_name="created_at", lookup_expr="gte", help_text="Created at or after (ISO 8601)."
    )
    created_before = InstantFilter(
        field_name="created_at", lookup_expr="lt", help_text="Created before (ISO 8601)."
    )
    updated_after = InstantFilter(
        field_name="updated_at",
        lookup_expr="gt",
        help_text="Changed after (ISO 8601): the change feed.",
    )
    q = django_filters.CharFilter(method="filter_q", help_text="Search subject and messages.")
    sla_status = django_filters.CharFilter(
        method="filter_sla_status", help_text="active, at_risk, breached or paused (comma list)."
    )

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_assigned_to(self, queryset, name, value):
        value = value.strip()
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            user = self.user
            if user is None or getattr(user, "pk", None) is None:
                raise _FilterError("assigned_to", "'me' needs an agent login, not an API key.")
            return queryset.filter(assignee_id=user.pk)
        try:
            return queryset.filter(assignee_id=uuid_parse(value, field=name, what="agent"))
        except DomainError:
            raise _FilterError(
                "assigned_to", f"{value!s:.40} is not an agent id, 'me' or 'none'."
            ) from None

    def filter_team(self, queryset, name, value):
        try:
            return queryset.filter(team_id=uuid_parse(value, field=name, what="team"))
        except DomainError:
            return queryset.filter(team__name=value.strip())

    def filter_tag(self, queryset, name, value):
        tagged = Ticket.tags.through.objects.filter(
            ticket_id=OuterRef("pk"), tag__name=value.strip().lower()
        )
        return queryset.filter(Exists(tagged))

    def filter_sla_status(self, queryset, name, value):
        values = self._check(value, SLA_STATUSES, "sla_status")
        # "active" means a running clock, whether at risk or not.
        if "active" in values:
            values = [*values, "at_risk"]
        return queryset.filter(sla_status__in=values)

    def filter_q(self, queryset, name, value):
        return ticket_search(queryset, value)


class CustomerFilterSet(StrictFilterSet):
    tier = ChoiceListFilter(choices=CustomerTier.values)
    q = django_filters.CharFilter(method="filter_q", help_text="Search name, email or customer_id.")

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        value = value.strip()[:200]
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(email__icontains=value) | Q(external_id=value)
        )


class TicketEventFilterSet(StrictFilterSet):
    kind = ChoiceListFilter(choices=event_kinds.TICKET_KINDS)
    created_after = InstantFilter(
        field_name="created_at", lookup_expr="gte", help_text="At or after (ISO 8601)."
    )
    created_before = InstantFilter(
        field_name="created_at", lookup_expr="lt", help_text="Before (ISO 8601)."
    )

    class Meta:
        model = TicketEvent
        fields: list[str] = []
