"""SLA: business calendars, policies, per-ticket clocks and their events."""

import uuid

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from agents.history import history_user
from agents.models import Organization, Team, validate_timezone
from tickets.models import Ticket

METRICS = ["first_response", "next_response", "resolution"]
METRIC_CHOICES = [(m, m.replace("_", " ")) for m in METRICS]


class BusinessCalendar(models.Model):
    """Working hours in a timezone, with holidays; or 24/7 (`always_open`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="business_calendars"
    )
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    always_open = models.BooleanField(default=False, help_text="24/7: hours are ignored.")
    holiday_country = models.CharField(
        max_length=8, blank=True, help_text="ISO country code for public holidays, e.g. US."
    )
    holiday_subdivision = models.CharField(
        max_length=16, blank=True, help_text="State or region code, e.g. NY."
    )
    # Hours and holidays in one JSON snapshot (sla.calendars), so computing a deadline
    # needs no query beyond the calendar row itself.
    spec = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(get_user=history_user, excluded_fields=["spec"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="calendar_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({'24/7' if self.always_open else self.timezone})"


class BusinessHours(models.Model):
    """One working interval of a weekday, local time (several per day allowed)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday … 6 = Sunday")
    start_minute = models.PositiveSmallIntegerField(help_text="Minutes after midnight")
    end_minute = models.PositiveSmallIntegerField(help_text="Minutes after midnight (≤ 1440)")

    class Meta:
        ordering = ["weekday", "start_minute"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="hours_weekday_valid"),
            models.CheckConstraint(
                condition=Q(end_minute__gt=models.F("start_minute")) & Q(end_minute__lte=1440),
                name="hours_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday}: {self.start_minute}-{self.end_minute}"


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SLAPolicy(models.Model):
    """Targets for tickets matching priorities, channels and customer tiers (empty = any).

    The first matching active policy by `position` applies. `escalation` is a list of
    steps: {"on": "at_risk"|"breached", "metric": "any"|<metric>, "raise_priority": bool,
    "escalate": bool, "assign_team": <team id>|null, "assign_manager": bool}.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sla_policies"
    )
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    priorities = models.JSONField(default=list, blank=True)
    channels = models.JSONField(default=list, blank=True)
    customer_tiers = models.JSONField(default=list, blank=True)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="policies",
        help_text="Empty: 24/7.",
    )
    pause_on_pending = models.JSONField(
        default=list, blank=True, help_text='Metrics paused while pending, e.g. ["resolution"].'
    )
    at_risk_percent = models.PositiveSmallIntegerField(default=80)
    escalation = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="policy_name_unique"),
            models.CheckConstraint(
                condition=Q(at_risk_percent__gte=1) & Q(at_risk_percent__lte=100),
                name="policy_at_risk_percent_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "active", "position"], name="policy_match_idx")
        ]

    def __str__(self) -> str:
        return self.name

    def target_minutes(self, metric: str) -> int | None:
        return getattr(self, f"{metric}_minutes")


class SLAClock(models.Model):
    """One metric's clock on one ticket (next response has one clock per cycle).

    Business time consumed is `consumed_seconds` plus, while active, the business time
    since `segment_started_at`. `due_at` and `at_risk_due_at` are set while active
    (NULL while paused) and indexed for the scan.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        MET = "met"
        BREACHED = "breached"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    policy = models.ForeignKey(SLAPolicy, on_delete=models.SET_NULL, null=True, related_name="+")
    metric = models.CharField(max_length=20, choices=METRIC_CHOICES)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Open until fulfilled (or stopped): a breached clock stays open until the reply.
    is_open = models.BooleanField(default=True)
    target_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    segment_started_at = models.DateTimeField(null=True, blank=True)
    consumed_seconds = models.FloatField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    at_risk_due_at = models.DateTimeField(null=True, blank=True)
    at_risk_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ticket", "metric", "started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "metric"],
                condition=Q(is_open=True),
                name="clock_one_open_per_metric",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "paused", "met", "breached"]),
                name="clock_status_valid",
            ),
            models.CheckConstraint(condition=Q(metric__in=METRICS), name="clock_metric_valid"),
        ]
        indexes = [
            # The breach scan: active clocks by due time (partial, stays small).
            models.Index(fields=["due_at"], condition=Q(status="active"), name="clock_due_idx"),
            models.Index(
                fields=["at_risk_due_at"],
                condition=Q(status="active", at_risk_at__isnull=True),
                name="clock_at_risk_due_idx",
            ),
            models.Index(fields=["ticket", "is_open"], name="clock_ticket_idx"),
            models.Index(fields=["policy", "metric", "started_at"], name="clock_report_idx"),
            # Reports (analytics): the clocks met or breached in a period.
            models.Index(
                fields=["organization", "met_at"],
                condition=Q(met_at__isnull=False),
                name="clock_org_met_idx",
            ),
            models.Index(
                fields=["organization", "breached_at"],
                condition=Q(breached_at__isnull=False),
                name="clock_org_breached_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric} of {self.ticket_id} ({self.status})"


class SLAEvent(models.Model):
    """A clock transition (at risk, breached, met, paused, resumed, …): append-only.
    At-risk and breach are unique per clock, so scans never write them twice."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_events")
    clock = models.ForeignKey(SLAClock, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["clock", "kind"],
                condition=Q(
                    kind__in=["at_risk", "breached", "escalated_at_risk", "escalated_breached"]
                ),
                name="sla_event_once_per_clock",
            )
        ]
        indexes = [models.Index(fields=["ticket", "-created_at"], name="sla_event_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.clock_id}"


class SLANotification(models.Model):
    """Someone should know: an escalation's notice to an agent or a team."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    clock = models.ForeignKey(SLAClock, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.message
