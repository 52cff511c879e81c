from django.urls import re_path

from agents.api.routers import OptionalSlashRouter
from rules.api.macro_views import ApplyMacroView, MacroViewSet

# Every path answers with and without a trailing slash (browsers must not be redirected).
router = OptionalSlashRouter()
router.register("macros", MacroViewSet, basename="macro")

urlpatterns = [
    *router.urls,
    re_path(
        r"^tickets/(?P<ticket_id>[^/]+)/apply-macro/?$",
        ApplyMacroView.as_view(),
        name="ticket-apply-macro",
    ),
]
