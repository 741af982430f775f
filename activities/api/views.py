from activities.api.serializers import ActivitySerializer
from activities.filtersets import ActivityFilterSet
from activities.models import Activity
from activities.services import delete_activity, log_activity
from core.api.viewsets import RecordViewSet


class ActivityViewSet(RecordViewSet):
    """Activities keep their contact's last_activity_at current (activities.services)."""

    queryset = Activity.objects.select_related("owner")
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilterSet

    def save_record(self, record):
        return log_activity(record)

    def delete_record(self, record):
        delete_activity(record)
