from django.urls import re_path

from agents.api.routers import OptionalSlashRouter
from agents.api.views import AgentViewSet, AuthTokenView, WhoAmIView

router = OptionalSlashRouter()
router.register("agents", AgentViewSet, basename="agent")

# Every path answers with and without a trailing slash (browsers must not be redirected).
urlpatterns = [
    re_path(r"^auth/token/?$", AuthTokenView.as_view(), name="auth-token"),
    re_path(r"^auth/whoami/?$", WhoAmIView.as_view(), name="auth-whoami"),
    *router.urls,
]
