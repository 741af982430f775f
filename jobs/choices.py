from django.db import models


class JobKind(models.TextChoices):
    SEGMENT_SYNC = "segment_sync", "Segment sync"
    BULK_TAG = "bulk_tag", "Bulk tagging"
    SEGMENT_EXPORT = "segment_export", "Segment export"
    IMPORT = "import", "Import"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"


FINISHED_STATES = (JobState.SUCCEEDED, JobState.FAILED)
ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
