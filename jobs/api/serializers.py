from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.reverse import reverse

from jobs.choices import JobKind, JobState
from jobs.models import Job
from jobs.services import with_live_progress


class JobSerializer(serializers.ModelSerializer):
    """A job as `GET /api/crm/jobs/{id}` reports it; `result` depends on `kind`."""

    kind = serializers.ChoiceField(choices=JobKind.choices)
    state = serializers.ChoiceField(choices=JobState.choices)
    result = serializers.JSONField(allow_null=True, help_text="What the job did, once done.")
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "url",
            "kind",
            "title",
            "state",
            "phase",
            "progress",
            "result",
            "error",
            "download_url",
            "segment",
            "created_at",
            "started_at",
            "finished_at",
            "attempts",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Job) -> dict:
        return super().to_representation(with_live_progress(instance))

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, job: Job) -> str:
        return reverse("job-detail", args=[job.pk], request=self.context.get("request"))

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download_url(self, job: Job) -> str | None:
        if job.kind != JobKind.SEGMENT_EXPORT or job.state != JobState.SUCCEEDED:
            return None
        return reverse("job-download", args=[job.pk], request=self.context.get("request"))


def accepted(job: Job, context: dict) -> Response:
    """202 Accepted with the job, and its address in Location: work started in the background."""
    body = JobSerializer(job, context=context).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})
