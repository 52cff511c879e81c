from agents.api.routers import OptionalSlashRouter
from sla.api.views import CalendarViewSet, PolicyViewSet

router = OptionalSlashRouter()
router.register("sla/calendars", CalendarViewSet, basename="sla-calendar")
router.register("sla/policies", PolicyViewSet, basename="sla-policy")

urlpatterns = router.urls
