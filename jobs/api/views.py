"""GET /api/crm/jobs and /api/crm/jobs/{id}: background jobs, as their requester sees them."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import renderers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission

from jobs import services
from jobs.api.serializers import JobSerializer
from jobs.views import csv_download


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class CanFollowJobs(BasePermission):
    """Signed in, with a permission that starts jobs; whose jobs is the queryset's business."""

    def has_permission(self, request, view) -> bool:
        return services.may_follow_jobs(request.user)


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    """Jobs you started (every job, with "view everyone's background jobs"), newest first.

    Poll a job's `url` until `state` is `succeeded` or `failed`; `phase` and
    `progress` (0-100) say how far it is.
    """

    serializer_class = JobSerializer
    # Anyone who can start jobs follows their own; the queryset hides everyone else's (404).
    permission_classes = [CanFollowJobs]
    filter_backends = []
    lookup_value_regex = r"[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        return services.visible_jobs(self.request.user)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The file an export job wrote (CSV)",
        operation_id="jobs_download_csv",
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[renderers.JSONRenderer, CSVRenderer],
        pagination_class=None,
    )
    def download(self, request, pk=None):
        try:
            path, filename = services.export_file(self.get_object())
        except services.NoJobFile as error:
            raise NotFound(str(error)) from None
        return csv_download(path, filename)
