"""The manager's admin for tickets: the changelist is the team's inbox, the ticket page
shows the conversation (internal notes set apart), the timeline of events and the
history. Every workflow change made here goes through tickets.services, so it is
recorded exactly like a change made through the API."""

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from agents.admin_history import ScopedHistoryAdmin
from agents.admin_scoping import OrganizationScopedAdmin, ReadOnlyAdminMixin
from agents.exceptions import DomainError
from agents.models import Agent, Team
from tickets import lifecycle
from tickets.events import deliveries_retry
from tickets.models import (
    Customer,
    EventDelivery,
    Message,
    Priority,
    Satisfaction,
    SlaStatus,
    Tag,
    Ticket,
    TicketEvent,
)
from tickets.pagination import queue_count
from tickets.search import ticket_search
from tickets.services import (
    CUSTOMER_FIELDS,
    customer_create,
    customer_update,
    message_add,
    note_add,
    ticket_assign,
    ticket_create,
    ticket_transition,
    ticket_update,
)

STATUS_COLOURS = {
    lifecycle.OPEN: "#d9480f",
    lifecycle.IN_PROGRESS: "#1971c2",
    lifecycle.PENDING: "#868e96",
    lifecycle.RESOLVED: "#2b8a3e",
    lifecycle.CLOSED: "#495057",
}
SLA_COLOURS = {
    SlaStatus.ACTIVE: ("#2b8a3e", SlaStatus.ACTIVE.label),
    SlaStatus.AT_RISK: ("#e67700", SlaStatus.AT_RISK.label),
    SlaStatus.BREACHED: ("#c92a2a", SlaStatus.BREACHED.label),
    SlaStatus.PAUSED: ("#868e96", SlaStatus.PAUSED.label),
}
PRIORITY_COLOURS = {"urgent": "#c92a2a", "high": "#e8590c", "normal": "#495057", "low": "#868e96"}


def _badge(text: str, colour: str):
    return format_html(
        '<span style="background:{};color:#fff;padding:1px 7px;border-radius:9px;'
        'font-size:11px;white-space:nowrap">{}</span>',
        colour,
        text,
    )


class BoundedCountPaginator(Paginator):
    """Counts at most API_COUNT_CAP rows (the planner's estimate beyond), and keeps the
    count for API_QUEUE_COUNT_SECONDS: a manager's changelist never runs COUNT(*) over a
    million tickets, nor a bounded count on every page view."""

    @cached_property
    def count(self):
        total, _ = queue_count(self.object_list)
        return total


@admin.register(Customer)
class CustomerAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    """Customers are saved through tickets.services (validated once, there): a tier change
    rescores the customer's tickets and re-matches their SLA policies, with history."""

    list_display = [
        "__str__",
        "email",
        "external_id",
        "tier",
        "ticket_count",
        "organization",
        "created_at",
    ]
    list_filter = ["tier", "organization"]
    search_fields = ["name", "email", "external_id", "phone"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(ticket_count=Count("tickets"))

    @admin.display(description="Tickets", ordering="ticket_count")
    def ticket_count(self, obj):
        return obj.ticket_count

    def get_readonly_fields(self, request, obj=None):
        # The commerce platform's ids are set on creation (API, imports), not edited here.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "external_id", "external_refs"] if obj is not None else readonly

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in CUSTOMER_FIELDS if f in form.cleaned_data}
        try:
            if change:
                customer_update(customer=obj, actor=request.user, **data)
                return
            organization = (
                form.cleaned_data.get("organization") or obj.organization
                if request.user.is_superuser
                else request.user.organization
            )
            created = customer_create(
                organization=organization,
                external_id=form.cleaned_data.get("external_id", ""),
                actor=request.user,
                **data,
            )
            obj.pk, obj.external_id = created.pk, created.external_id
            obj._state.adding = False
        except DomainError as exc:
            messages.error(request, exc.detail)


@admin.register(Tag)
class TagAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization"]
    list_filter = ["organization"]
    search_fields = ["name"]


