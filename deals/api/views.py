from cohort.api.viewsets import RecordViewSet
from deals.api.serializers import DealSerializer
from deals.filtersets import DealFilterSet
from deals.models import Deal
from tags.api.views import TaggedRecordViewSetMixin, prefetch_tags


class DealViewSet(TaggedRecordViewSetMixin, RecordViewSet):
    queryset = prefetch_tags(Deal.objects.select_related("owner"))
    serializer_class = DealSerializer
    filterset_class = DealFilterSet
