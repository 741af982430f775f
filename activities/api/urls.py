"""/api/crm/activities (included by cohort/urls.py)."""

from activities.api.views import ActivityViewSet
from core.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("activities", ActivityViewSet)
urlpatterns = router.urls
