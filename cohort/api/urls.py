"""Every /api/crm/ endpoint."""

from activities.api.views import ActivityViewSet
from audit.api.views import AuditEntryViewSet
from contacts.api.views import ContactViewSet
from core.api.routers import OptionalSlashRouter
from deals.api.views import DealViewSet
from jobs.api.views import JobViewSet
from leads.api.views import LeadViewSet
from tags.api.views import TagViewSet

router = OptionalSlashRouter()
router.register("contacts", ContactViewSet)
router.register("leads", LeadViewSet)
router.register("deals", DealViewSet)
router.register("activities", ActivityViewSet)
router.register("tags", TagViewSet)
router.register("audit", AuditEntryViewSet)
router.register("jobs", JobViewSet, basename="job")

urlpatterns = router.urls
