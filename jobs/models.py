"""Background jobs: one row per long piece of work a person or client asked for.

The row is the job's truth for every process: a web request creates it queued,
a Celery worker (or the request itself, inline, without a broker) runs it, and
pages and the API read its state, phase, progress and result from here. Progress
reported inside the work's own transaction goes through the cache (jobs.services).
"""

import uuid

from django.conf import settings
from django.db import models

from jobs.choices import JobKind, JobState


class Job(models.Model):
    # A UUID, so job URLs cannot be guessed or counted through.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    # What the job is doing now, in the words the page shows, and how far it is (0-100).
    phase = models.CharField(max_length=200, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    # What to do (ids, never model instances), and what came of it.
    params = models.JSONField(default=dict)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # A short description for lists and the page title, e.g. "Sync of “Enterprise US”".
    title = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The segment a sync or export works on. A new sync joins the segment's active one,
    # except after a change of criteria, which queues behind a running sync (segments.jobs).
    segment = models.ForeignKey(
        "segments.Segment", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Runs begun: a worker that dies mid-job has its task redelivered, and this counts up.
    attempts = models.PositiveSmallIntegerField(default=0)
    # host:pid of the process running it, for operators (and the worker-kill test).
    worker = models.CharField(max_length=200, blank=True)
    # Last sign of life of the process running it; a running job silent for too long has
    # lost its worker (jobs.services.reap_lost_jobs).
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        default_permissions = ()
        permissions = [("view_all_jobs", "view everyone's background jobs")]
        indexes = [
            models.Index(fields=["segment", "kind", "state"], name="job_segment_active_idx"),
            models.Index(fields=["created_by", "created_at"], name="job_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (JobState.SUCCEEDED, JobState.FAILED)
