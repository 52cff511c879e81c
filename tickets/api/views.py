"""Ticket API: the inbox list, ticket detail, create/update, messages, notes, timeline
and the demo resets. Views validate input and call services; answers are built by
tickets.api.representations."""

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from agents.exceptions import Conflict, DomainError
from agents.models import Agent, Team
from agents.permissions import IsManagerOrReadOnly
from agents.principals import caller_actor
from tickets.api import representations as rep
from tickets.api import serializers as s
from tickets.api.extensions import (
    list_related,
    ticket_detail_enrich,
    ticket_list_enrich,
    tickets_rescore,
)
from tickets.filters import TicketFilterSet, tickets_filter
from tickets.pagination import (
    KEYSET_ORDERINGS,
    bounded_count,
    cursor_decode,
    cursor_encode,
    keyset_after,
    keyset_values,
)
from tickets.search import topic_alert_condition
from tickets.selectors import (
    ticket_events,
    ticket_get_for_organization,
    ticket_list_for_organization,
    ticket_messages,
    uuid_parse,
)
from tickets.services import (
    customer_get_or_create,
    message_add,
    note_add,
    ticket_assign,
    ticket_create,
    ticket_reset,
    ticket_reset_conversation,
    ticket_transition,
    ticket_update,
)

MAX_LIMIT = 100


def _demo_features_only() -> None:
    """The demo resets exist only where DEMO_FEATURES is on (`make run`); elsewhere
    they answer like any unknown route."""
    if not settings.DEMO_FEATURES:
        raise exceptions.NotFound()


NULLABLE_SORTS = {"sla_due_at", "last_message_at"}
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
TICKET_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
LIST_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number (from 1)."),
    OpenApiParameter("limit", int, description="Page size, 1-100 (larger is capped at 100)."),
    OpenApiParameter("sort", str, enum=s.SORT_FIELDS),
    OpenApiParameter("order", str, enum=["asc", "desc"]),
    OpenApiParameter("smart_order", bool, description="Rank by smart score."),
    OpenApiParameter("apply_rules", bool, description="Rescore the page with current rules."),
    OpenApiParameter(
        "topic_alerts", str, description="Comma list of words; matching tickets are flagged."
    ),
    OpenApiParameter(
        "cursor",
        str,
        description="Opaque keyset position (pagination.next_cursor); fast "
        "at any depth; with sort=created_at|updated_at|smart_score or smart_order=true.",
    ),
]


def _page_params(request) -> tuple[int, int]:
    params = s.PageParamsSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data["page"], min(params.validated_data["limit"], MAX_LIMIT)


def _topic_words(raw: str | None) -> list[str]:
    words = [w.strip().lower() for w in (raw or "").split(",")]
    return list(dict.fromkeys(w for w in words if w))[:20]


def _ordering(sort: str, order: str, smart: bool) -> list:
    if smart:
        return ["-smart_score", "-created_at", "-id"]
    field = "priority_rank" if sort == "priority" else sort
    if field in NULLABLE_SORTS:  # tickets without a value go last, either way
        first = F(field).desc(nulls_last=True) if order == "desc" else F(field).asc(nulls_last=True)
    else:  # plain ordering, so PostgreSQL walks the matching index
        first = f"-{field}" if order == "desc" else field
    if order == "desc":
        return [first, "-created_at", "-id"]
    return [first, "created_at", "id"]


