"""/api/crm/contacts (included by cohort/urls.py)."""

from contacts.api.views import ContactViewSet
from core.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("contacts", ContactViewSet)
urlpatterns = router.urls
