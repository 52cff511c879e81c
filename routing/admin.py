"""The routing app's admin: a team's routing settings edited on the team's page, and
skills checked against the ticket channels (the agents app cannot import tickets)."""

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from agents.admin import SkillAdmin, TeamAdmin
from agents.exceptions import DomainError
from agents.models import Skill, Team
from routing.models import TeamRouting
from routing.team_services import skill_channels_clean, skill_tags_clean, team_routing_set
from sla.models import BusinessCalendar


class TeamRoutingFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        organization_id = self.instance.organization_id
        for form in self.forms:
            calendar = getattr(form, "cleaned_data", {}).get("calendar")
            if calendar is not None and calendar.organization_id != organization_id:
                form.add_error("calendar", "Choose a calendar of the team's organization.")


class TeamRoutingInline(admin.StackedInline):
    """How the team's tickets reach its agents (no row: manual, keep, always open)."""

    model = TeamRouting
    formset = TeamRoutingFormSet
    fields = ["strategy", "calendar", "on_agent_away", "is_default"]
    can_delete = False
    extra = 1
    max_num = 1
    verbose_name_plural = "routing"

    def get_formset(self, request, obj=None, **kwargs):
        formset_class = super().get_formset(request, obj, **kwargs)
        if request.user.is_superuser:
            organization_id = obj.organization_id if obj is not None else None
        else:
            organization_id = request.user.organization_id
        if organization_id is None:
            return formset_class  # a new team of any organization: checked on save

        class ScopedForm(formset_class.form):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                if "calendar" in self.fields:
                    self.fields["calendar"].queryset = BusinessCalendar.objects.filter(
                        organization_id=organization_id
                    )

        formset_class.form = ScopedForm
        return formset_class


admin.site.unregister(Team)


@admin.register(Team)
class TeamWithRoutingAdmin(TeamAdmin):
    inlines = [TeamRoutingInline]
    list_display = [*TeamAdmin.list_display, "strategy"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("routing")

    @admin.display(description="Routing")
    def strategy(self, obj):
        try:
            return obj.routing.get_strategy_display()
        except Team.routing.RelatedObjectDoesNotExist:
            return "manual"

    def save_formset(self, request, form, formset, change):
        if formset.model is not TeamRouting:
            return super().save_formset(request, form, formset, change)
        # The rows as edited, not saved: the service saves them (clearing the previous
        # default team, recording who changed what).
        for routing in formset.save(commit=False):
            team_routing_set(
                team=form.instance,
                actor=request.user,
                strategy=routing.strategy,
                calendar_id=routing.calendar_id,
                on_agent_away=routing.on_agent_away,
                is_default=routing.is_default,
            )


class SkillForm(forms.ModelForm):
    class Meta:
        model = Skill
        fields = ["organization", "name", "description", "tags", "channels"]
        help_texts = {
            "tags": 'Ticket tags that require the skill, as a JSON list: ["es"].',
            "channels": 'Ticket channels that require the skill, as a JSON list: ["phone"].',
        }

    def _list(self, name, clean):
        value = self.cleaned_data.get(name)
        if value in (None, ""):
            return []
        if not isinstance(value, list):
            raise forms.ValidationError('A JSON list, such as ["es"].')
        try:
            return clean(value)
        except DomainError as exc:
            raise forms.ValidationError(exc.detail) from None

    def clean_tags(self):
        return self._list("tags", skill_tags_clean)

    def clean_channels(self):
        return self._list("channels", skill_channels_clean)


admin.site.unregister(Skill)


@admin.register(Skill)
class CheckedSkillAdmin(SkillAdmin):
    form = SkillForm


# The ticket page gains the assignment history and the assign/transfer/route actions.
from routing.admin_tickets import register as _register_ticket_admin  # noqa: E402

_register_ticket_admin()
