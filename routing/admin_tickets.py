"""The ticket admin, extended by routing: the assignment history on the ticket page and
the assign, transfer and route actions (the same services as the API)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from agents.exceptions import DomainError
from agents.models import Agent, Team
from routing.selectors import assignments_for_ticket
from routing.services import ticket_assign_manual, ticket_route
from tickets.models import Assignment, Ticket


def _why(assignment: Assignment) -> str:
    """The routing explanation in one line, and who was skipped and why."""
    explanation = assignment.explanation or {}
    why = explanation.get("why", "") + (
        " (over capacity)" if assignment.capacity_overridden else ""
    )
    skipped = "; ".join(
        f"{c['name']}: {c.get('detail') or c.get('skipped')}"
        for c in explanation.get("candidates", [])
        if c.get("skipped")
    )
    return format_html("{}<br><small>{}</small>", why, skipped) if skipped else why


HISTORY_COLUMNS = ("When", "Reason", "From", "To", "Team", "By", "Note", "Why this agent")


def assignment_history_table(ticket: Ticket) -> str:
    """The ticket's assignments, newest first, as a read-only table (one query)."""
    rows = assignments_for_ticket(ticket=ticket)
    if not rows:
        return "No assignment yet."
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td></tr>",
        (
            (
                date_format(localtime(a.created_at), "DATETIME_FORMAT"),
                a.get_kind_display(),
                a.from_agent or "-",
                a.to_agent or "-",
                a.to_team or "-",
                a.by or "system",
                a.reason,
                _why(a),
            )
            for a in rows
        ),
    )
    head = format_html_join("", "<th>{}</th>", ((c,) for c in HISTORY_COLUMNS))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


class AssignForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    reason = forms.CharField(max_length=200, required=False)
    override_capacity = forms.BooleanField(
        required=False, help_text="Managers only; say why in the reason."
    )

    def __init__(self, *args, organization_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        agents = Agent.objects.filter(is_active=True).exclude(organization=None)
        teams = Team.objects.all()
        if organization_id is not None:
            agents = agents.filter(organization_id=organization_id)
            teams = teams.filter(organization_id=organization_id)
        self.fields["agent"].queryset = agents.order_by("name", "email")
        self.fields["team"].queryset = teams.order_by("name")

    def clean(self):
        data = super().clean()
        if not data.get("agent") and not data.get("team"):
            raise forms.ValidationError("Choose an agent, a team, or both.")
        return data


def routing_ticket_admin(base: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    """The registered ticket admin with routing's inline and actions added."""

    class RoutingTicketAdmin(base):
        actions = [*base.actions, "assign_to_agent", "transfer_to", "route_now"]

        def get_readonly_fields(self, request, obj=None):
            return [*super().get_readonly_fields(request, obj), "assignment_history"]

        def get_fieldsets(self, request, obj=None):
            fieldsets = list(super().get_fieldsets(request, obj))
            if obj is None:
                return fieldsets
            return [
                *fieldsets,
                ("Assignment history", {"fields": ["assignment_history"]}),
            ]

        @admin.display(description="Assignments (newest first)")
        def assignment_history(self, obj):
            return assignment_history_table(obj)

        def _assign_action(self, request, queryset, *, transfer: bool):
            organization_id = None if request.user.is_superuser else request.user.organization_id
            title = "Transfer tickets" if transfer else "Assign tickets"
            if "apply" in request.POST:
                form = AssignForm(request.POST, organization_id=organization_id)
                if form.is_valid():
                    data = form.cleaned_data
                    self._each(
                        request,
                        queryset,
                        "Transferred" if transfer else "Assigned",
                        lambda t: ticket_assign_manual(
                            ticket=t,
                            agent_id=data["agent"].pk if data["agent"] else None,
                            team_id=data["team"].pk if data["team"] else None,
                            actor=request.user,
                            reason=data["reason"] or f"{title.lower()} (admin)",
                            override_capacity=data["override_capacity"],
                            transfer=transfer,
                        ),
                    )
                    return None
            else:
                form = AssignForm(organization_id=organization_id)
            context = {
                **self.admin_site.each_context(request),
                "title": title,
                "form": form,
                "queryset": queryset,
                "opts": self.model._meta,
                "action": "transfer_to" if transfer else "assign_to_agent",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/routing/assign_action.html", context)

        @admin.action(description="Assign to an agent or team…", permissions=["change"])
        def assign_to_agent(self, request, queryset):
            return self._assign_action(request, queryset, transfer=False)

        @admin.action(description="Transfer to another agent or team…", permissions=["change"])
        def transfer_to(self, request, queryset):
            return self._assign_action(request, queryset, transfer=True)

        @admin.action(description="Route now by the team's strategy", permissions=["change"])
        def route_now(self, request, queryset):
            outcomes = {"assigned": 0, "queued": 0}
            for ticket in queryset.order_by("pk"):
                try:
                    result = ticket_route(ticket=ticket, actor=request.user, trigger="on_demand")
                except DomainError as exc:
                    self.message_user(request, f"{ticket}: {exc.detail}", messages.WARNING)
                    continue
                outcomes[result.outcome] += 1
                if result.outcome == "queued":
                    why = result.explanation.get("why", "")
                    self.message_user(request, f"{ticket}: queued. {why}", messages.WARNING)
            self.message_user(
                request,
                f"Routed {outcomes['assigned']} ticket(s); {outcomes['queued']} stay queued.",
                messages.SUCCESS,
            )

    RoutingTicketAdmin.__name__ = base.__name__
    RoutingTicketAdmin.__qualname__ = base.__qualname__
    return RoutingTicketAdmin


def register() -> None:
    base = type(admin.site._registry[Ticket])
    admin.site.unregister(Ticket)
    admin.site.register(Ticket, routing_ticket_admin(base))
