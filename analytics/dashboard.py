"""The manager dashboard's own figures (issue 13): the open queue by priority and SLA
state, each team's workload against its capacity, and daily trends over a period.

Every figure is an aggregate query (GROUP BY in the database, a fixed number of queries
whatever the number of tickets); Python only reshapes the few grouped rows. The agent
table comes from `analytics.selectors.agent_metrics`, shared with the analytics API.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from agents.models import Agent, Team
from analytics.selectors import DEFAULT_DAYS, MAX_DAYS, Period, daily_counts
from tickets import lifecycle
from tickets.models import Priority, SlaStatus, Ticket

# The analytics API's limits (analytics.selectors), so both answer alike.
PERIOD_DEFAULT_DAYS = DEFAULT_DAYS
PERIOD_MAX_DAYS = MAX_DAYS

# Most pressing first: rows of the queue table, columns of the SLA states.
PRIORITY_ORDER = [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW]
SLA_STATE_ORDER = [
    SlaStatus.BREACHED,
    SlaStatus.AT_RISK,
    SlaStatus.ACTIVE,
    SlaStatus.PAUSED,
    SlaStatus.NONE,
]


class DashboardPeriodForm(forms.Form):
    """The period (inclusive dates, in the organization's time zone) and an optional team.

    Both dates may be left out: `end` is then today, `start` `PERIOD_DEFAULT_DAYS` days
    before `end` (as in the analytics API).
    """

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="All teams"
    )

    def __init__(self, data=None, *, organization_id, today: date, initial=None):
        super().__init__(data, initial=initial)
        self.today = today
        self.fields["team"].queryset = Team.objects.filter(
            organization_id=organization_id
        ).order_by("name")

    def clean(self):
        cleaned = super().clean()
        if "start" not in cleaned or "end" not in cleaned:
            return cleaned  # a date that did not parse already has its error
        start, end = cleaned["start"], cleaned["end"]
        span = timedelta(days=PERIOD_DEFAULT_DAYS - 1)
        if end is None:
            end = self.today
        if start is None:
            start = end - span
        if start > end:
            raise ValidationError(
                f"The start date ({start:%Y-%m-%d}) is after the end date ({end:%Y-%m-%d})."
            )
        if end > self.today:
            raise ValidationError(
                f"The end date ({end:%Y-%m-%d}) is in the future; today is {self.today:%Y-%m-%d}."
            )
        if (end - start).days + 1 > PERIOD_MAX_DAYS:
            raise ValidationError(
                f"The period is {(end - start).days + 1} days long; "
                f"it may be at most {PERIOD_MAX_DAYS} days."
            )
        cleaned["start"], cleaned["end"] = start, end
        return cleaned


def period_bounds(*, start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the organization's time zone."""
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def _active_tickets(*, organization_id, team_id=None):
    tickets = Ticket.objects.filter(
        organization_id=organization_id, status__in=lifecycle.ACTIVE_STATUSES
    )
    if team_id:
        tickets = tickets.filter(team_id=team_id)
    return tickets


def dashboard_queue(*, organization_id, team_id=None) -> dict:
    """The open queue (open, in progress, pending) counted by priority and SLA state.

    One query. Returns {"states": [(value, label)], "rows": [{"priority", "label",
    "cells": [count per state], "total"}], "column_totals", "total", "unassigned",
    "breached", "at_risk"}.
    """
    grouped = (
        _active_tickets(organization_id=organization_id, team_id=team_id)
        .order_by()
        .values("priority", "sla_status")
        # Columns of ticket_open_grid_idx only, so PostgreSQL reads the index alone.
        .annotate(n=Count("*"), unassigned=Count("priority", filter=Q(assignee__isnull=True)))
    )
    grid = {(row["priority"], row["sla_status"]): row["n"] for row in grouped}
    unassigned = sum(row["unassigned"] for row in grouped)
    rows = []
    for priority in PRIORITY_ORDER:
        cells = [grid.get((priority.value, state.value), 0) for state in SLA_STATE_ORDER]
        rows.append(
            {
                "priority": priority.value,
                "label": priority.label,
                "cells": cells,
                "total": sum(cells),
            }
        )
    column_totals = [sum(row["cells"][i] for row in rows) for i in range(len(SLA_STATE_ORDER))]
    by_state = dict(zip([s.value for s in SLA_STATE_ORDER], column_totals, strict=True))
    return {
        "states": [(state.value, state.label) for state in SLA_STATE_ORDER],
        "rows": rows,
        "column_totals": column_totals,
        "total": sum(column_totals),
        "unassigned": unassigned,
        "breached": by_state[SlaStatus.BREACHED.value],
        "at_risk": by_state[SlaStatus.AT_RISK.value],
    }


def dashboard_team_workload(*, organization_id, team_id=None) -> list[dict]:
    """Each team's workload against its capacity. Four grouped queries.

    capacity: the sum of its active members' capacities; assigned: open tickets assigned
    to its active members (an agent in two teams counts in both); queued: its unassigned
    open tickets; load: (assigned + queued) / capacity, in percent (None without capacity).
    """
    teams = Team.objects.filter(organization_id=organization_id)
    if team_id:
        teams = teams.filter(pk=team_id)
    rows = {
        team["pk"]: {
            **team,
            "member_count": 0,
            "available_count": 0,
            "capacity": 0,
            "assigned": 0,
            "queued": 0,
        }
        for team in teams.order_by("name", "pk").values("pk", "name")
    }
    members = Agent.teams.through.objects.filter(
        team_id__in=teams.values("pk"), agent__is_active=True
    ).values("team_id", "agent_id", "agent__capacity", "agent__availability")
    # By assignee among the organization's agents: the assignee index alone answers.
    open_by_agent = dict(
        Ticket.objects.filter(
            status__in=lifecycle.ACTIVE_STATUSES,
            assignee__in=Agent.objects.filter(organization_id=organization_id, is_active=True),
        )
        .order_by()
        .values_list("assignee_id")
        .annotate(n=Count("*"))
    )
    for member in members:
        row = rows[member["team_id"]]
        row["member_count"] += 1
        row["available_count"] += member["agent__availability"] == Agent.Availability.AVAILABLE
        row["capacity"] += member["agent__capacity"] or 0
        row["assigned"] += open_by_agent.get(member["agent_id"], 0)
    queued = (
        _active_tickets(organization_id=organization_id)
        .filter(assignee__isnull=True, team_id__in=list(rows))
        .order_by()
        .values_list("team_id")
        .annotate(n=Count("*"))
    )
    for team_pk, n in queued:
        rows[team_pk]["queued"] = n
    out = []
    for row in rows.values():
        workload = row["assigned"] + row["queued"]
        load = round(100 * workload / row["capacity"]) if row["capacity"] else None
        out.append({**row, "workload": workload, "load_percent": load})
    return out


def dashboard_trends(
    *, organization_id, start: date, end: date, tz: ZoneInfo, team_id=None
) -> list[dict]:
    """Per day of the period (organization's time zone): tickets created, resolved and
    first answered (analytics.selectors.daily_counts: the roll-up, then live); days
    without any are zeros.

    Resolved counts tickets whose resolved_at falls on that day (a reopened ticket loses
    it until resolved again; a rolled-up day keeps what it had when rolled up).
    """
    since, until = period_bounds(start=start, end=end, tz=tz)
    period = Period(start, end, str(tz), since, until)
    counts = daily_counts(organization_id=organization_id, period=period, team_id=team_id)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return [
        {
            "day": day,
            "created": counts[day]["created"] if day in counts else 0,
            "resolved": counts[day]["resolved"] if day in counts else 0,
            "first_responses": counts[day]["first_responses"] if day in counts else 0,
        }
        for day in days
    ]
