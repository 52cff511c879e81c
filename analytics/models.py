"""The daily roll-up behind the reports: what the raw tables say about each closed day,
kept so that a 90-day report reads thousands of rows instead of millions.

- `DailyFigures`: a day's additive counts for the organization, each agent and each
  team (the figures of analytics.figures, one row per group and day).
- `ResponseTime`: each first response and resolution of the day with its duration,
  so that percentiles over any period stay exact (they cannot be summed).
- `RollupState`: per organization, the last day rolled up. Days after it (today,
  always) are computed live from the raw tables by the same code.

Written only by analytics.rollup (set-based), read only by analytics.selectors.

Both fact tables are derived, like a materialized view: their foreign keys have no
database constraint (`db_constraint=False`). A constraint checks each inserted row with
a trigger at commit; a first build at 1,000,000 tickets writes 400,000 facts a year,
and the commit of each year took 30 s of its 84 s for those checks alone (bench/README,
"Fifth pass"). Deleting a ticket, an agent, a team or an organization still deletes
their facts (Django's CASCADE), and a rebuild writes them again from the raw tables.
"""

from django.db import models

from agents.models import Agent, Organization, Team


class GroupKind(models.TextChoices):
    ORGANIZATION = "organization"
    AGENT = "agent"
    TEAM = "team"


class DailyFigures(models.Model):
    """One day's figures of one group: the organization (agent and team empty), an
    agent (the ticket's assignee, the reply's author) or a team (the ticket's team)."""

    # Indexed first in daily_figures_idx, which serves its lookups too.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    day = models.DateField()
    kind = models.CharField(max_length=12, choices=GroupKind.choices)
    agent = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    created = models.PositiveIntegerField(default=0)
    assigned = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    replied_tickets = models.PositiveIntegerField(default=0)
    first_responses = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    sla_met = models.PositiveIntegerField(default=0)
    sla_breached = models.PositiveIntegerField(default=0)
    csat_sum = models.PositiveIntegerField(default=0)
    csat_count = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    resolutions = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "daily figures"
        indexes = [models.Index(fields=["organization", "kind", "day"], name="daily_figures_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="organization", agent__isnull=True, team__isnull=True)
                    | models.Q(kind="agent", agent__isnull=False, team__isnull=True)
                    | models.Q(kind="team", agent__isnull=True, team__isnull=False)
                ),
                name="daily_figures_group_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.agent_id or self.team_id or ''}".strip()


class ResponseTime(models.Model):
    """A ticket's first response or resolution on `day`, with how long it took:
    business seconds when an SLA clock measured it (`business`), else calendar time."""

    class Metric(models.TextChoices):
        FIRST_RESPONSE = "first_response"
        RESOLUTION = "resolution"

    # Indexed first in response_time_period_idx, which serves its lookups too: one index
    # fewer to write for each of the roll-up's facts.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    day = models.DateField()
    metric = models.CharField(max_length=16, choices=Metric.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    agent = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    seconds = models.FloatField()
    business = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # A period's values, read index-only on PostgreSQL.
            models.Index(
                fields=["organization", "metric", "day"],
                include=["agent", "team", "seconds", "business"],
                name="response_time_period_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.ticket_id} {self.seconds:.0f}s"


class RollupState(models.Model):
    """Days up to `rolled_through` (in the organization's time zone) are in the roll-up."""

    organization = models.OneToOneField(
        Organization, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    rolled_through = models.DateField(null=True, blank=True)
    # The time zone the days were cut in: a roll-up in another one is not used.
    timezone = models.CharField(max_length=64, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rolled up through {self.rolled_through}"
