from core.api.viewsets import RecordViewSet
from deals.api.serializers import DealSerializer
from deals.filtersets import DealFilterSet
from deals.models import Deal
from deals.services import delete_deal, save_deal
from tags.api.views import TaggedRecordViewSetMixin  # tags compose onto records (README: layers)


class DealViewSet(TaggedRecordViewSetMixin, RecordViewSet):
    """Deals are saved and deleted by deals.services, which tells live segments about their
    contacts."""

    queryset = Deal.objects.select_related("owner")
    serializer_class = DealSerializer
    filterset_class = DealFilterSet

    def save_record(self, record):
        return save_deal(record)

    def delete_record(self, record):
        delete_deal(record)
