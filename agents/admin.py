from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm

from agents import roles
from agents.admin_history import ScopedHistoryAdmin
from agents.admin_scoping import OrganizationScopedAdmin
from agents.models import Agent, ApiKey, Organization, Skill, Team
from agents.services import agent_role_sync, api_key_create, api_key_revoke


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_lookup = "id"
    list_display = ["name", "slug", "timezone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_readonly_fields(self, request, obj=None):
        # The slug is how scripts and API keys name the tenant: only operators change it.
        return [] if request.user.is_superuser else ["slug"]


@admin.register(Team)
class TeamAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "description"]
    list_filter = ["organization"]
    search_fields = ["name"]


@admin.register(Skill)
class SkillAdmin(OrganizationScopedAdmin):
    """Tags and channels are JSON lists, e.g. ["es"] and ["phone"]; the routing app's
    admin checks channels against the ticket channels and tidies the tags."""

    list_display = ["name", "organization", "tags", "channels"]
    list_filter = ["organization"]
    search_fields = ["name", "description"]
    fields = ["organization", "name", "description", "tags", "channels"]


class AgentCreationForm(BaseUserCreationForm):
    class Meta:
        model = Agent
        fields = ("email", "name", "organization", "role")


class AgentChangeForm(UserChangeForm):
    class Meta:
        model = Agent
        fields = "__all__"


@admin.register(Agent)
class AgentAdmin(OrganizationScopedAdmin, UserAdmin, ScopedHistoryAdmin):
    form = AgentChangeForm
    add_form = AgentCreationForm
    ordering = ["name", "email"]
    list_display = [
        "email",
        "name",
        "organization",
        "role",
        "availability",
        "capacity",
        "team_names",
        "is_active",
    ]
    list_filter = ["organization", "role", "availability", "is_active", "teams"]
    search_fields = ["email", "name"]
    filter_horizontal = ["teams", "skills", "groups", "user_permissions"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password", "name", "organization"]}),
        ("Work", {"fields": ["role", "availability", "capacity", "teams", "skills"]}),
        ("Access", {"fields": ["is_active", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "name", "organization", "role", "password1", "password2"],
            },
        )
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("teams")

    @admin.display(description="Teams")
    def team_names(self, obj):
        return ", ".join(t.name for t in obj.teams.all())

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # Privileges beyond the role are the platform operator's business.
        hidden = {"is_superuser", "groups", "user_permissions"}
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
            for name, opts in fieldsets
        ]

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not request.user.is_superuser:
            # Nobody grants a role above their own.
            rank = roles.ROLE_RANK.get(request.user.role, 0)
            kwargs["choices"] = [
                (value, label)
                for value, label in roles.ROLE_CHOICES
                if roles.ROLE_RANK[value] <= rank
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            if obj.is_superuser or roles.ROLE_RANK[obj.role] > roles.ROLE_RANK[request.user.role]:
                return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        agent_role_sync(agent=form.instance)


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["organization", "name", "role"]


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "organization",
        "prefix",
        "role",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["organization", "role"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "organization",
            "name",
            "role",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role":
            kwargs["choices"] = [
                (v, label) for v, label in roles.ROLE_CHOICES if v in (roles.AGENT, roles.MANAGER)
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            return  # keys are immutable; revoke and create a new one instead
        organization = obj.organization if request.user.is_superuser else request.user.organization
        key, raw = api_key_create(
            organization=organization, name=obj.name, role=obj.role, actor=request.user
        )
        obj.pk = key.pk
        obj._state.adding = False
        messages.warning(
            request,
            f"API key {key.name!r} created. Copy it now; it will not be shown again: {raw}",
        )

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(api_key=key, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")
