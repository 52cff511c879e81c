from agents.api.routers import OptionalSlashRouter
from routing.api.team_views import SkillViewSet, TeamViewSet

# Every path answers with and without a trailing slash (browsers must not be redirected).
router = OptionalSlashRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("skills", SkillViewSet, basename="skill")

urlpatterns = router.urls