@extend_schema_view(
    list=extend_schema(
        summary="List tickets (the inbox)",
        parameters=LIST_PARAMETERS,
        responses=s.TicketListSerializer,
    ),
    retrieve=extend_schema(
        summary="A ticket with its messages, notes, customer and score",
        parameters=[TICKET_ID],
        responses=s.TicketDetailSerializer,
    ),
    create=extend_schema(
        summary="Create a ticket (and its customer on first sight)",
        request=s.TicketCreateSerializer,
        responses={201: s.TicketCreatedSerializer},
    ),
    partial_update=extend_schema(
        summary="Change status, priority, assignee, team or tags",
        parameters=[TICKET_ID],
        request=s.TicketUpdateSerializer,
        responses=s.TicketUpdatedSerializer,
    ),
)
class TicketViewSet(viewsets.GenericViewSet):
    filterset_class = TicketFilterSet
    lookup_value_regex = "[^/]+"  # malformed ids reach the view and get a clear 400
    serializer_class = s.TicketDetailSerializer

    def get_queryset(self):  # used by the schema generator for the filter parameters
        return ticket_list_for_organization(organization_id=self.request.user.organization_id)

    def _org(self):
        return self.request.user.organization_id

    def _ticket(self, pk):
        return ticket_get_for_organization(organization_id=self._org(), ticket_id=pk)

    def _actor(self):
        return caller_actor(self.request.user)

    # --- list -------------------------------------------------------------------------
    def list(self, request):
        params = s.TicketListParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        p = params.validated_data
        limit = min(p["limit"], MAX_LIMIT)
        queryset, applied = tickets_filter(
            ticket_list_for_organization(organization_id=self._org()).prefetch_related(None),
            request.query_params,
            request,
        )
        words = _topic_words(p.get("topic_alerts"))
        topic = topic_alert_condition(words) if words else None
        if p["sort"] == "priority" and not p["smart_order"]:
            queryset = queryset.annotate(
                priority_rank=Case(
                    *[When(priority=k, then=Value(v)) for k, v in PRIORITY_RANK.items()],
                    output_field=IntegerField(),
                )
            )
        if topic:
            queryset = queryset.annotate(
                matches_topic_alert=Case(When(topic, then=Value(True)), default=Value(False))
            )
        # The envelope: a count bounded at API_COUNT_CAP rows (an estimate beyond), with
        # the topic-alert matches, in one query.
        total, matches, estimated = bounded_count(queryset, topic)
        keyset = KEYSET_ORDERINGS.get(
            ("smart", "desc") if p["smart_order"] else (p["sort"], p["order"])
        )
        page_qs, offset = queryset, (p["page"] - 1) * limit
        if p.get("cursor"):
            if keyset is None:
                raise DomainError(
                    "cursor works with sort=created_at, updated_at or smart_score, or "
                    "smart_order=true.",
                    field="cursor",
                )
            page_qs = keyset_after(queryset, keyset, cursor_decode(p["cursor"], keyset))
            offset = 0
        if list_related():
            page_qs = page_qs.select_related(*list_related())
        rows = list(
            page_qs.order_by(*_ordering(p["sort"], p["order"], p["smart_order"]))[
                offset : offset + limit + 1
            ]
        )
        tickets, has_more = rows[:limit], len(rows) > limit
        # The position after the last row, even on the last page: a client following the
        # change feed (sort=updated_at&order=asc) keeps it and asks again later.
        next_cursor = None
        if keyset:
            next_cursor = (
                cursor_encode(keyset_values(tickets[-1], keyset)) if tickets else p.get("cursor")
            ) or None
        if p["apply_rules"] and tickets:
            tickets_rescore(tickets, self._org())
            # The page shows fresh scores: keep it in their order when ranking by score
            # (ties newest first, as in the database ordering).
            if p["smart_order"] or p["sort"] == "smart_score":
                descending = p["smart_order"] or p["order"] == "desc"
                tickets.sort(key=lambda t: (t.smart_score, t.created_at), reverse=descending)
        applied.update(
            {
                k: p[k]
                for k in ("sort", "order", "smart_order", "apply_rules")
                if k in request.query_params
            }
        )
        items = [
            rep.ticket_list_item(
                t, matches_topic_alert=bool(getattr(t, "matches_topic_alert", False))
            )
            for t in tickets
        ]
        ticket_list_enrich(tickets, items)  # e.g. the SLA block, one query per page
        return Response(
            {
                "tickets": items,
                "pagination": {
                    **rep.pagination(page=p["page"], limit=limit, total=total),
                    "has_next": has_more,
                    "has_prev": bool(p.get("cursor")) or p["page"] > 1,
                    "total_is_estimate": estimated,
                    "next_cursor": next_cursor,
                },
                "filters_applied": applied,
                "topic_alerts_active": words,
                "matches": matches,
            }
        )

    # --- detail -----------------------------------------------------------------------
    def _detail(self, ticket):
        messages = list(ticket_messages(ticket=ticket))
        data = rep.ticket_detail(ticket, messages=messages)
        ticket_detail_enrich(ticket, data)
        return data

    def retrieve(self, request, pk=None):
        return Response(self._detail(self._ticket(pk)))

    # --- create -----------------------------------------------------------------------
    def create(self, request):
        body = s.TicketCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        actor, label = self._actor()
        organization = request.user.organization
        with transaction.atomic():
            customer = customer_get_or_create(
                organization=organization,
                external_id=data["customer_id"],
                name=data.get("author_name", ""),
                email=data.get("author_email", ""),
                actor=actor,
            )
            ticket = ticket_create(
                organization=organization,
                customer=customer,
                subject=data["subject"],
                channel=data["channel"],
                priority=data["priority"],
                tags=data["tags"],
                initial_message=data.get("initial_message", ""),
                author_name=data.get("author_name", ""),
                author_email=data.get("author_email", ""),
                actor=actor,
                actor_label=label,
            )
            if data.get("status") and data["status"] != ticket.status:
                ticket_transition(
                    ticket=ticket,
                    to_status=data["status"],
                    actor=actor,
                    actor_label=label,
                    reason="status given at creation",
                )
        detail = self._detail(self._ticket(ticket.pk))
        return Response(
            {"ticket": detail, "messages": detail["messages"], "notes": detail["notes"]},
            status=status.HTTP_201_CREATED,
        )

    # --- update -----------------------------------------------------------------------
    def partial_update(self, request, pk=None):
        ticket = self._ticket(pk)
        body = s.TicketUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        actor, label = self._actor()
        with transaction.atomic():
            if "expected_updated_at" in data:
                current = type(ticket).objects.select_for_update().get(pk=ticket.pk)
                if current.updated_at != data["expected_updated_at"]:
                    raise Conflict(
                        "The ticket changed since you read it "
                        f"(updated_at is now {current.updated_at.isoformat()}); reload and retry."
                    )
            if any(k in data for k in ("priority", "subject", "tags", "add_tags", "remove_tags")):
                ticket = ticket_update(
                    ticket=ticket,
                    actor=actor,
                    actor_label=label,
                    priority=data.get("priority"),
                    subject=data.get("subject"),
                    tags=data.get("tags"),
                    add_tags=data.get("add_tags", ()),
                    remove_tags=data.get("remove_tags", ()),
                )
            if "assigned_to" in data or "team" in data:
                assignee = (
                    self._assignee(data["assigned_to"])
                    if "assigned_to" in data
                    else ticket.assignee
                )
                kwargs = {}
                if "team" in data:
                    kwargs["team"] = self._team(data["team"])
                ticket = ticket_assign(
                    ticket=ticket, assignee=assignee, actor=actor, actor_label=label, **kwargs
                )
            if "status" in data:
                ticket = ticket_transition(
                    ticket=ticket, to_status=data["status"], actor=actor, actor_label=label
                )
        ticket = self._ticket(ticket.pk)
        return Response({"ticket": rep.ticket_metadata(ticket)})

    def _assignee(self, value):
        if value is None or value.strip() in ("", "none"):
            return None
        if value == "me":
            if not isinstance(self.request.user, Agent):
                raise DomainError("'me' needs an agent login, not an API key.", field="assigned_to")
            return self.request.user
        pk = uuid_parse(value, field="assigned_to", what="agent")
        agent = Agent.objects.filter(pk=pk, organization_id=self._org(), is_active=True).first()
        if agent is None:
            raise DomainError(f"No active agent {pk} in this organization.", field="assigned_to")
        return agent

    def _team(self, value):
        if value is None:
            return None
        team = Team.objects.filter(pk=value, organization_id=self._org()).first()
        if team is None:
            raise DomainError(f"No team {value} in this organization.", field="team")
        return team

    # --- messages and notes -----------------------------------------------------------
    @extend_schema(
        methods=["GET"],
        summary="The conversation (public messages)",
        parameters=[TICKET_ID],
        responses=s.MessageListSerializer,
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a message; runs the lifecycle",
        parameters=[TICKET_ID],
        request=s.MessageCreateSerializer,
        responses={201: s.MessageCreatedSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, pk=None):
        ticket = self._ticket(pk)
        if request.method == "GET":
            items = ticket_messages(ticket=ticket, internal=False)
            return Response({"messages": [rep.message_item(m) for m in items]})
        body = s.MessageCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        actor, label = self._actor()
        message = message_add(
            ticket=ticket,
            content=data["content"],
            from_agent=data["from_agent"],
            author_name=data.get("author_name", ""),
            author_email=data.get("author_email", ""),
            author_agent=actor if data["from_agent"] else None,
            send_to_customer=data["send_to_customer"],
            close_ticket=data["close_ticket"],
            actor=actor,
            actor_label=label,
        )
        # message.ticket is the row message_add locked and saved: current, no re-read.
        return Response(
            {
                "message": rep.message_item(message),
                "ticket_updated": rep.ticket_metadata(message.ticket),
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        methods=["GET"],
        summary="Internal notes",
        parameters=[TICKET_ID],
        responses=s.NoteListSerializer,
    )
    @extend_schema(
        methods=["POST"],
        summary="Add an internal note (never sent to the customer)",
        parameters=[TICKET_ID],
        request=s.NoteCreateSerializer,
        responses={201: s.NoteCreatedSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def notes(self, request, pk=None):
        ticket = self._ticket(pk)
        if request.method == "GET":
            items = ticket_messages(ticket=ticket, internal=True)
            return Response({"notes": [rep.note_item(n) for n in items]})
        body = s.NoteCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        actor, label = self._actor()
        note = note_add(
            ticket=ticket,
            content=data["content"],
            author_agent=actor,
            author_name=data.get("author_name", "") or (actor.get_full_name() if actor else ""),
            author_label=data.get("author_id", ""),
            actor=actor,
            actor_label=label,
        )
        return Response({"note": rep.note_item(note)}, status=status.HTTP_201_CREATED)

    # --- timeline and score -----------------------------------------------------------
    @extend_schema(
        summary="The ticket's domain events, newest first",
        parameters=[TICKET_ID, OpenApiParameter("page", int), OpenApiParameter("limit", int)],
        responses=s.EventListSerializer,
    )
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        ticket = self._ticket(pk)
        page, limit = _page_params(request)
        events = ticket_events(ticket=ticket)
        total = events.count()
        items = events[(page - 1) * limit : page * limit]
        return Response(
            {
                "events": [rep.event_item(e) for e in items],
                "pagination": rep.pagination(page=page, limit=limit, total=total),
            }
        )

    @extend_schema(
        summary="The smart score and each component that produced it",
        parameters=[TICKET_ID],
        responses=s.ScoreBreakdownSerializer,
    )
    @action(detail=True, methods=["get"], url_path="score-breakdown")
    def score_breakdown(self, request, pk=None):
        return Response(rep.score_breakdown(self._ticket(pk)))

    # --- demo resets ------------------------------------------------------------------
    @extend_schema(
        summary="Demo: a new ticket holding only this ticket's first message",
        parameters=[TICKET_ID],
        request=None,
        responses={201: s.TicketCreatedSerializer},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsManagerOrReadOnly])
    def reset(self, request, pk=None):
        _demo_features_only()
        actor, label = self._actor()
        fresh = ticket_reset(ticket=self._ticket(pk), actor=actor, actor_label=label)
        detail = self._detail(self._ticket(fresh.pk))
        return Response(
            {"ticket": detail, "messages": detail["messages"], "notes": detail["notes"]},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Demo: keep only the first message of the conversation",
        parameters=[TICKET_ID],
        request=None,
        responses=s.ResetConversationSerializer,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="reset-conversation",
        permission_classes=[IsManagerOrReadOnly],
    )
    def reset_conversation(self, request, pk=None):
        _demo_features_only()
        actor, label = self._actor()
        deleted = ticket_reset_conversation(ticket=self._ticket(pk), actor=actor, actor_label=label)
        return Response({"status": "success", "messages_deleted": deleted})
