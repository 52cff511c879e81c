from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from agents.history import history_user
from agents.models import Agent, Organization, Team
from sla.models import BusinessCalendar


class Strategy(models.TextChoices):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    SKILLS = "skills"


class AwayPolicy(models.TextChoices):
    KEEP = "keep"
    REDISTRIBUTE = "redistribute"
    RETURN_TO_QUEUE = "return_to_queue"


class TeamRouting(models.Model):
    """How a team's tickets reach its agents. One row per team; a team without one routes
    manually, keeps an away agent's tickets and works around the clock."""

    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, primary_key=True, related_name="routing"
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.MANUAL)
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="teams",
        help_text="The team's working hours; empty means always.",
    )
    on_agent_away = models.CharField(
        max_length=16, choices=AwayPolicy.choices, default=AwayPolicy.KEEP
    )
    is_default = models.BooleanField(
        default=False, help_text="New tickets that name no team go to this team."
    )
    # Round-robin's persisted pointer: the agent who got the team's last ticket.
    last_agent = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(get_user=history_user, excluded_fields=["last_agent"])

    class Meta:
        verbose_name = "team routing"
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True),
                name="one_default_team_per_org",
            ),
            models.CheckConstraint(
                condition=Q(strategy__in=["manual", "round_robin", "least_loaded", "skills"]),
                name="team_routing_strategy_valid",
            ),
            models.CheckConstraint(
                condition=Q(on_agent_away__in=["keep", "redistribute", "return_to_queue"]),
                name="team_routing_away_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team} ({self.strategy})"
