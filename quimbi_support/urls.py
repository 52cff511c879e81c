from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from analytics.views import dashboard as analytics_dashboard
from quimbi_support import health

admin.site.site_header = "Quimbi Support"
admin.site.site_title = "Quimbi Support admin"
admin.site.index_title = "Run your support team"

urlpatterns = [
    re_path(r"^health/?$", health.health, name="health"),
    re_path(r"^health/ready/?$", health.ready, name="health-ready"),
    path("admin/dashboard/", admin.site.admin_view(analytics_dashboard), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("quimbi_support.api")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]

handler404 = "quimbi_support.api.not_found"
handler500 = "quimbi_support.api.server_error"
