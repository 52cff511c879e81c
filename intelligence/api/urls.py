from django.urls import re_path

from intelligence.api.views import CustomerChurnView, CustomerProfileView

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
]
