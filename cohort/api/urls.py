"""Every /api/crm/ endpoint, registered by the apps that own them."""

from cohort.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
urlpatterns = router.urls
