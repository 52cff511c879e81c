import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from agents.history import history_user
from agents.models import Organization, Team
from tickets import lifecycle


class Priority(models.TextChoices):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class SlaStatus(models.TextChoices):
    """A ticket's SLA summary (the worst of its open clocks), defined once: the SLA
    engine writes it, the inbox filters and sorts on it, the score and the admin read it."""

    NONE = "", "no SLA"
    PAUSED = "paused", "paused"
    ACTIVE = "active", "on track"
    AT_RISK = "at_risk", "at risk"
    BREACHED = "breached", "breached"


# Worse last: the summary of several clocks is the highest-ranked of their states.
SLA_STATUS_RANK = {s: rank for rank, s in enumerate(SlaStatus.values)}


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Channel(models.TextChoices):
    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"
    PHONE = "phone"
    FORM = "form"


class CustomerTier(models.TextChoices):
    STANDARD = "standard"
    PREMIUM = "premium"
    VIP = "vip"


class Customer(models.Model):
    """Someone who writes to support. `external_id` is the commerce platform's id (the API's
    `customer_id`, e.g. a Shopify customer id), unique per organization when known."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="customers"
    )
    external_id = models.CharField(
        max_length=128, blank=True, help_text="The commerce platform's id (API: customer_id)."
    )
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    tier = models.CharField(max_length=16, choices=CustomerTier.choices, default="standard")
    external_refs = models.JSONField(
        default=dict, blank=True, help_text='Ids in other systems, e.g. {"zendesk": "123"}.'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(get_user=history_user, excluded_fields=["updated_at"])

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~Q(external_id=""),
                name="customer_external_id_unique_per_org",
            ),
            models.CheckConstraint(
                condition=Q(tier__in=["standard", "premium", "vip"]), name="customer_tier_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "email"], name="customer_org_email_idx"),
            # SMS intake: the sender's number finds the customer (integrations/channels).
            models.Index(
                fields=["organization", "phone"],
                condition=~Q(phone=""),
                name="customer_org_phone_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id or str(self.id)


class Tag(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="tag_name_unique_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No single-column indexes on these keys: the composite indexes below start with them,
    # and every index is one more write on each ticket change.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="tickets", db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    subject = models.CharField(max_length=500)
    status = models.CharField(
        max_length=16, choices=lifecycle.STATUS_CHOICES, default=lifecycle.OPEN
    )
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        db_index=False,
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    # The tag names, denormalised so lists and details never join the tag tables.
    tag_names = models.JSONField(default=list, blank=True, editable=False)

    smart_score = models.FloatField(default=0.0)
    score_breakdown = models.JSONField(default=dict, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)

    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    # Denormalised from the conversation so the inbox never touches the messages table.
    message_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_preview = models.CharField(max_length=280, blank=True)
    last_message_from_agent = models.BooleanField(null=True, blank=True)
    # The last customer message and the last public agent reply (automation time rules:
    # hours_since_customer_message / hours_since_agent_reply), kept by message_add.
    last_customer_message_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_agent_reply_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The SLA engine's summary, kept on the ticket for the inbox filters and ordering:
    # "" (no SLA), active, at_risk, breached or paused; and the next deadline.
    sla_status = models.CharField(max_length=10, blank=True, default="", editable=False)
    sla_due_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Subject and public message text, lower-cased, for keyword rules and search (a GIN
    # full-text index over it on PostgreSQL; see migration 0002).
    search_text = models.TextField(blank=True, default="", editable=False)

    source = models.CharField(
        max_length=32, default="native", help_text="Where the ticket came from (native, zendesk…)."
    )
    external_id = models.CharField(max_length=128, blank=True)
    # The provider's updated_at of the version imported last (integrations): an older
    # version seen later (out of order, a replayed page) is ignored.
    external_updated_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        get_user=history_user,
        # Scores change every few minutes by themselves; their history is the breakdown.
        excluded_fields=[
            "smart_score",
            "score_breakdown",
            "updated_at",
            "search_text",
            "tag_names",
            "sla_status",
            "sla_due_at",
            "external_updated_at",
        ],
        # Tag changes are audited by their `ticket.updated` events (from/to); an m2m
        # history table would cost two queries on every ticket save.
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=lifecycle.STATUSES), name="ticket_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="ticket_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="ticket_channel_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=lifecycle.CLOSED) | Q(closed_at__isnull=False),
                name="ticket_closed_has_closed_at",
            ),
            models.CheckConstraint(
                condition=~Q(status=lifecycle.RESOLVED) | Q(resolved_at__isnull=False),
                name="ticket_resolved_has_resolved_at",
            ),
            models.CheckConstraint(condition=~Q(subject=""), name="ticket_subject_not_empty"),
            models.UniqueConstraint(
                fields=["organization", "source", "external_id"],
                condition=~Q(external_id=""),
                name="ticket_external_id_unique_per_source",
            ),
        ]
        indexes = [
            # The open queue ranked by smart score (partial: active tickets only).
            models.Index(
                fields=["organization", "-smart_score"],
                condition=Q(status__in=lifecycle.ACTIVE_STATUSES),
                name="ticket_open_queue_idx",
            ),
            # An agent's queue.
            models.Index(
                fields=["assignee", "status", "-smart_score"], name="ticket_assignee_queue_idx"
            ),
            # The smart queue over all statuses (smart_order=true), with its tie-breakers.
            models.Index(
                fields=["organization", "-smart_score", "-created_at", "-id"],
                name="ticket_org_smart_idx",
            ),
            # An agent's queue of tickets that need work, newest first (partial).
            models.Index(
                fields=["assignee", "-created_at", "-id"],
                condition=Q(status__in=lifecycle.ACTIVE_STATUSES),
                name="ticket_agent_queue_idx",
            ),
            # An agent's tickets, newest first (the assigned_to filter).
            models.Index(fields=["assignee", "-created_at", "-id"], name="ticket_assignee_new_idx"),
            # A customer's tickets, newest first.
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_idx"),
            # Default inbox order, and the change feed (updated_after + sort=updated_at).
            models.Index(
                fields=["organization", "-created_at", "-id"], name="ticket_org_created_idx"
            ),
            models.Index(fields=["organization", "updated_at"], name="ticket_org_updated_idx"),
            # "Sort by next SLA deadline" and the sla_status filter.
            models.Index(
                fields=["organization", "sla_due_at"],
                condition=Q(sla_due_at__isnull=False),
                name="ticket_sla_due_idx",
            ),
            # Reports (analytics): the first responses and resolutions of a period.
            models.Index(
                fields=["organization", "first_response_at"],
                condition=Q(first_response_at__isnull=False),
                name="ticket_org_first_response_idx",
            ),
            models.Index(
                fields=["organization", "resolved_at"],
                condition=Q(resolved_at__isnull=False),
                name="ticket_org_resolved_idx",
            ),
            # The tickets created in a period by status, priority and channel (read
            # index-only on PostgreSQL).
            models.Index(
                fields=["organization", "created_at"],
                include=["status", "priority", "channel"],
                name="ticket_org_created_report_idx",
            ),
            # The open queue by priority and SLA state (the dashboard), index-only.
            models.Index(
                fields=["organization", "priority", "sla_status"],
                condition=Q(status__in=lifecycle.ACTIVE_STATUSES),
                include=["assignee"],
                name="ticket_open_grid_idx",
            ),
            # An agent's open load (routing's capacity check, the reports): a small
            # index that COUNT(*) reads alone.
            models.Index(
                fields=["assignee"],
                condition=Q(status__in=lifecycle.ACTIVE_STATUSES),
                name="ticket_agent_load_idx",
            ),
            # A team's waiting (unassigned, active) tickets.
            models.Index(
                fields=["organization", "team"],
                condition=Q(status__in=lifecycle.ACTIVE_STATUSES, assignee__isnull=True),
                name="ticket_team_waiting_idx",
            ),
            # Time automations: the active tickets whose last customer message or last
            # agent reply crossed a rule's hours threshold since the previous scan
            # (created_at and updated_at have their own indexes above).
            models.Index(
                fields=["organization", "last_customer_message_at"],
                condition=Q(status__in=lifecycle.ACTIVE_STATUSES),
                name="ticket_open_customer_msg_idx",
            ),
            models.Index(
                fields=["organization", "last_agent_reply_at"],
                condition=Q(status__in=lifecycle.ACTIVE_STATUSES),
                name="ticket_open_agent_reply_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_active(self) -> bool:
        return self.status in lifecycle.ACTIVE_STATUSES


class CurrentMessageManager(models.Manager):
    """The conversation as it stands: messages a demo reset archived are left out."""

    def get_queryset(self):
        return super().get_queryset().filter(archived_at__isnull=True)


class Message(models.Model):
    """One message of a conversation, or an internal note (`is_internal`).

    Messages are never deleted by the application: a demo reset archives them
    (`archived_at`); `Message.objects` (and `ticket.messages`) show the current
    conversation, `Message.all_objects` every row.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="messages"
    )
    # No single-column index: message_ticket_time_idx (ticket, created_at) starts with it,
    # and one index less is one write less per message (imports write millions).
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    content = models.TextField()
    from_agent = models.BooleanField(default=False)
    is_internal = models.BooleanField(
        default=False, help_text="An internal note: never sent to the customer."
    )
    sent_to_customer = models.BooleanField(default=False)
    author_name = models.CharField(max_length=200, blank=True)
    author_email = models.EmailField(blank=True)
    author_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    author_label = models.CharField(
        max_length=100, blank=True, help_text="A client's free author label (notes' author_id)."
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    # The provider's id of this message (a Zendesk comment, a Gorgias message, an email's
    # Message-ID): unique per ticket, so an import or a webhook seen twice adds it once.
    external_id = models.CharField(max_length=128, blank=True)
    # Where a reply sent to the customer through a provider or channel stands:
    # "" (nothing to deliver), pending, sent or failed (with the error).
    delivery_status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, blank=True, default="", editable=False
    )
    delivery_error = models.TextField(blank=True, default="", editable=False)
    # Attachments' metadata (name, content_type, size, url), from imports and channels.
    attachments = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when a demo reset took it out of the conversation."
    )

    all_objects = models.Manager()
    objects = CurrentMessageManager()

    class Meta:
        ordering = ["created_at", "id"]
        default_manager_name = "objects"
        base_manager_name = "all_objects"
        constraints = [
            models.CheckConstraint(condition=~Q(content=""), name="message_content_not_empty"),
            # Only the team writes internal notes.
            models.CheckConstraint(
                condition=Q(is_internal=False) | Q(from_agent=True),
                name="message_internal_is_from_agent",
            ),
            models.CheckConstraint(
                condition=Q(is_internal=False) | Q(sent_to_customer=False),
                name="message_internal_never_sent",
            ),
            models.UniqueConstraint(
                fields=["ticket", "external_id"],
                condition=~Q(external_id=""),
                name="message_external_id_unique_per_ticket",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_time_idx"),
            # Threading inbound email by In-Reply-To / References (Message-IDs).
            models.Index(
                fields=["organization", "external_id"],
                condition=~Q(external_id=""),
                name="message_org_external_idx",
            ),
            # Reports (analytics): the agents' public replies of a period.
            models.Index(
                fields=["organization", "created_at"],
                condition=Q(from_agent=True, is_internal=False),
                include=["author_agent", "ticket"],
                name="message_org_reply_time_idx",
            ),
        ]

    def __str__(self) -> str:
        kind = "note" if self.is_internal else ("agent" if self.from_agent else "customer")
        return f"{kind}: {self.content[:60]}"


class Assignment(models.Model):
    """Who a ticket moved from and to, by whom and why (the transfer history)."""

    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="assignments")
    from_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    to_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, related_name="+")
    to_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, related_name="+")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Kind(models.TextChoices):
        MANUAL = "manual"
        AUTO = "auto"
        TRANSFER = "transfer"
        ESCALATION = "escalation"
        REBALANCE = "rebalance"

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.MANUAL)
    reason = models.CharField(max_length=200, blank=True)
    # Routing's "why this agent": strategy, candidates considered, why each was skipped.
    explanation = models.JSONField(default=dict, blank=True)
    capacity_overridden = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["manual", "auto", "transfer", "escalation", "rebalance"]),
                name="assignment_kind_valid",
            )
        ]
        indexes = [
            models.Index(fields=["ticket", "-created_at"], name="assignment_ticket_idx"),
            # Performance reports: assignments to an agent over a period.
            models.Index(fields=["to_agent", "created_at"], name="assignment_agent_time_idx"),
            # Reports (analytics): every assignment of a period.
            models.Index(fields=["created_at"], name="assignment_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_agent_id or '-'} -> {self.to_agent_id or '-'} ({self.reason})"


class Satisfaction(models.Model):
    """The customer's rating of a resolved or closed ticket (CSAT, 1-5): one per ticket,
    a later rating replaces it (the history keeps every version)."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="satisfaction")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, max_length=5000)
    rated_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["-rated_at"]
        verbose_name = "satisfaction rating"
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="satisfaction_rating_1_to_5"
            )
        ]
        indexes = [models.Index(fields=["organization", "rated_at"], name="csat_org_time_idx")]

    def __str__(self) -> str:
        return f"{self.rating}/5 on {self.ticket_id}"


class TicketEvent(models.Model):
    """An append-only domain event about a ticket (or, for `customer.*` kinds, a
    customer), written in the same transaction as the change. Kinds and their payload
    shapes are defined in tickets/event_kinds.py.

    It is also the outbox: each registered handler gets an `EventDelivery`, and
    `handled_at` is set once every delivery has finished (tickets/events.py).
    """

    class Kind(models.TextChoices):
        TICKET_CREATED = "ticket.created"
        TICKET_UPDATED = "ticket.updated"
        TICKET_STATUS_CHANGED = "ticket.status_changed"
        TICKET_ASSIGNED = "ticket.assigned"
        MESSAGE_CREATED = "message.created"
        NOTE_CREATED = "note.created"
        TICKET_ESCALATED = "ticket.escalated"
        SLA_AT_RISK = "sla.at_risk"
        SLA_BREACHED = "sla.breached"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="ticket_events"
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", null=True, blank=True
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="events", null=True, blank=True
    )
    kind = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField(default=1, help_text="of the payload's shape")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    # 0 for a change made by a person or the system; n for one made by an automation
    # acting on an event of depth n - 1 (rules.automation stops chains at a fixed depth).
    automation_depth = models.PositiveSmallIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # Outbox bookkeeping (the only field that ever changes): every delivery finished.
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ticket__isnull=False) | Q(customer__isnull=False),
                name="event_has_a_subject",
            )
        ]
        indexes = [
            models.Index(fields=["ticket", "-created_at"], name="event_ticket_time_idx"),
            models.Index(
                fields=["id"], condition=Q(handled_at__isnull=True), name="event_unhandled_idx"
            ),
            # Reports (analytics): the status changes (reopens, resolutions) of a period.
            models.Index(
                fields=["organization", "kind", "created_at"], name="event_org_kind_time_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            update_fields = set(kwargs.get("update_fields") or ())
            if not update_fields or not update_fields <= {"handled_at"}:
                raise ValueError("Ticket events are append-only.")
        super().save(*args, **kwargs)


class EventDelivery(models.Model):
    """One handler's work for one event: dispatched, retried with backoff and finished
    on its own, so a failing handler never re-runs or blocks the others. A delivery that
    keeps failing ends `failed` (visible in the admin, with a retry action)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(TicketEvent, on_delete=models.CASCADE, related_name="deliveries")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    handler = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "event deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="delivery_once_per_handler")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_due_idx",
            ),
            models.Index(fields=["id"], condition=Q(status="failed"), name="delivery_failed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.handler} for event #{self.event_id} ({self.status})"
