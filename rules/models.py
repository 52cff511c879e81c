import uuid

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from agents.history import history_user
from agents.models import Organization


class Rule(models.Model):
    """A prioritization rule: when it matches a ticket, it adds `boost_amount` to the
    ticket's smart score (shown in the breakdown under its name).

    - vip: the customer's tier is in `conditions.tiers` (default ["vip"]) or their
      lifetime value is at least `conditions.min_ltv` (when intelligence is known);
    - churn: the customer's churn risk is at least `conditions.min_churn_risk` (0-1);
    - time_sensitive: a keyword appears in the subject or messages, and the ticket has
      waited at least `conditions.min_age_hours` (default 0);
    - custom: a keyword appears in the subject or messages.
    """

    class Type(models.TextChoices):
        VIP = "vip"
        CHURN = "churn"
        TIME_SENSITIVE = "time_sensitive"
        CUSTOM = "custom"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=20, choices=Type.choices)
    keywords = models.JSONField(default=list, blank=True)
    boost_amount = models.FloatField(default=1.0)
    active = models.BooleanField(default=True)
    conditions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="rule_name_unique_per_org"
            ),
            models.CheckConstraint(
                condition=Q(type__in=["vip", "churn", "time_sensitive", "custom"]),
                name="rule_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(boost_amount__gte=-100) & Q(boost_amount__lte=100),
                name="rule_boost_bounded",
            ),
        ]
        indexes = [models.Index(fields=["organization", "active"], name="rule_org_active_idx")]

    def __str__(self) -> str:
        return self.name


class ScoringConfig(models.Model):
    """An organization's smart-score weights (defaults in rules.scoring when absent)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="scoring_config"
    )
    priority_points = models.JSONField(
        default=dict,
        blank=True,
        help_text='e.g. {"low": 0, "normal": 1, "high": 3, "urgent": 5.5}',
    )
    channel_points = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"phone": 1, "chat": 1, "sms": 0.5, "email": 0}'
    )
    tier_points = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"standard": 0, "premium": 0.75, "vip": 3.75}'
    )
    age_points_per_sqrt_hour = models.FloatField(default=0.35)
    age_points_max = models.FloatField(default=1.5, help_text="Most points waiting can add.")
    ltv_points_per_1000 = models.FloatField(
        default=0.5, help_text="Points per 1,000 of customer lifetime value."
    )
    churn_points_max = models.FloatField(default=2.0, help_text="Points at churn risk 1.0.")
    intelligence_cap = models.FloatField(
        default=3.0, help_text="Most points customer intelligence can add to one ticket."
    )
    sla_at_risk_points = models.FloatField(default=3.75, help_text="Points of an at-risk SLA.")
    sla_breached_points = models.FloatField(default=4.0, help_text="Points of a breached SLA.")
    rules_cap = models.FloatField(
        default=2.0, help_text="Most points the matching rules add together."
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = "scoring weights"
        verbose_name_plural = "scoring weights"

    def __str__(self) -> str:
        return f"Scoring weights of {self.organization}"


class AutomationRule(models.Model):
    """An automation: when `trigger` fires for a ticket (an event, or `time` on each
    periodic scan) and the ticket meets `conditions`, apply `actions`.

    conditions: {"all": [condition, ...], "any": [condition, ...]}; a condition is
    {"field", "operator", "value"}. Every `all` must hold, and one of `any` when it is
    not empty. actions: [{"type", "value"}, ...]. The shapes, fields, operators and
    action types are defined and validated by rules.automation.schema; rules run in
    `position` order and `stop_processing` ends a run after this one matched.
    """

    class Trigger(models.TextChoices):
        TICKET_CREATED = "ticket.created"
        TICKET_UPDATED = "ticket.updated"
        MESSAGE_CUSTOMER = "message.customer", "a customer message"
        MESSAGE_AGENT = "message.agent", "an agent reply"
        TICKET_ASSIGNED = "ticket.assigned"
        SLA_AT_RISK = "sla.at_risk"
        SLA_BREACHED = "sla.breached"
        TIME = "time", "time (checked periodically)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="automation_rules"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    position = models.IntegerField(default=0, help_text="Lower runs first.")
    stop_processing = models.BooleanField(
        default=False, help_text="When this rule acts, the rules after it do not run."
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Time rules' scan bookkeeping (rules.automation.engine), not part of the rule: the
    # moment the last scan looked up to, and when the rule last had a full scan.
    scanned_until = models.DateTimeField(null=True, blank=True, editable=False)
    full_scan_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(
        get_user=history_user, excluded_fields=["scanned_until", "full_scan_at"]
    )

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="automation_name_unique_per_org"
            ),
            models.CheckConstraint(
                condition=Q(
                    trigger__in=[
                        "ticket.created",
                        "ticket.updated",
                        "message.customer",
                        "message.agent",
                        "ticket.assigned",
                        "sla.at_risk",
                        "sla.breached",
                        "time",
                    ]
                ),
                name="automation_trigger_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "trigger", "position"],
                condition=Q(active=True),
                name="automation_active_idx",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RuleRun(models.Model):
    """One execution of an automation on a ticket: what it did, or why it failed.

    Event runs are unique per rule and event (the outbox may run a handler twice); time
    runs per rule, ticket and `period_key`, the moment the ticket qualified (so a rule
    acts once per ticket per qualifying period, whatever the number of scans)."""

    class Outcome(models.TextChoices):
        APPLIED = "applied"
        FAILED = "failed"
        LOOP_STOPPED = "loop_stopped", "stopped (automation chain too deep)"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="runs")
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="automation_runs"
    )
    trigger = models.CharField(max_length=20)
    event = models.ForeignKey(
        "tickets.TicketEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="automation_runs",
    )
    period_key = models.CharField(max_length=64, blank=True)
    depth = models.PositiveSmallIntegerField(default=0)
    actions = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "event"],
                condition=Q(event__isnull=False),
                name="rule_run_once_per_event",
            ),
            models.UniqueConstraint(
                fields=["rule", "ticket", "period_key"],
                condition=Q(trigger="time"),
                name="rule_run_once_per_period",
            ),
        ]
        indexes = [
            models.Index(fields=["rule", "-created_at"], name="rule_run_rule_idx"),
            models.Index(fields=["ticket", "-created_at"], name="rule_run_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.ticket_id}: {self.outcome}"


class Macro(models.Model):
    """A canned reply with placeholders ({{customer.name}}, {{customer.first_name}},
    {{ticket.number}}, {{ticket.subject}}, {{agent.name}}, {{organization.name}}) and
    optional actions (the automation action types)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="macros")
    name = models.CharField(max_length=120)
    body = models.TextField(blank=True)
    actions = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    usage_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="macro_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name