class AssigneeFilter(admin.SimpleListFilter):
    """Assignee choices from the manager's own organization (not a scan of tickets)."""

    title = "assignee"
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        agents = Agent.objects.filter(is_active=True)
        if not request.user.is_superuser:
            agents = agents.filter(organization_id=request.user.organization_id)
        return [("me", "Me"), ("none", "Unassigned")] + [
            (str(a.pk), str(a)) for a in agents.order_by("name", "email")[:200]
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee_id=request.user.pk)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value:
            return queryset.filter(assignee_id=value)
        return queryset


class TeamFilter(admin.SimpleListFilter):
    title = "team"
    parameter_name = "team"

    def lookups(self, request, model_admin):
        teams = Team.objects.all()
        if not request.user.is_superuser:
            teams = teams.filter(organization_id=request.user.organization_id)
        return [(str(t.pk), t.name) for t in teams.order_by("name")[:200]]

    def queryset(self, request, queryset):
        return queryset.filter(team_id=self.value()) if self.value() else queryset


class ActiveFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("active", "Needs work (open, in progress, pending)"), ("done", "Done")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(status__in=lifecycle.ACTIVE_STATUSES)
        if self.value() == "done":
            return queryset.filter(status__in=lifecycle.DONE_STATUSES)
        return queryset


class SlaFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [(k, label) for k, (_, label) in SLA_COLOURS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(sla_status=self.value()) if self.value() else queryset


class ConversationInline(admin.StackedInline):
    """The conversation, read-only, customer and agent messages and internal notes set
    apart (yellow). New replies and notes are written with the fields above it."""

    model = Message
    template = "admin/tickets/ticket/conversation_inline.html"
    fields = ["content"]
    readonly_fields = ["content"]
    extra = 0
    can_delete = False
    verbose_name = "message"
    verbose_name_plural = "Conversation"
    ordering = ["created_at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author_agent")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TicketAdminForm(forms.ModelForm):
    initial_message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="The customer's first message.",
    )
    reply = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Write a reply or a note…"}),
        required=False,
    )
    reply_is_internal_note = forms.BooleanField(
        required=False,
        label="Internal note",
        help_text="Visible to the team only; never sent to the customer.",
    )

    class Meta:
        model = Ticket
        fields = [
            "subject",
            "customer",
            "channel",
            "status",
            "priority",
            "assignee",
            "team",
            "tags",
        ]

    def clean_status(self):
        status = self.cleaned_data.get("status")
        if self.instance.pk and status and status != self.instance.status:
            try:
                lifecycle.transition_check(self.instance.status, status)
            except DomainError as exc:
                raise forms.ValidationError(exc.detail) from exc
        return status


