"""Macros in the admin: managers and admins of the organization write them, agents read.

The form validates a macro as the API does (rules.macros.services.macro_validate): an
unknown placeholder is named on the body, a bad action by its path on the actions. The
change page shows the body rendered on a sample ticket. Saving and deleting go through
the services (recorded in the history); a macro that an automation rule uses cannot be
deleted (listed as protected, as Django lists protected related objects).
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from agents.admin_history import ScopedHistoryAdmin
from agents.admin_scoping import OrganizationScopedAdmin
from agents.exceptions import DomainError
from agents.models import Agent
from rules.macros.render import FALLBACKS, PLACEHOLDERS, macro_render
from rules.macros.services import (
    MACRO_FIELDS,
    macro_create,
    macro_delete,
    macro_update,
    macro_users,
    macro_validate,
)
from rules.models import Macro
from tickets.models import Customer, Ticket

EXAMPLE_ACTIONS = (
    '[{"type": "set_priority", "value": "high"}, {"type": "add_tags", "value": ["refund"]}]'
)
BODY_HELP = (
    "Plain text with these placeholders only: "
    + ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)
    + ". No filters or template tags. When a value is missing: "
    + "; ".join(f"{{{{{p}}}}} reads “{v}”" for p, v in FALLBACKS.items())
    + "; {{ticket.number}} is the first 8 characters of the ticket id."
)
# The sample the change page renders the body on.
SAMPLE = {
    "customer": "Ada Lovelace",
    "subject": "Where is my order?",
    "agent": "Sam Rivera",
    "ticket_id": uuid.UUID("3f2a9c1e-0000-4000-8000-000000000000"),
}


class MacroForm(forms.ModelForm):
    class Meta:
        model = Macro
        fields = ["organization", *MACRO_FIELDS]
        help_texts = {
            "body": BODY_HELP,
            "actions": "JSON, optional, applied when the macro is sent (the automation "
            f"actions but apply_macro and send_reply), e.g. {EXAMPLE_ACTIONS}",
        }

    def __init__(self, *args, organization_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._organization_id = organization_id
        if "actions" in self.fields:  # a reader's form has no editable field
            self.fields["actions"].required = False

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization")
        organization_id = self._organization_id or (organization.pk if organization else None)
        if organization_id is None or self.errors:
            return cleaned
        data = {f: cleaned.get(f) for f in MACRO_FIELDS}
        try:
            cleaned["actions"] = macro_validate(organization_id=organization_id, data=data)[
                "actions"
            ]
        except DomainError as exc:
            path = exc.field or ""
            target = next((f for f in MACRO_FIELDS if path.startswith(f)), None)
            self.add_error(target, f"{path}: {exc.detail}" if path != target else exc.detail)
        return cleaned


@admin.register(Macro)
class MacroAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    """Canned replies; saved through rules.macros.services (validated, recorded)."""

    form = MacroForm
    list_display = ["name", "active", "usage_count", "last_used_at", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name", "body"]
    readonly_fields = ["usage_count", "last_used_at", "preview"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        organization_id = None if request.user.is_superuser else request.user.organization_id

        class ScopedForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, organization_id=organization_id, **kw)

        return ScopedForm

    @admin.display(description="Preview")
    def preview(self, obj):
        if obj is None or obj.pk is None:
            return "Save the macro to see it rendered on a sample ticket."
        # Unsaved objects: the preview reads no ticket and writes nothing.
        ticket = Ticket(
            id=SAMPLE["ticket_id"],
            organization=obj.organization,
            customer=Customer(organization=obj.organization, name=SAMPLE["customer"]),
            subject=SAMPLE["subject"],
        )
        agent = Agent(name=SAMPLE["agent"], organization=obj.organization)
        return format_html(
            '<div style="white-space: pre-wrap; max-width: 60em">{}</div>'
            '<p class="help">On a sample ticket: customer “{}”, subject “{}”, agent “{}”.'
            "</p>",
            macro_render(body=obj.body, ticket=ticket, agent=agent),
            SAMPLE["customer"],
            SAMPLE["subject"],
            SAMPLE["agent"],
        )

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in MACRO_FIELDS if f in form.cleaned_data}
        data["actions"] = data.get("actions") or []
        try:
            if change:
                saved = macro_update(
                    macro=Macro.objects.get(pk=obj.pk), data=data, actor=request.user
                )
            else:
                organization = (
                    form.cleaned_data["organization"]
                    if request.user.is_superuser
                    else request.user.organization
                )
                saved = macro_create(organization=organization, data=data, actor=request.user)
        except DomainError as exc:  # the form validated; a concurrent save took the name
            messages.error(request, exc.detail)
            return
        obj.pk = saved.pk
        obj._state.adding = False

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for macro in objs:
            protected.extend(
                f"Automation rule: {name} (uses the macro {macro.name})"
                for name in macro_users(macro=macro)
            )
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        macro_delete(macro=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for macro in queryset:
            macro_delete(macro=macro, actor=request.user)
