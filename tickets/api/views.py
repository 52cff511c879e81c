"""Ticket API: the inbox list, ticket detail, create/update, messages, notes, timeline
and the demo resets. Views parse input, call one selector or service (queries in
tickets.selectors, writes in tickets.services) and build the answer with
tickets.api.representations."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from agents.permissions import IsManagerOrReadOnly
from agents.principals import caller_actor
from agents.replica import replica_reads
from tickets.api import representations as rep
from tickets.api import serializers as s
from tickets.api.extensions import (
    detail_annotations,
    detail_related,
    list_related,
    ticket_detail_enrich,
    ticket_list_enrich,
    tickets_rescore,
)
from tickets.api.schema import filterset_parameters
from tickets.filters import TicketEventFilterSet, TicketFilterSet
from tickets.search import topic_words_parse
from tickets.selectors import (
    team_resolve,
    ticket_events,
    ticket_get_for_organization,
    ticket_list_for_organization,
    ticket_messages,
    ticket_page_for_organization,
)
from tickets.services import (
    message_add,
    note_add,
    ticket_change,
    ticket_intake,
    ticket_reset,
    ticket_reset_conversation,
)

MAX_LIMIT = 100


def _demo_features_only() -> None:
    """The demo resets exist only where DEMO_FEATURES is on (`make run`); elsewhere
    they answer like any unknown route."""
    if not settings.DEMO_FEATURES:
        raise exceptions.NotFound()


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
    *filterset_parameters(TicketFilterSet),
]


# The list's validated parameters, per process: {parameters: validated_data}. They
# depend on the query string alone; validating them was about a tenth of the inbox's
# time (a DRF serializer per request).
_LIST_PARAMS: dict = {}
LIST_PARAMS_MAX = 512


def _list_params(query_params) -> dict:
    """TicketListParamsSerializer's validated data for `query_params` (a 400 if bad)."""
    names = s.TicketListParamsSerializer._declared_fields
    key = tuple(sorted((k, tuple(v)) for k, v in query_params.lists() if k in names))
    validated = _LIST_PARAMS.get(key)
    if validated is None:
        params = s.TicketListParamsSerializer(data=query_params)
        params.is_valid(raise_exception=True)
        validated = dict(params.validated_data)
        if len(_LIST_PARAMS) >= LIST_PARAMS_MAX:
            _LIST_PARAMS.clear()
        _LIST_PARAMS[key] = validated
    return dict(validated)


def _page_params(request) -> tuple[int, int]:
    params = s.PageParamsSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data["page"], min(params.validated_data["limit"], MAX_LIMIT)


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

    def _ticket(self, pk, related=(), annotations=None):
        return ticket_get_for_organization(
            organization_id=self._org(), ticket_id=pk, related=related, annotations=annotations
        )

    def _detail_ticket(self, pk):
        """The ticket with what the detail's extensions read joined or computed in, in one
        query (detail_related, detail_annotations)."""
        return self._ticket(pk, related=detail_related(), annotations=detail_annotations())

    def _actor(self):
        return caller_actor(self.request.user)

    # --- list -------------------------------------------------------------------------
    @replica_reads()  # as fresh as the replica; the detail and every write: the primary
    def list(self, request):
        p = _list_params(request.query_params)
        limit = min(p["limit"], MAX_LIMIT)
        words = topic_words_parse(p.get("topic_alerts"))
        org = self._org()
        page = ticket_page_for_organization(
            organization_id=org,
            user=request.user,
            filters=request.query_params,
            sort=p["sort"],
            order=p["order"],
            smart_order=p["smart_order"],
            page=p["page"],
            limit=limit,
            cursor=p.get("cursor"),
            topic_words=words,
            # Paths the scorer reads (e.g. the customer's intelligence): only to rescore.
            select_related=list_related() if p["apply_rules"] else [],
            rescore=(lambda tickets: tickets_rescore(tickets, org)) if p["apply_rules"] else None,
        )
        applied = {
            **page.filters_applied,
            **{
                k: p[k]
                for k in ("sort", "order", "smart_order", "apply_rules")
                if k in request.query_params
            },
        }
        items = [
            rep.ticket_list_item(
                t, matches_topic_alert=bool(getattr(t, "matches_topic_alert", False))
            )
            for t in page.tickets
        ]
        ticket_list_enrich(page.tickets, items)  # e.g. the SLA block, one query per page
        return Response(
            {
                "tickets": items,
                "pagination": {
                    **rep.pagination(page=p["page"], limit=limit, total=page.total),
                    "has_next": page.has_more,
                    "has_prev": bool(p.get("cursor")) or p["page"] > 1,
                    "total_is_estimate": page.total_is_estimate,
                    "next_cursor": page.next_cursor,
                },
                "filters_applied": applied,
                "topic_alerts_active": words,
                "matches": page.matches,
            }
        )

    # --- detail -----------------------------------------------------------------------
    def _detail(self, ticket):
        messages = list(ticket_messages(ticket=ticket))
        data = rep.ticket_detail(ticket, messages=messages)
        ticket_detail_enrich(ticket, data)
        return data

    def retrieve(self, request, pk=None):
        return Response(self._detail(self._detail_ticket(pk)))

    # --- create -----------------------------------------------------------------------
    def create(self, request):
        body = s.TicketCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        team_id = data.pop("team_id", None)
        if team_id is not None:
            data["team"] = team_resolve(
                organization_id=self._org(), team_id=team_id, field="team_id"
            )
        actor, label = self._actor()
        ticket = ticket_intake(
            organization=request.user.organization, actor=actor, actor_label=label, **data
        )
        detail = self._detail(self._detail_ticket(ticket.pk))
        return Response(
            {"ticket": detail, "messages": detail["messages"], "notes": detail["notes"]},
            status=status.HTTP_201_CREATED,
        )

    # --- update -----------------------------------------------------------------------
    def partial_update(self, request, pk=None):
        ticket = self._ticket(pk)
        body = s.TicketUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if "team_id" in data:  # `team` is its older name; team_id wins when both are sent
            team = team_resolve(
                organization_id=self._org(), team_id=data.pop("team_id"), field="team_id"
            )
            data["team"] = team.pk if team else None
        actor, label = self._actor()
        ticket = ticket_change(ticket=ticket, actor=actor, actor_label=label, **data)
        ticket = self._ticket(ticket.pk)
        return Response({"ticket": rep.ticket_metadata(ticket)})

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
        parameters=[
            TICKET_ID,
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
            *filterset_parameters(TicketEventFilterSet),
        ],
        responses=s.EventListSerializer,
    )
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        ticket = self._ticket(pk)
        page, limit = _page_params(request)
        events = ticket_events(ticket=ticket, filters=request.query_params)
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
        detail = self._detail(self._detail_ticket(fresh.pk))
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
