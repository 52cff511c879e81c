"""The manager dashboard, a page of the Django admin: /admin/dashboard/ (linked from the
admin index; quimbi_support/urls.py wraps it in `admin.site.admin_view`, which sends
anyone not logged in to the admin's login page).

Managers and admins see their own organization; agents are refused (403). A superuser
(the platform operator, no organization) picks one with `?organization=<id>`; without
it the page only offers the choice. Figures: analytics.dashboard (queue, workload,
trends) and analytics.selectors.agent_metrics (the agent table), read from the replica
when there is one (agents.replica).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import capfirst

from agents.models import Organization
from agents.replica import replica_reads
from analytics import charts
from analytics.dashboard import (
    DashboardPeriodForm,
    dashboard_queue,
    dashboard_team_workload,
    dashboard_trends,
)
from analytics.selectors import agent_metrics

TEMPLATE = "admin/analytics/dashboard.html"

SLA_COLORS = {
    "breached": "#ba2121",
    "at_risk": "#e08e0b",
    "active": "#2e7d32",
    "paused": "#7a7a7a",
    "": "#b8c4cc",
}


def _organization(request) -> tuple[Organization | None, list[dict]]:
    """The organization shown, and for a superuser the ones to choose from."""
    user = request.user
    if not user.is_superuser or user.organization_id:
        return user.organization, []
    choices = list(Organization.objects.order_by("name").values("pk", "name"))
    wanted = request.GET.get("organization")
    if not wanted:
        return None, choices
    try:
        return Organization.objects.filter(pk=wanted).first(), choices
    except ValidationError:  # not a UUID
        return None, choices


def _zone(organization: Organization) -> ZoneInfo:
    try:
        return ZoneInfo(organization.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _number(value, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}{suffix}"
    return f"{value}{suffix}"


def _percent(value) -> str:
    """A 0..1 ratio as a whole percentage."""
    return "—" if value is None else f"{round(100 * value)}%"


def agent_table(*, organization_id, start, end, team_id=None) -> list[dict]:
    """The agent table's rows: analytics.selectors.agent_metrics, formatted for display."""
    rows = []
    for m in agent_metrics(organization_id=organization_id, start=start, end=end, team_id=team_id):
        rows.append(
            {
                "name": m["name"] or m["email"],
                "email": m["email"],
                "open_load": m["open_load"],
                "capacity": m["capacity"],
                "assigned": m["assigned"],
                "replied_tickets": m["replied_tickets"],
                "replies": m["replies"],
                "resolved": m["resolved"],
                "first_response_p50": _number(m["first_response_p50_minutes"]),
                "first_response_p90": _number(m["first_response_p90_minutes"]),
                "resolution_p50": _number(m["resolution_p50_hours"]),
                "resolution_p90": _number(m["resolution_p90_hours"]),
                "sla_compliance": _percent(m["sla_compliance"]),
                "csat_average": _number(m["csat_average"], digits=2),
                "csat_count": m["csat_count"],
                "reopened": m["reopened"],
                "reopen_rate": _percent(m["reopen_rate"]),
            }
        )
    return rows


def dashboard(request):
    """The open queue, team workload, the agent table and trends over a period."""
    user = request.user
    if not getattr(user, "is_manager", False):
        raise PermissionDenied("The dashboard is for managers and admins.")
    organization, organizations = _organization(request)
    context = {
        **admin.site.each_context(request),
        "title": "Manager dashboard",
        "organization": organization,
        "organizations": organizations,
        "chosen_organization": request.GET.get("organization", ""),
    }
    if organization is None:
        return TemplateResponse(request, TEMPLATE, context)

    tz = _zone(organization)
    today = timezone.now().astimezone(tz).date()
    form = DashboardPeriodForm(request.GET, organization_id=organization.pk, today=today)
    context["form"] = form
    if not form.is_valid():
        return TemplateResponse(request, TEMPLATE, context)

    start, end, team = (
        form.cleaned_data["start"],
        form.cleaned_data["end"],
        form.cleaned_data["team"],
    )
    team_id = team.pk if team else None
    # Shown again with the period as resolved (the defaults filled in).
    context["form"] = DashboardPeriodForm(
        initial={"start": start, "end": end, "team": team_id},
        organization_id=organization.pk,
        today=today,
    )
    with replica_reads():  # the figures only; the admin around them reads the primary
        queue = dashboard_queue(organization_id=organization.pk, team_id=team_id)
        workload = dashboard_team_workload(organization_id=organization.pk, team_id=team_id)
        trends = dashboard_trends(
            organization_id=organization.pk, start=start, end=end, tz=tz, team_id=team_id
        )
        agents = agent_table(organization_id=organization.pk, start=start, end=end, team_id=team_id)
    totals = {
        key: sum(day[key] for day in trends) for key in ("created", "resolved", "first_responses")
    }
    days = [f"{day['day']:%m-%d}" for day in trends]
    context.update(
        start=start,
        end=end,
        team=team,
        queue=queue,
        workload=workload,
        trends=trends,
        trend_totals=totals,
        agents=agents,
        queue_chart=charts.bar_chart(
            title="Open tickets by priority and SLA state",
            labels=[row["label"] for row in queue["rows"]],
            series=[
                charts.Series(
                    capfirst(label),
                    [row["cells"][i] for row in queue["rows"]],
                    SLA_COLORS[value],
                )
                for i, (value, label) in enumerate(queue["states"])
            ],
        ),
        workload_chart=charts.bar_chart(
            title="Team workload against capacity",
            labels=[row["name"] for row in workload],
            series=[
                charts.Series("Capacity", [row["capacity"] for row in workload], "#9db4c0"),
                charts.Series("Workload", [row["workload"] for row in workload], "#417690"),
            ],
        )
        if workload
        else "",
        trend_chart=charts.line_chart(
            title=f"Daily tickets, {start:%Y-%m-%d} to {end:%Y-%m-%d}",
            labels=days,
            series=[
                charts.Series("Created", [d["created"] for d in trends], "#417690"),
                charts.Series("Resolved", [d["resolved"] for d in trends], "#2e7d32"),
                charts.Series("First responses", [d["first_responses"] for d in trends], "#e08e0b"),
            ],
        ),
    )
    return TemplateResponse(request, TEMPLATE, context)
