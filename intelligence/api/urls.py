from django.urls import re_path

from intelligence.api.ai_views import DraftView, RecommendationActionView, RecommendationView
from intelligence.api.system_views import ChurnAnalyticsView, SystemConfigurationView
from intelligence.api.views import CustomerChurnView, CustomerProfileView

ID = r"(?P<ticket_id>[^/]+)"

urlpatterns = [
    re_path(
        r"^mcp/customer/(?P<customer_id>[^/]+)/churn-risk/?$",
        CustomerChurnView.as_view(),
        name="mcp-customer-churn",
    ),
    re_path(
        r"^mcp/customer/(?P<customer_id>[^/]+)/?$",
        CustomerProfileView.as_view(),
        name="mcp-customer",
    ),
    re_path(
        r"^customers/(?P<customer_id>[^/]+)/intelligence/?$",
        CustomerProfileView.as_view(),
        name="customer-intelligence",
    ),
    # The frontend's AI paths.
    re_path(
        rf"^ai/tickets/{ID}/draft-response/regenerate/?$",
        DraftView.as_view(http_method_names=["post", "options"]),
        name="ai-draft-regenerate",
    ),
    re_path(
        rf"^ai/tickets/{ID}/draft-response/?$",
        DraftView.as_view(http_method_names=["get", "options"]),
        name="ai-draft",
    ),
    re_path(
        rf"^ai/tickets/{ID}/recommendation/actions/(?P<index>[0-9]+)/?$",
        RecommendationActionView.as_view(),
        name="ai-recommendation-action",
    ),
    re_path(
        rf"^ai/tickets/{ID}/recommendation/?$",
        RecommendationView.as_view(),
        name="ai-recommendation",
    ),
    # Clearly named equivalents.
    re_path(rf"^tickets/{ID}/draft/?$", DraftView.as_view(), name="ticket-draft"),
    re_path(
        rf"^tickets/{ID}/recommendations/?$",
        RecommendationView.as_view(),
        name="ticket-recommendations",
    ),
    re_path(
        r"^system/configuration/?$", SystemConfigurationView.as_view(), name="system-configuration"
    ),
    re_path(r"^analytics/churn-risk/?$", ChurnAnalyticsView.as_view(), name="analytics-churn"),
]
