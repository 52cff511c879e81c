"""The ticket list's filters (django-filter). Unknown values are a 400 that lists the
allowed ones; unknown parameters are ignored."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef

from agents.exceptions import DomainError
from tickets import lifecycle
from tickets.models import Channel, Priority, Ticket
from tickets.search import ticket_search
from tickets.selectors import uuid_parse

SLA_STATUSES = ["active", "at_risk", "breached", "paused"]


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


class TicketFilterSet(django_filters.FilterSet):
    status = django_filters.CharFilter(method="filter_status", help_text="One or a comma list.")
    priority = django_filters.CharFilter(method="filter_priority", help_text="One or a comma list.")
    channel = django_filters.CharFilter(method="filter_channel", help_text="One or a comma list.")
    assigned_to = django_filters.CharFilter(
        method="filter_assigned_to", help_text="An agent id, 'me' or 'none'."
    )
    team = django_filters.CharFilter(method="filter_team", help_text="A team id or name.")
    customer_id = django_filters.CharFilter(field_name="customer__external_id")
    tag = django_filters.CharFilter(method="filter_tag")
    created_after = InstantFilter(field_name="created_at", lookup_expr="gte")
    created_before = InstantFilter(field_name="created_at", lookup_expr="lt")
    updated_after = InstantFilter(field_name="updated_at", lookup_expr="gt")
    q = django_filters.CharFilter(method="filter_q", help_text="Search subject and messages.")
    sla_status = django_filters.CharFilter(
        method="filter_sla_status", help_text="active, at_risk, breached or paused (comma list)."
    )

    class Meta:
        model = Ticket
        fields: list[str] = []

    def _check(self, value, allowed, name):
        try:
            return _comma_values(value, allowed, name)
        except ValidationError as exc:
            raise _FilterError(name, exc.messages[0]) from None

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=self._check(value, lifecycle.STATUSES, "status"))

    def filter_priority(self, queryset, name, value):
        return queryset.filter(priority__in=self._check(value, Priority.values, "priority"))

    def filter_channel(self, queryset, name, value):
        return queryset.filter(channel__in=self._check(value, Channel.values, "channel"))

    def filter_assigned_to(self, queryset, name, value):
        value = value.strip()
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            user = self.request.user if self.request else None
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


class _FilterError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def tickets_filter(queryset, params, request):
    """Apply TicketFilterSet; raises DomainError (400) naming the field on bad input."""
    filterset = TicketFilterSet(params, queryset=queryset, request=request)
    if not filterset.is_valid():
        field, messages = next(iter(filterset.errors.items()))
        raise DomainError(f"{field}: {messages[0]}", field=field)
    try:
        return filterset.qs, {
            k: v for k, v in filterset.form.cleaned_data.items() if v not in (None, "")
        }
    except _FilterError as exc:
        raise DomainError(exc.message, field=exc.field) from None
