"""Automation rules and their runs in the admin (macros: rules/macro_admin.py). The form
validates the rule as the API does (rules.automation.schema): an error names the path, on
the field it belongs to."""

import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from agents.admin_history import ScopedHistoryAdmin
from agents.admin_scoping import OrganizationScopedAdmin
from agents.exceptions import DomainError
from rules.automation.schema import rule_validate
from rules.automation_services import (
    AUTOMATION_FIELDS,
    automation_create,
    automation_delete,
    automation_update,
)
from rules.models import AutomationRule, RuleRun

EXAMPLE_CONDITIONS = (
    '{"all": [{"field": "subject", "operator": "contains", "value": "refund"}], '
    '"any": [{"field": "channel", "operator": "is", "value": "email"}]}'
)
EXAMPLE_ACTIONS = (
    '[{"type": "set_priority", "value": "high"}, {"type": "add_tags", "value": ["refund"]}]'
)


class AutomationRuleForm(forms.ModelForm):
    class Meta:
        model = AutomationRule
        fields = ["organization", *AUTOMATION_FIELDS]
        help_texts = {
            "conditions": f"JSON, e.g. {EXAMPLE_CONDITIONS}",
            "actions": f"JSON, e.g. {EXAMPLE_ACTIONS}",
        }

    def __init__(self, *args, organization_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._organization_id = organization_id

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization")
        organization_id = self._organization_id or (organization.pk if organization else None)
        if organization_id is None or "trigger" not in cleaned or self.errors:
            return cleaned
        try:
            cleaned["conditions"], cleaned["actions"] = rule_validate(
                organization_id=organization_id,
                trigger=cleaned["trigger"],
                conditions=cleaned.get("conditions") or {},
                actions=cleaned.get("actions"),
            )
        except DomainError as exc:
            path = exc.field or ""
            target = next(
                (f for f in ("conditions", "actions", "trigger") if path.startswith(f)), None
            )
            self.add_error(target, f"{path}: {exc.detail}" if path else exc.detail)
        return cleaned


@admin.register(AutomationRule)
class AutomationRuleAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    """Automations: saved through rules.automation_services (validated, recorded)."""

    form = AutomationRuleForm
    list_display = ["position", "name", "trigger", "active", "stop_processing", "updated_at"]
    list_display_links = ["name"]
    list_filter = ["trigger", "active"]
    search_fields = ["name", "description"]
    ordering = ["position", "name"]
    readonly_fields = ["recent_runs"]
    actions = ["activate", "deactivate"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        organization_id = None if request.user.is_superuser else request.user.organization_id

        class ScopedForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, organization_id=organization_id, **kw)

        return ScopedForm

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f != "recent_runs"]
        return [*fields, "recent_runs"] if obj is not None else fields

    @admin.display(description="Recent runs")
    def recent_runs(self, obj):
        runs = list(obj.runs.order_by("-created_at", "-id")[:10])
        if not runs:
            return "None yet."
        return format_html(
            "<ul>{}</ul>",
            format_html(
                "".join(
                    format_html(
                        "<li>{} · ticket {} · {} · {}</li>",
                        run.created_at.strftime("%Y-%m-%d %H:%M"),
                        run.ticket_id,
                        run.get_outcome_display(),
                        run.error or json.dumps(run.actions)[:200],
                    )
                    for run in runs
                )
            ),
        )

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in AUTOMATION_FIELDS if f in form.cleaned_data}
        if change:
            saved = automation_update(
                rule=AutomationRule.objects.get(pk=obj.pk), data=data, actor=request.user
            )
        else:
            organization = (
                form.cleaned_data["organization"]
                if request.user.is_superuser
                else request.user.organization
            )
            saved = automation_create(organization=organization, data=data, actor=request.user)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        automation_delete(rule=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            automation_delete(rule=rule, actor=request.user)

    @admin.action(description="Activate selected automations", permissions=["change"])
    def activate(self, request, queryset):
        for rule in queryset:
            automation_update(rule=rule, data={"active": True}, actor=request.user)

    @admin.action(description="Deactivate selected automations", permissions=["change"])
    def deactivate(self, request, queryset):
        for rule in queryset:
            automation_update(rule=rule, data={"active": False}, actor=request.user)


@admin.register(RuleRun)
class RuleRunAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    """Every execution of an automation (read-only)."""

    list_display = ["created_at", "rule", "ticket", "trigger", "outcome", "depth", "short_error"]
    list_filter = ["outcome", "trigger"]
    list_select_related = ["rule", "ticket"]
    search_fields = ["rule__name", "ticket__subject", "error"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Error")
    def short_error(self, obj):
        return (obj.error or "")[:120]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
