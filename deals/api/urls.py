"""/api/crm/deals (included by cohort/urls.py)."""

from core.api.routers import OptionalSlashRouter
from deals.api.views import DealViewSet

router = OptionalSlashRouter()
router.register("deals", DealViewSet)
urlpatterns = router.urls
