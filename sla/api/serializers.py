from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from sla.business_time import format_hhmm
from sla.models import METRICS, BusinessCalendar, SLAPolicy
from sla.policies import ESCALATION_TRIGGERS


class HoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(help_text="0 = Monday … 6 = Sunday")
    start = serializers.CharField(help_text="HH:MM, local time")
    end = serializers.CharField(help_text="HH:MM (24:00 = end of day)")


class HolidaySerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(required=False, allow_blank=True)


class CalendarWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Shape check only; the calendar service validates meaning (timezone, overlaps…)."""

    nested_keys = {"hours": HoursSerializer, "holidays": HolidaySerializer}
    name = serializers.CharField(max_length=100)
    timezone = serializers.CharField(max_length=64, default="UTC")
    always_open = serializers.BooleanField(default=False)
    hours = serializers.ListField(child=serializers.DictField(), required=False, max_length=200)
    holidays = serializers.ListField(child=serializers.DictField(), required=False, max_length=1000)
    holiday_country = serializers.CharField(
        max_length=8, required=False, allow_null=True, allow_blank=True
    )
    holiday_subdivision = serializers.CharField(
        max_length=16, required=False, allow_null=True, allow_blank=True
    )


class CalendarSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    always_open = serializers.BooleanField()
    hours = HoursSerializer(many=True)
    holidays = HolidaySerializer(many=True)
    holiday_country = serializers.CharField(allow_null=True)
    holiday_subdivision = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()


def calendar_data(calendar: BusinessCalendar) -> dict:
    spec = calendar.spec or {}
    return {
        "id": calendar.pk,
        "name": calendar.name,
        "timezone": calendar.timezone,
        "always_open": calendar.always_open,
        "hours": [
            {"weekday": d, "start": format_hhmm(s), "end": format_hhmm(e)}
            for d, s, e in spec.get("intervals", [])
        ],
        "holidays": [{"date": d, "name": n} for d, n in sorted(spec.get("holidays", {}).items())],
        "holiday_country": calendar.holiday_country or None,
        "holiday_subdivision": calendar.holiday_subdivision or None,
        "updated_at": calendar.updated_at,
    }


class CalendarListSerializer(serializers.Serializer):
    calendars = CalendarSerializer(many=True)


class DueParamsSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="ISO 8601 instant")
    minutes = serializers.IntegerField(min_value=0, max_value=525_600)


class DueIntervalSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    minutes = serializers.FloatField()


class DueSkippedSerializer(serializers.Serializer):
    date = serializers.DateField()
    reason = serializers.ChoiceField(choices=["weekend", "holiday", "closed"])
    name = serializers.CharField(required=False)


class DueSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField()
    intervals = DueIntervalSerializer(many=True)
    skipped = DueSkippedSerializer(many=True)


class EscalationStepSerializer(serializers.Serializer):
    on = serializers.ChoiceField(choices=ESCALATION_TRIGGERS)
    metric = serializers.ChoiceField(choices=["any", *METRICS], default="any")
    raise_priority = serializers.BooleanField(default=False)
    escalate = serializers.BooleanField(default=True)
    assign_team = serializers.UUIDField(required=False, allow_null=True)
    assign_manager = serializers.BooleanField(default=False)
    notify = serializers.BooleanField(default=True)


class PolicyWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    position = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    active = serializers.BooleanField(required=False)
    priorities = serializers.ListField(child=serializers.CharField(), required=False)
    channels = serializers.ListField(child=serializers.CharField(), required=False)
    customer_tiers = serializers.ListField(child=serializers.CharField(), required=False)
    first_response_minutes = serializers.IntegerField(
        min_value=1, max_value=5_256_000, required=False, allow_null=True
    )
    next_response_minutes = serializers.IntegerField(
        min_value=1, max_value=5_256_000, required=False, allow_null=True
    )
    resolution_minutes = serializers.IntegerField(
        min_value=1, max_value=5_256_000, required=False, allow_null=True
    )
    calendar = serializers.UUIDField(required=False, allow_null=True)
    pause_on_pending = serializers.ListField(child=serializers.CharField(), required=False)
    at_risk_percent = serializers.IntegerField(min_value=1, max_value=100, required=False)
    escalation = serializers.ListField(child=serializers.DictField(), required=False)


class PolicySerializer(serializers.ModelSerializer):
    calendar = serializers.UUIDField(source="calendar_id", allow_null=True)
    escalation = EscalationStepSerializer(many=True)

    class Meta:
        model = SLAPolicy
        fields = [
            "id",
            "name",
            "position",
            "active",
            "priorities",
            "channels",
            "customer_tiers",
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
            "calendar",
            "pause_on_pending",
            "at_risk_percent",
            "escalation",
            "created_at",
            "updated_at",
        ]


class PolicyListSerializer(serializers.Serializer):
    policies = PolicySerializer(many=True)
