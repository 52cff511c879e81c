"""The analytics API: the overview (the frontend's AnalyticsOverview), and per-agent,
per-team and SLA figures over a period. Views check who may see what, validate the
query parameters and call one selector (analytics.selectors).

Who sees what: managers and admins (and API keys of manager role) see their
organization. An agent sees their own figures only: the overview of the tickets
assigned to them, the agents table with their own row; the teams table and the SLA
report answer 403. An API key of agent role (the frontend's key) acts for the
organization without being a person: it sees the organization's overview; the
per-person tables answer 403.

Reports read from the replica when there is one (agents.replica): as fresh as it is."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.principals import ApiKeyPrincipal
from agents.replica import replica_reads
from analytics import selectors
from analytics.api import serializers as s
from analytics.api.renderers import CSVRenderer

START = OpenApiParameter(
    "start_date", str, description="First day, YYYY-MM-DD (default: 29 days before end_date)."
)
END = OpenApiParameter("end_date", str, description="Last day, YYYY-MM-DD (default: today).")
TEAM = OpenApiParameter(
    "team_id", str, description="A team of the organization (another's is 404)."
)
FORMAT = OpenApiParameter(
    "format", str, enum=s.FORMATS, description="csv: download the table as CSV."
)
MANAGERS_ONLY = "Team and organization figures are for managers and admins."
PEOPLE_ONLY = "Per-agent figures need an agent login or a manager's key."


class _AnalyticsView(APIView):
    params_class = s.PeriodParamsSerializer

    def perform_content_negotiation(self, request, force=False):
        # `format` picks the renderer (DRF's URL_FORMAT_OVERRIDE): an unknown one is a
        # 400 naming it, not DRF's 404.
        fmt = request.query_params.get("format")
        if not force and fmt is not None:
            allowed = [r.format for r in self.get_renderers()]
            if fmt not in allowed:
                raise exceptions.ValidationError(
                    {"format": [f'"{fmt}" is not valid; allowed values: {", ".join(allowed)}.']}
                )
        return super().perform_content_negotiation(request, force)

    def params(self, request) -> dict:
        body = self.params_class(data=request.query_params)
        body.is_valid(raise_exception=True)
        params = dict(body.validated_data)
        params.pop("format", None)
        if params.get("team_id") is not None:
            selectors.team_get_for_organization(
                organization_id=request.user.organization_id, team_id=params["team_id"]
            )
        organization_id = request.user.organization_id
        period = selectors.period_resolve(
            organization_id=organization_id,
            start=params.get("start_date"),
            end=params.get("end_date"),
        )
        return {
            "organization_id": organization_id,
            "start": period.start,
            "end": period.end,
            "period": period,
            **({"team_id": params["team_id"]} if params.get("team_id") else {}),
        }

    @staticmethod
    def sees_organization(user) -> bool:
        return bool(getattr(user, "is_manager", False))

    def download(self, response: Response, name: str) -> Response:
        if getattr(self.request, "accepted_renderer", None) and (
            self.request.accepted_renderer.format == "csv"
        ):
            period = response.data["period"]
            response["Content-Disposition"] = (
                f'attachment; filename="{name}_{period["start"]}_{period["end"]}.csv"'
            )
        return response


class OverviewView(_AnalyticsView):
    params_class = s.TeamPeriodParamsSerializer

    @extend_schema(
        summary="Dashboard overview for a period (the frontend's AnalyticsOverview)",
        description="Tickets created in the period by status (open = open or in progress, "
        "closed = resolved or closed), priority and channel; response times (business "
        "time where an SLA clock measured them, else calendar time); SLA compliance, "
        "CSAT, at-risk customers. Figures the backend does not measure are 0 and listed "
        "in `not_measured`. An agent sees the figures of the tickets assigned to them.",
        parameters=[START, END, TEAM],
        responses=s.OverviewSerializer,
    )
    @replica_reads()
    def get(self, request):
        params = self.params(request)
        user = request.user
        if not self.sees_organization(user) and not isinstance(user, ApiKeyPrincipal):
            params["agent_id"] = user.pk
        return Response(selectors.overview(**params))


class AgentMetricsView(_AnalyticsView):
    params_class = s.TableParamsSerializer
    renderer_classes = [JSONRenderer, CSVRenderer]
    table_key = "agents"
    table_row_serializer = s.AgentMetricsSerializer

    @extend_schema(
        summary="Performance per agent over a period (an agent: their own row)",
        parameters=[START, END, TEAM, FORMAT],
        responses=s.AgentTableSerializer,
    )
    @replica_reads()
    def get(self, request):
        params = self.params(request)
        user = request.user
        if not self.sees_organization(user):
            if isinstance(user, ApiKeyPrincipal):
                raise exceptions.PermissionDenied(PEOPLE_ONLY)
            params["agent_id"] = user.pk
        rows = selectors.agent_metrics(**params)
        return self.download(
            Response(
                {
                    "period": params["period"].as_dict(),
                    "time_basis": selectors.TIME_BASIS,
                    "agents": rows,
                }
            ),
            "agents",
        )


class TeamMetricsView(_AnalyticsView):
    params_class = s.TableParamsSerializer
    renderer_classes = [JSONRenderer, CSVRenderer]
    table_key = "teams"
    table_row_serializer = s.TeamMetricsSerializer

    @extend_schema(
        summary="Performance per team over a period (managers)",
        parameters=[START, END, TEAM, FORMAT],
        responses=s.TeamTableSerializer,
    )
    @replica_reads()
    def get(self, request):
        params = self.params(request)
        if not self.sees_organization(request.user):
            raise exceptions.PermissionDenied(MANAGERS_ONLY)
        rows = selectors.team_metrics(**params)
        return self.download(
            Response(
                {
                    "period": params["period"].as_dict(),
                    "time_basis": selectors.TIME_BASIS,
                    "teams": rows,
                }
            ),
            "teams",
        )


class SlaReportView(_AnalyticsView):
    params_class = s.TeamPeriodParamsSerializer

    @extend_schema(
        summary="SLA compliance over a period, per metric and priority (managers)",
        parameters=[START, END, TEAM],
        responses=s.SlaReportSerializer,
    )
    @replica_reads()
    def get(self, request):
        params = self.params(request)
        if not self.sees_organization(request.user):
            raise exceptions.PermissionDenied(MANAGERS_ONLY)
        return Response(selectors.sla_report(**params))