@admin.register(Ticket)
class TicketAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    form = TicketAdminForm
    list_display = [
        "subject",
        "customer",
        "status_badge",
        "priority_badge",
        "channel",
        "assignee",
        "sla_badge",
        "smart_score",
        "updated_at",
        "organization",
    ]
    list_display_links = ["subject"]
    list_filter = [
        ActiveFilter,
        "status",
        "priority",
        "channel",
        SlaFilter,
        AssigneeFilter,
        TeamFilter,
        "organization",
    ]
    search_fields = ["subject", "customer__email", "customer__name", "customer__external_id"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["customer", "assignee", "team"]
    list_select_related = ["customer", "assignee", "organization"]
    ordering = ["-created_at"]
    list_per_page = 50
    show_full_result_count = False
    paginator = BoundedCountPaginator
    # Facet counts run one COUNT per filter choice over the whole table: off.
    show_facets = admin.ShowFacets.NEVER
    inlines = [ConversationInline]
    actions = [
        "assign_to_me",
        "set_priority_urgent",
        "set_priority_high",
        "set_priority_normal",
        "set_priority_low",
        "close_tickets",
    ]
    readonly_fields = [
        "score_breakdown_table",
        "smart_score",
        "escalation_level",
        "message_count",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "last_message_at",
        "source",
        "external_id",
        "created_at",
        "updated_at",
        "timeline",
        "satisfaction_rating",
    ]
    filter_horizontal = ["tags"]

    def get_search_results(self, request, queryset, search_term):
        """On PostgreSQL: an email finds the customer's tickets (indexed); other text is
        full-text search over subject and messages (GIN). Elsewhere Django's icontains."""
        term = search_term.strip()
        if not term or connection.vendor != "postgresql":
            return super().get_search_results(request, queryset, search_term)
        if "@" in term and " " not in term:
            return queryset.filter(customer__email=term.lower()), False  # stored lower-cased
        return ticket_search(queryset, term), False

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (
                    None,
                    {
                        "fields": [
                            "subject",
                            "customer",
                            "channel",
                            "priority",
                            "assignee",
                            "team",
                            "tags",
                            "initial_message",
                        ]
                    },
                )
            ]
        fieldsets = [
            (
                None,
                {
                    "fields": [
                        "subject",
                        "customer",
                        "channel",
                        "status",
                        "priority",
                        "assignee",
                        "team",
                        "tags",
                    ]
                },
            ),
            ("Reply", {"fields": ["reply", "reply_is_internal_note"]}),
            ("Customer satisfaction", {"fields": ["satisfaction_rating"]}),
            ("Score", {"fields": ["smart_score", "score_breakdown_table", "escalation_level"]}),
            (
                "Dates",
                {
                    "classes": ["collapse"],
                    "fields": [
                        "created_at",
                        "updated_at",
                        "first_response_at",
                        "last_message_at",
                        "resolved_at",
                        "closed_at",
                        "message_count",
                        "source",
                        "external_id",
                    ],
                },
            ),
            ("Timeline", {"fields": ["timeline"]}),
        ]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["customer", "channel"]  # fixed once a conversation exists
        return fields

    # --- columns ---------------------------------------------------------------------
    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return _badge(obj.get_status_display(), STATUS_COLOURS.get(obj.status, "#495057"))

    @admin.display(description="Priority", ordering="priority")
    def priority_badge(self, obj):
        return _badge(obj.get_priority_display(), PRIORITY_COLOURS.get(obj.priority, "#495057"))

    @admin.display(description="SLA", ordering="sla_due_at")
    def sla_badge(self, obj):
        if not obj.sla_status:
            return "—"
        colour, label = SLA_COLOURS.get(obj.sla_status, ("#495057", obj.sla_status))
        if obj.sla_due_at and obj.sla_status in ("active", "at_risk"):
            label = f"{label} · due {obj.sla_due_at:%b %d %H:%M}"
        return _badge(label, colour)

    @admin.display(description="Score breakdown")
    def score_breakdown_table(self, obj):
        components = (obj.score_breakdown or {}).get("components") or []
        if not components:
            return (obj.score_breakdown or {}).get("reason", "—")
        return format_html(
            "<table><tr><th>component</th><th>points</th><th>why</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((c.get("name"), c.get("points"), c.get("reason", "")) for c in components),
            ),
        )

    @admin.display(description="Rating (CSAT)")
    def satisfaction_rating(self, obj):
        satisfaction = Satisfaction.objects.filter(ticket_id=obj.pk).first()
        if satisfaction is None:
            return "not rated"
        return format_html(
            '<a href="{}">{}/5</a> · {}{}',
            reverse("admin:tickets_satisfaction_change", args=[satisfaction.pk]),
            satisfaction.rating,
            satisfaction.rated_at.strftime("%Y-%m-%d %H:%M UTC"),
            f" · “{satisfaction.comment}”" if satisfaction.comment else "",
        )

    @admin.display(description="Events (newest first)")
    def timeline(self, obj):
        events = obj.events.select_related("actor").order_by("-created_at", "-id")[:100]
        rows = [
            (
                e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                e.kind,
                e.actor_label or (e.actor.email if e.actor else "system"),
                _event_summary(e),
            )
            for e in events
        ]
        if not rows:
            return "—"
        return format_html(
            '<table class="ticket-timeline"><tr><th>when (UTC)</th><th>event</th><th>by</th>'
            "<th>what</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    # --- saving through the services -------------------------------------------------
    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = request.user
        try:
            if not change:
                created = ticket_create(
                    organization=data["customer"].organization,
                    customer=data["customer"],
                    subject=data["subject"],
                    channel=data["channel"],
                    priority=data["priority"],
                    initial_message=data.get("initial_message", ""),
                    tags=[t.name for t in data.get("tags") or []],
                    assignee=data.get("assignee"),
                    team=data.get("team"),
                    actor=actor,
                )
                obj.pk = created.pk
                obj._state.adding = False
                return
            original = Ticket.objects.get(pk=obj.pk)
            ticket_update(
                ticket=original,
                subject=data["subject"],
                priority=data["priority"],
                tags=[t.name for t in data.get("tags") or []],
                actor=actor,
                reason="changed in admin",
            )
            if (original.assignee_id, original.team_id) != (
                getattr(data.get("assignee"), "pk", None),
                getattr(data.get("team"), "pk", None),
            ):
                ticket_assign(
                    ticket=original,
                    assignee=data.get("assignee"),
                    team=data.get("team"),
                    actor=actor,
                    reason="changed in admin",
                )
            if data["status"] != original.status:
                ticket_transition(
                    ticket=original,
                    to_status=data["status"],
                    actor=actor,
                    reason="changed in admin",
                )
            reply = (data.get("reply") or "").strip()
            if reply and data.get("reply_is_internal_note"):
                note_add(ticket=original, content=reply, author_agent=actor, actor=actor)
            elif reply:
                message_add(
                    ticket=original, content=reply, from_agent=True, author_agent=actor, actor=actor
                )
        except DomainError as exc:
            messages.error(request, exc.detail)

    def save_related(self, request, form, formsets, change):
        # Tags were written by the services in save_model (recorded, with an event), so
        # the form's own m2m save is skipped; the read-only conversation saves nothing.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("priority", Priority.NORMAL)
        return initial

    def get_deleted_objects(self, objs, request):
        # A ticket takes its conversation, events, clocks and history with it: the right
        # to delete the ticket (admins) is what counts, not a right on each of those.
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    # --- actions ---------------------------------------------------------------------
    def _each(self, request, queryset, verb, change):
        done, failed = 0, []
        for ticket in queryset.order_by("pk"):
            try:
                change(ticket)
                done += 1
            except DomainError as exc:
                failed.append(f"{ticket.subject}: {exc.detail}")
        if done:
            self.message_user(request, f"{verb} {done} ticket(s).", messages.SUCCESS)
        for failure in failed[:10]:
            self.message_user(request, failure, messages.WARNING)

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        self._each(
            request,
            queryset,
            "Assigned to you",
            lambda t: ticket_assign(
                ticket=t, assignee=request.user, actor=request.user, reason="assign to me (admin)"
            ),
        )

    def _set_priority(self, request, queryset, priority):
        self._each(
            request,
            queryset,
            f"Set priority {priority} on",
            lambda t: ticket_update(
                ticket=t, priority=priority, actor=request.user, reason="bulk priority (admin)"
            ),
        )

    @admin.action(description="Set priority: urgent", permissions=["change"])
    def set_priority_urgent(self, request, queryset):
        self._set_priority(request, queryset, Priority.URGENT)

    @admin.action(description="Set priority: high", permissions=["change"])
    def set_priority_high(self, request, queryset):
        self._set_priority(request, queryset, Priority.HIGH)

    @admin.action(description="Set priority: normal", permissions=["change"])
    def set_priority_normal(self, request, queryset):
        self._set_priority(request, queryset, Priority.NORMAL)

    @admin.action(description="Set priority: low", permissions=["change"])
    def set_priority_low(self, request, queryset):
        self._set_priority(request, queryset, Priority.LOW)

    @admin.action(description="Close", permissions=["change"])
    def close_tickets(self, request, queryset):
        self._each(
            request,
            queryset,
            "Closed",
            lambda t: ticket_transition(
                ticket=t, to_status=lifecycle.CLOSED, actor=request.user, reason="closed (admin)"
            ),
        )


@admin.register(Satisfaction)
class SatisfactionAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    """Customers' CSAT ratings (recorded through the API): everyone on the team reads
    them; managers and admins may correct or remove one, with history."""

    list_display = ["ticket", "rating", "short_comment", "rated_at", "organization"]
    list_filter = ["rating", "organization"]
    list_select_related = ["ticket"]
    search_fields = ["ticket__subject", "comment"]
    fields = ["ticket", "rating", "comment", "rated_at"]
    readonly_fields = ["ticket", "rated_at"]
    date_hierarchy = "rated_at"
    show_full_result_count = False

    @admin.display(description="Comment")
    def short_comment(self, obj):
        return (obj.comment or "")[:120]

    def has_add_permission(self, request, obj=None):
        return False  # a rating is the customer's, recorded through the API


def _event_summary(event: TicketEvent) -> str:
    p = event.payload or {}
    if event.kind == "ticket.status_changed":
        return f"{p.get('from')} → {p.get('to')}" + (f" ({p['reason']})" if p.get("reason") else "")
    if event.kind == "ticket.updated" and "conversation_reset" in p:
        archived = p["conversation_reset"].get("messages_archived", 0)
        return f"demo reset: conversation back to its first message ({archived} archived)"
    if event.kind == "ticket.updated" and "reset_into" in p:
        return f"demo reset: copied into ticket {p['reset_into'].get('ticket_id')}"
    if event.kind == "ticket.updated":
        return "; ".join(
            f"{k}: {v.get('from')} → {v.get('to')}" for k, v in p.items() if isinstance(v, dict)
        )
    if event.kind == "ticket.assigned":
        return (
            f"assignee {p.get('from_name') or p.get('from') or '—'} → "
            f"{p.get('to_name') or p.get('to') or '—'}"
        )
    if event.kind == "message.created":
        return "agent reply" if p.get("from_agent") else "customer message"
    if event.kind == "ticket.created":
        return p.get("subject", "")
    if event.kind == "ticket.rated":
        before = p.get("previous_rating")
        return f"rated {p.get('rating')}/5" + (f" (was {before}/5)" if before else "")
    return ""


class DeliveryInline(admin.TabularInline):
    model = EventDelivery
    fields = ["handler", "status", "attempts", "next_attempt_at", "done_at", "last_error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    """The event log / outbox, read-only: what happened, and whether follow-up ran."""

    list_display = ["id", "kind", "ticket", "customer", "actor_label", "created_at", "handled_at"]
    list_filter = ["kind", ("handled_at", admin.EmptyFieldListFilter)]
    list_select_related = ["ticket", "customer"]
    search_fields = ["ticket__subject", "kind"]
    show_full_result_count = False
    inlines = [DeliveryInline]


@admin.register(EventDelivery)
class EventDeliveryAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    """Each handler's work per event: pending (with its next attempt), done, or failed
    after its last attempt. Failed deliveries can be retried."""

    list_display = [
        "id",
        "handler",
        "event_link",
        "status",
        "attempts",
        "next_attempt_at",
        "done_at",
        "short_error",
    ]
    list_filter = ["status", "handler"]
    list_select_related = ["event"]
    search_fields = ["handler", "event__kind", "last_error"]
    show_full_result_count = False
    actions = ["retry"]

    @admin.display(description="Event")
    def event_link(self, obj):
        return f"{obj.event.kind} #{obj.event_id}"

    @admin.display(description="Last error")
    def short_error(self, obj):
        return (obj.last_error or "")[:120]

    def has_retry_permission(self, request):
        return request.user.is_superuser or getattr(request.user, "is_manager", False)

    @admin.action(description="Retry the selected failed deliveries", permissions=["retry"])
    def retry(self, request, queryset):
        count = deliveries_retry(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} failed deliveries queued again.", messages.SUCCESS)
