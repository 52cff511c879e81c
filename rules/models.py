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
