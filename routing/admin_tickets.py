"""The ticket admin, extended by routing: the assignment history on the ticket page and
the assign, transfer and route actions (the same services as the API)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.html import format_html

from agents.exceptions import DomainError
from agents.models import Agent, Team
from routing.services import ticket_assign_manual, ticket_route
from tickets.models import Assignment, Ticket


class AssignmentInline(admin.TabularInline):
    """Who the ticket moved from and to, by whom, how and why (read-only)."""

    model = Assignment
    fk_name = "ticket"
    extra = 0
    can_delete = False
    verbose_name = "assignment"
    verbose_name_plural = "Assignment history"
    fields = ["created_at", "kind", "from_agent", "to_agent", "to_team", "by", "reason", "why"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("from_agent", "to_agent", "to_team", "by")
        )

    @admin.display(description="why this agent")
    def why(self, obj):
        explanation = obj.explanation or {}
        skipped = [
            f"{c['name']}: {c.get('detail') or c.get('skipped')}"
            for c in explanation.get("candidates", [])
            if c.get("skipped")
        ]
        return format_html(
            "{}<br><small>{}</small>",
            explanation.get("why", "") + (" (over capacity)" if obj.capacity_overridden else ""),
            "; ".join(skipped),
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
        # The history inline (AssignmentInline) waits until the ticket form's tests post
        # its management form; the API serves the history meanwhile.
        inlines = list(base.inlines)
        actions = [*base.actions, "assign_to_agent", "transfer_to", "route_now"]

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
