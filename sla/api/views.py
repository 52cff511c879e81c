from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from agents.exceptions import DomainError, NotFound
from agents.permissions import IsManagerOrReadOnly
from agents.principals import caller_actor
from sla.api import serializers as s
from sla.business_time import CalendarError
from sla.calendars import calendar_build
from sla.models import BusinessCalendar, SLAPolicy
from sla.policies import calendar_delete, calendar_save, policy_delete, policy_save
from tickets.selectors import uuid_parse

OBJECT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class _OrgScoped(viewsets.GenericViewSet):
    permission_classes = [IsManagerOrReadOnly]
    lookup_value_regex = "[^/]+"
    model = None
    what = ""

    def get_queryset(self):
        return self.model.objects.filter(organization_id=self.request.user.organization_id)

    def _get(self, pk):
        row = self.get_queryset().filter(pk=uuid_parse(pk, field="id", what=self.what)).first()
        if row is None:
            raise NotFound(f"{self.what.capitalize()} {pk} not found.")
        return row


@extend_schema_view(
    list=extend_schema(summary="Business calendars", responses=s.CalendarListSerializer),
    retrieve=extend_schema(parameters=[OBJECT_ID], responses=s.CalendarSerializer),
    create=extend_schema(request=s.CalendarWriteSerializer, responses={201: s.CalendarSerializer}),
    partial_update=extend_schema(
        parameters=[OBJECT_ID],
        request=s.CalendarWriteSerializer(partial=True),
        responses=s.CalendarSerializer,
    ),
    destroy=extend_schema(parameters=[OBJECT_ID], responses={204: None}),
)
class CalendarViewSet(_OrgScoped):
    model = BusinessCalendar
    what = "calendar"
    serializer_class = s.CalendarSerializer

    def list(self, request):
        return Response(
            {"calendars": [s.calendar_data(c) for c in self.get_queryset().order_by("name")]}
        )

    def retrieve(self, request, pk=None):
        return Response(s.calendar_data(self._get(pk)))

    def create(self, request):
        body = s.CalendarWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        calendar = calendar_save(
            organization=request.user.organization,
            data=dict(body.validated_data),
            actor=caller_actor(request.user)[0],
        )
        return Response(s.calendar_data(calendar), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        calendar = self._get(pk)
        body = s.CalendarWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        calendar = calendar_save(
            organization=request.user.organization,
            data=dict(body.validated_data),
            calendar=calendar,
            actor=caller_actor(request.user)[0],
        )
        return Response(s.calendar_data(calendar))

    def destroy(self, request, pk=None):
        calendar_delete(calendar=self._get(pk), actor=caller_actor(request.user)[0])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Why this deadline: the due instant, the business intervals counted and "
        "the days skipped",
        parameters=[
            OBJECT_ID,
            OpenApiParameter("start", OpenApiTypes.DATETIME, required=True),
            OpenApiParameter("minutes", int, required=True),
        ],
        responses=s.DueSerializer,
    )
    @action(detail=True, methods=["get"])
    def due(self, request, pk=None):
        calendar = self._get(pk)
        params = s.DueParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            why = calendar_build(calendar).explain(
                params.validated_data["start"], params.validated_data["minutes"] * 60
            )
        except CalendarError as exc:
            raise DomainError(str(exc), field="minutes") from None
        except OverflowError:
            raise DomainError(
                "start: the deadline falls outside the supported dates (years 1 to 9999).",
                field="start",
            ) from None
        return Response(why)


@extend_schema_view(
    list=extend_schema(summary="SLA policies, in matching order", responses=s.PolicyListSerializer),
    retrieve=extend_schema(parameters=[OBJECT_ID], responses=s.PolicySerializer),
    create=extend_schema(request=s.PolicyWriteSerializer, responses={201: s.PolicySerializer}),
    partial_update=extend_schema(
        parameters=[OBJECT_ID],
        request=s.PolicyWriteSerializer(partial=True),
        responses=s.PolicySerializer,
    ),
    destroy=extend_schema(parameters=[OBJECT_ID], responses={204: None}),
)
class PolicyViewSet(_OrgScoped):
    model = SLAPolicy
    what = "policy"
    serializer_class = s.PolicySerializer

    def list(self, request):
        policies = self.get_queryset().order_by("position", "name")
        return Response({"policies": s.PolicySerializer(policies, many=True).data})

    def retrieve(self, request, pk=None):
        return Response(s.PolicySerializer(self._get(pk)).data)

    def create(self, request):
        body = s.PolicyWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        policy = policy_save(
            organization=request.user.organization,
            data=dict(body.validated_data),
            actor=caller_actor(request.user)[0],
        )
        return Response(s.PolicySerializer(policy).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        policy = self._get(pk)
        body = s.PolicyWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        policy = policy_save(
            organization=request.user.organization,
            data=dict(body.validated_data),
            policy=policy,
            actor=caller_actor(request.user)[0],
        )
        return Response(s.PolicySerializer(policy).data)

    def destroy(self, request, pk=None):
        policy_delete(policy=self._get(pk), actor=caller_actor(request.user)[0])
        return Response(status=status.HTTP_204_NO_CONTENT)
