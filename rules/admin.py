from django import forms
from django.contrib import admin, messages

from agents.admin_history import ScopedHistoryAdmin
from agents.admin_scoping import OrganizationScopedAdmin
from agents.exceptions import DomainError
from rules import automation_admin, macro_admin  # noqa: F401  (register their models)
from rules.models import Rule, ScoringConfig
from rules.services import RULE_FIELDS, rescore_enqueue, rule_create, rule_delete, rule_update


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = [
            "organization",
            "name",
            "type",
            "keywords",
            "boost_amount",
            "active",
            "conditions",
        ]
        help_texts = {
            "keywords": 'A JSON list, e.g. ["refund", "charged twice"]; matched in the subject '
            "and messages, case-insensitive.",
            "conditions": 'vip: {"tiers": ["vip"], "min_ltv": 5000}; churn: '
            '{"min_churn_risk": 0.7}; time_sensitive: {"min_age_hours": 4}; custom: {}.',
        }


@admin.register(Rule)
class RuleAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    """Prioritization rules. Saving goes through rules.services: validated, recorded,
    and the organization's open tickets are rescored in the background."""

    form = RuleForm
    list_display = [
        "name",
        "type",
        "boost_amount",
        "active",
        "keyword_list",
        "organization",
        "updated_at",
    ]
    list_filter = ["type", "active", "organization"]
    search_fields = ["name"]
    actions = ["activate", "deactivate"]

    @admin.display(description="Keywords")
    def keyword_list(self, obj):
        return ", ".join(obj.keywords or [])

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data.get(f) for f in RULE_FIELDS if f in form.cleaned_data}
        try:
            if change:
                rule_update(rule=Rule.objects.get(pk=obj.pk), actor=request.user, **data)
            else:
                organization = (
                    form.cleaned_data["organization"]
                    if request.user.is_superuser
                    else request.user.organization
                )
                created = rule_create(organization=organization, actor=request.user, **data)
                obj.pk = created.pk
                obj._state.adding = False
        except DomainError as exc:
            messages.error(request, exc.detail)

    def delete_model(self, request, obj):
        rule_delete(rule=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            rule_delete(rule=rule, actor=request.user)

    @admin.action(description="Activate selected rules", permissions=["change"])
    def activate(self, request, queryset):
        for rule in queryset:
            rule_update(rule=rule, active=True, actor=request.user)

    @admin.action(description="Deactivate selected rules", permissions=["change"])
    def deactivate(self, request, queryset):
        for rule in queryset:
            rule_update(rule=rule, active=False, actor=request.user)


@admin.register(ScoringConfig)
class ScoringConfigAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    list_display = ["organization", "age_points_per_sqrt_hour", "intelligence_cap", "updated_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        rescore_enqueue(organization_id=obj.organization_id)
