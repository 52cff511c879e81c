from django.urls import re_path

from agents.api.routers import OptionalSlashRouter
from rules.api.views import PrioritizeView, RuleViewSet

router = OptionalSlashRouter()
router.register("rules", RuleViewSet, basename="rule")

urlpatterns = [
    # Before the tickets router, whose detail route would otherwise take "prioritize".
    re_path(r"^tickets/prioritize/?$", PrioritizeView.as_view(), name="tickets-prioritize"),
    *router.urls,
]
