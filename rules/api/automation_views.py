"""Automation rules: everyone in the organization reads, managers and admins write;
another organization's id is a 404. Dry runs and replays write nothing."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from agents.permissions import IsManagerOrReadOnly
from agents.principals import caller_actor
from rules.api import automation_serializers as s
from rules.automation.schema import rule_validate
from rules.automation_selectors import (
    automation_dry_run,
    automation_get,
    automation_list,
    automation_replay,
    automation_runs,
)
from rules.automation_services import automation_create, automation_delete, automation_update
from rules.models import AutomationRule
from tickets.api.representations import paged

OBJECT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
PAGE = [
    OpenApiParameter("page", int, description="Page number (from 1)."),
    OpenApiParameter("limit", int, description=f"Page size, 1-{s.MAX_LIMIT}; 50."),
]


def _page(request, params_class, queryset_for, key, data):
    """A paged list whose filters `params_class` validates (page and limit included)."""
    params = params_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    # A QueryDict reads a missing boolean as false: keep only the filters given.
    filters = {
        k: v
        for k, v in params.validated_data.items()
        if k not in ("page", "limit") and k in request.query_params
    }
    return paged(
        request,
        queryset_for(**filters),
        key=key,
        data=data,
        default_limit=50,
        max_limit=s.MAX_LIMIT,
    )


@extend_schema_view(
    list=extend_schema(
        summary="Automation rules, in the order they run",
        parameters=[
            *PAGE,
            OpenApiParameter("trigger", str, enum=AutomationRule.Trigger.values),
            OpenApiParameter("active", bool),
        ],
        responses=s.AutomationListSerializer,
    ),
    retrieve=extend_schema(
        summary="An automation rule", parameters=[OBJECT_ID], responses=s.AutomationSerializer
    ),
    create=extend_schema(
        summary="Create an automation rule (validated as a whole: errors name the path)",
        request=s.AutomationWriteSerializer,
        responses={201: s.AutomationSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an automation rule",
        parameters=[OBJECT_ID],
        request=s.AutomationWriteSerializer(partial=True),
        responses=s.AutomationSerializer,
    ),
    destroy=extend_schema(
        summary="Delete an automation rule and its runs",
        parameters=[OBJECT_ID],
        responses={204: None},
    ),
)
class AutomationViewSet(viewsets.GenericViewSet):
    permission_classes = [IsManagerOrReadOnly]
    serializer_class = s.AutomationSerializer
    lookup_value_regex = "[^/]+"  # malformed ids reach the view and get a clear 400

    def _org(self):
        return self.request.user.organization_id

    def _actor(self):
        return caller_actor(self.request.user)[0]

    def _get(self, pk) -> AutomationRule:
        return automation_get(organization_id=self._org(), rule_id=pk)

    def get_queryset(self):
        return automation_list(organization_id=self._org())

    def list(self, request):
        return _page(
            request,
            s.AutomationFilterSerializer,
            lambda **f: automation_list(organization_id=self._org(), **f),
            "automations",
            s.automation_data,
        )

    def retrieve(self, request, pk=None):
        return Response(s.automation_data(self._get(pk)))

    def create(self, request):
        body = s.AutomationWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = automation_create(
            organization=request.user.organization,
            data=dict(body.validated_data),
            actor=self._actor(),
        )
        return Response(s.automation_data(rule), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        rule = self._get(pk)
        body = s.AutomationWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        rule = automation_update(rule=rule, data=dict(body.validated_data), actor=self._actor())
        return Response(s.automation_data(rule))

    def destroy(self, request, pk=None):
        automation_delete(rule=self._get(pk), actor=self._actor())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The rule's executions, newest first",
        parameters=[
            OBJECT_ID,
            *PAGE,
            OpenApiParameter("outcome", str, enum=s.RuleRun.Outcome.values),
        ],
        responses=s.RunListSerializer,
    )
    @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated])
    def runs(self, request, pk=None):
        rule = self._get(pk)
        return _page(
            request,
            s.RunFilterSerializer,
            lambda **f: automation_runs(rule=rule, **f),
            "runs",
            s.run_data,
        )

    @extend_schema(
        summary="The tickets the rule would act on now, and what it would do (writes nothing)",
        parameters=[OBJECT_ID],
        request=s.DryRunParamsSerializer,
        responses=s.DryRunSerializer,
    )
    @action(detail=True, methods=["post"], url_path="dry-run", permission_classes=[IsAuthenticated])
    def dry_run(self, request, pk=None):
        rule = self._get(pk)
        body = s.DryRunParamsSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        return Response(automation_dry_run(rule=rule, limit=body.validated_data["limit"]))

    @extend_schema(
        operation_id="automations_replay",
        summary="Replay an unsaved rule over a past period: what it would have done "
        "(writes nothing)",
        request=s.ReplaySerializer,
        responses=s.ReplayAnswerSerializer,
    )
    @action(
        detail=False, methods=["post"], url_path="dry-run", permission_classes=[IsAuthenticated]
    )
    def replay(self, request):
        body = s.ReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        since, until = data.pop("since"), data.pop("until", None)
        conditions, actions = rule_validate(
            organization_id=self._org(),
            trigger=data["trigger"],
            conditions=data.get("conditions") or {},
            actions=data.get("actions"),
        )
        rule = AutomationRule(
            organization_id=self._org(),
            name=data.get("name", ""),
            trigger=data["trigger"],
            conditions=conditions,
            actions=actions,
            stop_processing=data.get("stop_processing", False),
        )
        return Response(automation_replay(rule=rule, since=since, until=until))
