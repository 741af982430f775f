from core.api.viewsets import RecordViewSet
from leads.api.serializers import LeadSerializer
from leads.filtersets import LeadFilterSet
from leads.models import Lead
from leads.services import delete_lead
from tags.api.views import TaggedRecordViewSetMixin  # tags compose onto records (README: layers)


class LeadViewSet(TaggedRecordViewSetMixin, RecordViewSet):
    queryset = Lead.objects.select_related("owner")
    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet

    def delete_record(self, record):
        delete_lead(record)
