from agents.api.routers import OptionalSlashRouter
from integrations.api.views import WebhookViewSet

# Every path answers with and without a trailing slash (browsers must not be redirected).
router = OptionalSlashRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
