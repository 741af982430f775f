from cohort.api.viewsets import RecordViewSet
from leads.api.serializers import LeadSerializer
from leads.filtersets import LeadFilterSet
from leads.models import Lead


class LeadViewSet(RecordViewSet):
    queryset = Lead.objects.select_related("owner")
    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet
