from core.api.routers import OptionalSlashRouter
from segments.api.views import SegmentViewSet

router = OptionalSlashRouter()
router.register("segments", SegmentViewSet, basename="segment")
urlpatterns = router.urls
