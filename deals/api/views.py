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

    def perform_create(self, serializer):
        # A new deal belongs to whoever creates it unless the request names an owner.
        data = serializer.validated_data
        owner = data.get("owner", self.request.user)
        serializer.instance = save_deal(Deal(**{**data, "owner": owner}))

    def perform_update(self, serializer):
        deal = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(deal, field, value)
        save_deal(deal)

    def perform_destroy(self, instance):
        delete_deal(instance)
