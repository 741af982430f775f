"""/api/crm/jobs (included by cohort/urls.py)."""

from core.api.routers import OptionalSlashRouter
from jobs.api.views import JobViewSet

router = OptionalSlashRouter()
router.register("jobs", JobViewSet, basename="job")
urlpatterns = router.urls
