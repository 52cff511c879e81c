"""Input serializers (validation) and output serializers (OpenAPI documentation of the
dicts built in representations.py)."""

from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from tickets import lifecycle
from tickets.models import Channel, CustomerTier, Priority

SORT_FIELDS = [
    "created_at",
    "updated_at",
    "priority",
    "smart_score",
    "last_message_at",
    "sla_due_at",
]


def choice(choices, **kwargs) -> serializers.ChoiceField:
    """A ChoiceField whose error lists the allowed values."""
    allowed = ", ".join(choices)
    return serializers.ChoiceField(
        choices=choices,
        error_messages={"invalid_choice": f'"{{input}}" is not valid; allowed values: {allowed}.'},
        **kwargs,
    )


class StrictBooleanField(serializers.BooleanField):
    """Only real booleans in JSON bodies ("yes" or 2 are type errors, not truthy)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


def tag_list(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=64, allow_blank=False), max_length=50, **kwargs
    )


# --- Query parameters -----------------------------------------------------------------


class TicketListParamsSerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    limit = serializers.IntegerField(min_value=1, default=50)
    sort = choice(SORT_FIELDS, default="created_at")
    order = choice(["asc", "desc"], default="desc")
    smart_order = serializers.BooleanField(default=False)
    apply_rules = serializers.BooleanField(default=False)
    topic_alerts = serializers.CharField(required=False, allow_blank=True, max_length=500)
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=500)


class PageParamsSerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    limit = serializers.IntegerField(min_value=1, default=50)


# --- Bodies ---------------------------------------------------------------------------


class TicketCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    customer_id = serializers.CharField(max_length=128)
    subject = serializers.CharField(max_length=500)
    channel = choice(Channel.values, default="email")
    priority = choice(Priority.values, default="normal")
    status = choice(lifecycle.STATUSES, required=False)
    tags = tag_list(required=False, default=list)
    initial_message = serializers.CharField(
        required=False, allow_blank=True, max_length=100_000, trim_whitespace=False
    )
    author_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    author_email = serializers.EmailField(required=False, allow_blank=True)
    team_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="A team of the organization; left out, routing may pick the default team.",
    )


class TicketUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    status = choice(lifecycle.STATUSES, required=False)
    priority = choice(Priority.values, required=False)
    subject = serializers.CharField(required=False, max_length=500)
    assigned_to = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=64,
        help_text="An agent id, 'me', or null to unassign.",
    )
    team_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="A team of the organization; null clears it."
    )
    team = serializers.UUIDField(
        required=False, allow_null=True, help_text="The same as team_id (an older name)."
    )
    tags = tag_list(required=False)
    add_tags = tag_list(required=False)
    remove_tags = tag_list(required=False)
    expected_updated_at = serializers.DateTimeField(
        required=False,
        help_text="Optimistic lock: the ticket's updated_at you read; 409 if it changed since.",
    )

    def validate(self, attrs):
        if "team" in attrs and "team_id" in attrs and attrs["team"] != attrs["team_id"]:
            raise serializers.ValidationError(
                {"team_id": ["team is team_id's older name: send one of them."]}
            )
        return attrs


class MessageCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    content = serializers.CharField(max_length=100_000, trim_whitespace=False)
    from_agent = StrictBooleanField()
    author_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    author_email = serializers.EmailField(required=False, allow_blank=True)
    send_to_customer = StrictBooleanField(required=False, default=True)
    close_ticket = StrictBooleanField(required=False, default=False)

    def validate_content(self, value):
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        return value


class NoteCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    content = serializers.CharField(max_length=100_000, trim_whitespace=False)
    author_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    author_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="A free label from the client (e.g. 'agent-1').",
    )

    def validate_content(self, value):
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        return value


class CustomerCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    customer_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    tier = choice(CustomerTier.values, required=False, default="standard")


class CustomerUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    tier = choice(CustomerTier.values, required=False)


# --- Answers (documentation) ----------------------------------------------------------


class PaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
    total_pages = serializers.IntegerField()
    has_next = serializers.BooleanField()
    has_prev = serializers.BooleanField()
    total_is_estimate = serializers.BooleanField(required=False)
    next_cursor = serializers.CharField(required=False, allow_null=True)


class TicketMetadataSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    priority = serializers.CharField()
    assigned_to = serializers.UUIDField(allow_null=True)
    team_id = serializers.UUIDField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    updated_at = serializers.DateTimeField()


class TicketListItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    customer_id = serializers.CharField()
    customer_name = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.CharField()
    subject = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    assigned_to = serializers.UUIDField(allow_null=True)
    team_id = serializers.UUIDField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    message_count = serializers.IntegerField()
    last_message_preview = serializers.CharField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    last_message_from_agent = serializers.BooleanField(allow_null=True)
    matches_topic_alert = serializers.BooleanField()
    smart_score = serializers.FloatField()
    escalation_level = serializers.IntegerField()
    first_response_at = serializers.DateTimeField(allow_null=True)
    sla = serializers.DictField(
        required=False,
        help_text="{policy, status, next_due_at, metrics: [{metric, status, due_at, "
        "business_seconds_remaining, breached_at, ...}]} when the SLA engine is installed.",
    )


class TicketListSerializer(serializers.Serializer):
    tickets = TicketListItemSerializer(many=True)
    pagination = PaginationSerializer()
    filters_applied = serializers.DictField()
    topic_alerts_active = serializers.ListField(child=serializers.CharField())
    matches = serializers.IntegerField()


class MessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ticket_id = serializers.UUIDField()
    from_agent = serializers.BooleanField()
    content = serializers.CharField()
    created_at = serializers.DateTimeField()
    author_name = serializers.CharField(allow_null=True)
    author_email = serializers.CharField(allow_null=True)
    channel = serializers.CharField()
    sent_to_customer = serializers.BooleanField()
    delivery_status = serializers.CharField(
        allow_null=True,
        help_text="For a reply delivered through a provider or channel (Zendesk, Gorgias, "
        "email, SMS, chat): pending, sent or failed; null when there is nothing to deliver.",
    )
    delivery_error = serializers.CharField(
        allow_null=True, help_text="Why the last delivery attempt failed."
    )
    attachments = serializers.ListField(
        child=serializers.DictField(),
        help_text="Attachments' metadata: {name, content_type, size, url}.",
    )


class NoteSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ticket_id = serializers.UUIDField()
    content = serializers.CharField()
    created_at = serializers.DateTimeField()
    author_name = serializers.CharField()
    author_id = serializers.CharField()
    author_agent_id = serializers.UUIDField(allow_null=True)


class ScoreComponentSerializer(serializers.Serializer):
    name = serializers.CharField()
    points = serializers.FloatField()
    reason = serializers.CharField()
    rule_id = serializers.UUIDField(required=False)
    rule_type = serializers.CharField(required=False)


class ScoreBreakdownSerializer(serializers.Serializer):
    ticket_id = serializers.UUIDField()
    smart_score = serializers.FloatField()
    components = ScoreComponentSerializer(many=True)
    reason = serializers.CharField(allow_null=True)
    computed_at = serializers.CharField(allow_null=True)


class CustomerSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    tier = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    tickets_count = serializers.IntegerField(required=False)


class BusinessMetricsSerializer(serializers.Serializer):
    lifetime_value = serializers.FloatField()
    total_orders = serializers.IntegerField()
    avg_order_value = serializers.FloatField()
    days_since_last_purchase = serializers.IntegerField(allow_null=True)
    customer_tenure_days = serializers.IntegerField()


class ChurnRiskSerializer(serializers.Serializer):
    churn_risk_score = serializers.FloatField()
    risk_level = serializers.CharField()
    factors = serializers.DictField()
    recommendation = serializers.CharField()


class CustomerProfileSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField(allow_null=True)
    tier = serializers.CharField()
    intelligence_status = serializers.ChoiceField(choices=["fresh", "stale", "unavailable"])
    archetype = serializers.DictField(allow_null=True)
    segment_memberships = serializers.DictField()
    fuzzy_memberships = serializers.DictField()
    dominant_segments = serializers.DictField()
    business_metrics = BusinessMetricsSerializer()
    churn_risk = ChurnRiskSerializer()
    last_purchase = serializers.DictField(allow_null=True)


class SatisfactionSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(allow_blank=True)
    rated_at = serializers.DateTimeField()


class SatisfactionCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, help_text="CSAT, 1 (bad) to 5.")
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, trim_whitespace=True
    )

    def validate_rating(self, value):
        if isinstance(self.initial_data.get("rating"), bool | float):
            raise serializers.ValidationError("A whole number from 1 to 5 is required.")
        return value


class SatisfactionAnswerSerializer(serializers.Serializer):
    ticket_id = serializers.UUIDField()
    satisfaction = SatisfactionSerializer(allow_null=True)
    history = SatisfactionSerializer(many=True, help_text="Every rating given, newest first.")


class TicketDetailSerializer(TicketListItemSerializer):
    customer = CustomerSerializer()
    messages = MessageSerializer(many=True)
    notes = NoteSerializer(many=True)
    customer_profile = CustomerProfileSerializer(
        required=False, help_text="Absent until anything is known of the customer."
    )
    score_breakdown = ScoreBreakdownSerializer()
    resolved_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    source = serializers.CharField()
    external_id = serializers.CharField(allow_null=True)
    ai_recommendation = serializers.DictField(
        required=False, help_text="The kept next best actions; absent when there are none."
    )
    ai_draft_response = serializers.CharField(allow_null=True)
    satisfaction = SatisfactionSerializer(
        allow_null=True, help_text="The customer's CSAT rating; null until rated."
    )


class TicketCreatedSerializer(serializers.Serializer):
    ticket = TicketDetailSerializer()
    messages = MessageSerializer(many=True)
    notes = NoteSerializer(many=True)


class TicketUpdatedSerializer(serializers.Serializer):
    ticket = TicketMetadataSerializer()


class MessageListSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)


class MessageCreatedSerializer(serializers.Serializer):
    message = MessageSerializer()
    ticket_updated = TicketMetadataSerializer()


class NoteListSerializer(serializers.Serializer):
    notes = NoteSerializer(many=True)


class NoteCreatedSerializer(serializers.Serializer):
    note = NoteSerializer()


class ResetConversationSerializer(serializers.Serializer):
    status = serializers.CharField()
    messages_deleted = serializers.IntegerField()


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    ticket_id = serializers.UUIDField()
    actor_id = serializers.UUIDField(allow_null=True)
    actor = serializers.CharField()
    payload = serializers.DictField()
    created_at = serializers.DateTimeField()


class EventListSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    pagination = PaginationSerializer()


class CustomerListSerializer(serializers.Serializer):
    customers = CustomerSerializer(many=True)
    pagination = PaginationSerializer()
