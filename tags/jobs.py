"""Bulk tagging over many records as a background job (jobs.services).

Pages and the API tag up to settings.COHORT_BULK_TAG_JOB_ABOVE records inside the
request; above that they call `request_bulk_tagging`, and `run_bulk_tag` does the
same set-based work (tags.services.bulk_tag) in a worker, in one transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict

from accounts.models import User
from core.ownership import split_editable
from jobs import services as jobs
from jobs.choices import JobKind
from jobs.models import Job
from tags import services
from tags.models import Tag
from tags.records import TAGGABLE_TYPES, TaggableType


def matching_records(taggable: TaggableType, query: QueryDict) -> QuerySet | None:
    """The records a list filter selects, or None when the filter is not valid."""
    model = taggable.model
    filterset = taggable.filterset_class(query, queryset=model.objects.all())
    return filterset.qs if filterset.is_valid() else None


def request_bulk_tagging(
    taggable: TaggableType,
    *,
    ids: list[int] | None = None,
    query: QueryDict | None = None,
    add: list[Tag] = (),
    remove: list[Tag] = (),
    user: User | None,
    matched: int,
) -> Job:
    """A job tagging the records given by `ids`, or by the list filter `query` as it runs."""
    add, remove = list(add), list(remove)
    verb = " and ".join(
        part
        for part in (
            f"add {', '.join(tag.name for tag in add)}" if add else "",
            f"remove {', '.join(tag.name for tag in remove)}" if remove else "",
        )
        if part
    )
    params = {
        "record_type": taggable.key,
        "add": [tag.pk for tag in add],
        "remove": [tag.pk for tag in remove],
        "matched": matched,
    }
    if ids is not None:
        params["ids"] = list(ids)
    else:
        params["query"] = (query or QueryDict()).urlencode()
    title = f"Bulk tagging of {matched:,} {taggable.model._meta.verbose_name_plural}: {verb}"
    return jobs.start_job(JobKind.BULK_TAG, title=title, params=params, user=user)


def _tags(ids: list[int]) -> list[Tag]:
    found = {tag.pk: tag for tag in Tag.objects.filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise jobs.JobFailed(
            f"A tag was deleted or merged before the job ran (id {missing[0]}); "
            "nothing was changed."
        )
    return [found[pk] for pk in ids]


def run_bulk_tag(job: Job, progress: jobs.ProgressReporter) -> dict:
    params = job.params
    taggable = TAGGABLE_TYPES[params["record_type"]]
    if "ids" in params:
        records = taggable.model.objects.filter(pk__in=params["ids"])
    else:
        records = matching_records(taggable, QueryDict(params["query"]))
        if records is None:
            raise jobs.JobFailed("The list's filter is not valid; nothing was changed.")
    # As in the request: only the records its user may change (core.ownership).
    records, skipped = split_editable(job.created_by, records)
    steps = [(tag, True) for tag in _tags(params["add"])]
    steps += [(tag, False) for tag in _tags(params["remove"])]
    # In id order, the order bulk_tag locks tags in, so two bulk actions cannot deadlock.
    steps.sort(key=lambda step: step[0].pk)
    added = removed = 0
    try:
        with transaction.atomic():
            for done, (tag, adding) in enumerate(steps):
                verb = "Adding" if adding else "Removing"
                progress(f"{verb} “{tag.name}”", 100 * done // len(steps))
                result = services.bulk_tag(
                    taggable,
                    records,
                    add=[tag] if adding else [],
                    remove=[] if adding else [tag],
                    user=job.created_by,
                )
                added += result.added
                removed += result.removed
    except services.TagError as error:
        raise jobs.JobFailed(f"{error} Nothing was changed.") from error
    return {
        "record_type": taggable.key,
        "matched": params.get("matched"),
        "skipped": skipped,
        "added": added,
        "removed": removed,
    }
