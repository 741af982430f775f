"""/api/crm/audit (included by cohort/urls.py)."""

from audit.api.views import AuditEntryViewSet
from core.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("audit", AuditEntryViewSet)
urlpatterns = router.urls
