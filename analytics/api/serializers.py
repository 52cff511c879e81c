"""Query parameters of the analytics endpoints, and their answers (OpenAPI)."""

from rest_framework import serializers

FORMATS = ["json", "csv"]


def _date(name: str) -> serializers.DateField:
    return serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text=f"{name} (YYYY-MM-DD), inclusive, in the organization's timezone.",
        error_messages={"invalid": "A date as YYYY-MM-DD is required, e.g. 2026-01-31."},
    )


# --- Query parameters (unknown parameters, e.g. cache busters, are ignored) ----------


class PeriodParamsSerializer(serializers.Serializer):
    start_date = _date("First day; default: 29 days before end_date")
    end_date = _date("Last day; default: today")


class TeamPeriodParamsSerializer(PeriodParamsSerializer):
    team_id = serializers.UUIDField(
        required=False, help_text="Only this team (its members, or its tickets)."
    )


class TableParamsSerializer(TeamPeriodParamsSerializer):
    format = serializers.ChoiceField(
        choices=FORMATS,
        required=False,
        help_text="csv: the table as a CSV download.",
        error_messages={"invalid_choice": '"{input}" is not valid; allowed values: json, csv.'},
    )


# --- Answers --------------------------------------------------------------------------


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    timezone = serializers.CharField(help_text="The organization's; days are counted in it.")
    days = serializers.IntegerField()
    start_at = serializers.DateTimeField()
    end_before = serializers.DateTimeField()


class FiguresSerializer(serializers.Serializer):
    assigned = serializers.IntegerField(help_text="Assignments to it in the period.")
    replied_tickets = serializers.IntegerField()
    replies = serializers.IntegerField(help_text="Public agent replies in the period.")
    resolved = serializers.IntegerField(help_text="Tickets with resolved_at in the period.")
    first_response_p50_minutes = serializers.FloatField(allow_null=True)
    first_response_p90_minutes = serializers.FloatField(allow_null=True)
    first_response_avg_minutes = serializers.FloatField(allow_null=True)
    first_responses = serializers.IntegerField()
    first_responses_business_time = serializers.IntegerField(
        help_text="How many of them were measured in business time (an SLA clock)."
    )
    resolution_p50_hours = serializers.FloatField(allow_null=True)
    resolution_p90_hours = serializers.FloatField(allow_null=True)
    resolution_avg_hours = serializers.FloatField(allow_null=True)
    resolutions_timed = serializers.IntegerField()
    resolutions_business_time = serializers.IntegerField()
    sla_met = serializers.IntegerField()
    sla_breached = serializers.IntegerField()
    sla_compliance = serializers.FloatField(allow_null=True, help_text="met / (met + breached)")
    csat_average = serializers.FloatField(allow_null=True)
    csat_count = serializers.IntegerField()
    reopened = serializers.IntegerField()
    resolutions = serializers.IntegerField(
        help_text="Tickets resolved or closed in the period by a status change."
    )
    reopen_rate = serializers.FloatField(allow_null=True, help_text="reopened / resolutions")
    open_load = serializers.IntegerField(help_text="Active tickets assigned now.")
    capacity = serializers.IntegerField()
    load = serializers.FloatField(allow_null=True, help_text="open_load / capacity")


class AgentMetricsSerializer(FiguresSerializer):
    agent_id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField()


class MemberSerializer(serializers.Serializer):
    agent_id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField()
    capacity = serializers.IntegerField()


class TeamMetricsSerializer(FiguresSerializer):
    team_id = serializers.UUIDField()
    name = serializers.CharField()
    members = MemberSerializer(many=True)


class AgentTableSerializer(serializers.Serializer):
    period = PeriodSerializer()
    time_basis = serializers.CharField()
    agents = AgentMetricsSerializer(many=True)


class TeamTableSerializer(serializers.Serializer):
    period = PeriodSerializer()
    time_basis = serializers.CharField()
    teams = TeamMetricsSerializer(many=True)


class TicketCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Tickets created in the period.")
    open = serializers.IntegerField(help_text="Of them, open or in progress now.")
    pending = serializers.IntegerField()
    closed = serializers.IntegerField(help_text="Of them, resolved or closed now.")
    by_status = serializers.DictField(child=serializers.IntegerField())
    by_priority = serializers.DictField(child=serializers.IntegerField())
    by_channel = serializers.DictField(child=serializers.IntegerField())
    resolved_in_period = serializers.IntegerField()
    open_now = serializers.IntegerField()


class ResponseTimesSerializer(serializers.Serializer):
    avg_first_response_minutes = serializers.FloatField()
    avg_resolution_hours = serializers.FloatField()
    within_sla = serializers.FloatField(help_text="SLA compliance, 0-1 (0 when no clock).")
    first_response_p50_minutes = serializers.FloatField(allow_null=True)
    first_response_p90_minutes = serializers.FloatField(allow_null=True)
    resolution_p50_hours = serializers.FloatField(allow_null=True)
    resolution_p90_hours = serializers.FloatField(allow_null=True)
    sla_met = serializers.IntegerField()
    sla_breached = serializers.IntegerField()
    time_basis = serializers.DictField()


class SatisfactionFiguresSerializer(serializers.Serializer):
    avg_rating = serializers.FloatField()
    total_responses = serializers.IntegerField()
    nps_score = serializers.IntegerField(help_text="Not measured (CSAT is 1-5): 0.")


class ChurnPreventionSerializer(serializers.Serializer):
    at_risk_customers = serializers.IntegerField()
    interventions = serializers.IntegerField()
    retention_rate = serializers.FloatField()
    revenue_saved = serializers.FloatField()


class AiPerformanceSerializer(serializers.Serializer):
    draft_acceptance_rate = serializers.FloatField()
    recommendation_follow_rate = serializers.FloatField()
    avg_edit_distance = serializers.FloatField()


class OverviewSerializer(serializers.Serializer):
    period = PeriodSerializer()
    scope = serializers.DictField()
    tickets = TicketCountsSerializer()
    response_times = ResponseTimesSerializer()
    customer_satisfaction = SatisfactionFiguresSerializer()
    churn_prevention = ChurnPreventionSerializer()
    ai_performance = AiPerformanceSerializer()
    activity = serializers.DictField()
    load = serializers.DictField()
    not_measured = serializers.ListField(
        child=serializers.CharField(), help_text="Figures of the schema answered 0: unknown."
    )


class ComplianceSerializer(serializers.Serializer):
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance = serializers.FloatField(allow_null=True)


class SlaReportSerializer(ComplianceSerializer):
    period = PeriodSerializer()
    team_id = serializers.UUIDField(allow_null=True)
    basis = serializers.CharField()
    by_metric = serializers.DictField(child=ComplianceSerializer())
    by_priority = serializers.DictField(child=ComplianceSerializer())
    open_breached_now = serializers.IntegerField()
