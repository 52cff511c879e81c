from django.urls import re_path

from analytics.api.views import AgentMetricsView, OverviewView, SlaReportView, TeamMetricsView

urlpatterns = [
    re_path(r"^analytics/overview/?$", OverviewView.as_view(), name="analytics-overview"),
    re_path(r"^analytics/agents/?$", AgentMetricsView.as_view(), name="analytics-agents"),
    re_path(r"^analytics/teams/?$", TeamMetricsView.as_view(), name="analytics-teams"),
    re_path(r"^analytics/sla/?$", SlaReportView.as_view(), name="analytics-sla"),
]
