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

    def perform_create(self, serializer):
        owner = serializer.validated_data.get("owner", self.request.user)
        serializer.instance = log_activity(
            Activity(**{**serializer.validated_data, "owner": owner})
        )

    def perform_update(self, serializer):
        activity = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(activity, field, value)
        log_activity(activity)

    def perform_destroy(self, instance):
        delete_activity(instance)
