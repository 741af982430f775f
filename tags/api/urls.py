"""/api/crm/tags (included by cohort/urls.py)."""

from core.api.routers import OptionalSlashRouter
from tags.api.views import TagViewSet

router = OptionalSlashRouter()
router.register("tags", TagViewSet)
urlpatterns = router.urls
