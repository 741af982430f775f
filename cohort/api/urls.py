"""Every /api/crm/ endpoint."""

from activities.api.views import ActivityViewSet
from cohort.api.routers import OptionalSlashRouter
from contacts.api.views import ContactViewSet
from deals.api.views import DealViewSet
from leads.api.views import LeadViewSet

router = OptionalSlashRouter()
router.register("contacts", ContactViewSet)
router.register("leads", LeadViewSet)
router.register("deals", DealViewSet)
router.register("activities", ActivityViewSet)

urlpatterns = router.urls
