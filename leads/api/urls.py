"""/api/crm/leads (included by cohort/urls.py)."""

from core.api.routers import OptionalSlashRouter
from leads.api.views import LeadViewSet

router = OptionalSlashRouter()
router.register("leads", LeadViewSet)
urlpatterns = router.urls
