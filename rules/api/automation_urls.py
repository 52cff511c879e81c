from agents.api.routers import OptionalSlashRouter
from rules.api.automation_views import AutomationViewSet

# Every path answers with and without a trailing slash (browsers must not be redirected).
router = OptionalSlashRouter()
router.register("automations", AutomationViewSet, basename="automation")

urlpatterns = router.urls
