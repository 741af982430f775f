from cohort.api.viewsets import RecordViewSet
from deals.api.serializers import DealSerializer
from deals.filtersets import DealFilterSet
from deals.models import Deal


class DealViewSet(RecordViewSet):
    queryset = Deal.objects.select_related("owner")
    serializer_class = DealSerializer
    filterset_class = DealFilterSet
