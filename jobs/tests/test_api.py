"""GET /api/crm/jobs: each person follows their own jobs and, when they may view segments,
every segment's syncs (others' exports hold their columns: not theirs); Administrators
everyone's."""

from django.contrib.auth.models import Permission

from jobs.choices import JobKind, JobState
from jobs.models import Job
from jobs.services import start_job
from segments.export import csv_chunks
from segments.jobs import request_export, request_sync
from tags.jobs import request_bulk_tagging
from tags.records import TAGGABLE_TYPES

URL = "/api/crm/jobs"


def test_a_finished_sync_job_reads_back_with_its_result(api, americans, admin_user):
    job = request_sync(americans, admin_user)

    body = api.get(f"{URL}/{job.pk}").json()

    assert (body["kind"], body["state"], body["progress"], body["phase"]) == (
        "segment_sync",
        "succeeded",
        100,
        "Done",
    )
    assert body["result"]["members_after"] == 3
    assert body["title"] == "Sync of “Americans”"
    assert body["attempts"] == 1
    assert body["segment"] == americans.pk
    assert body["download_url"] is None


def test_someone_elses_bulk_tagging_job_is_not_found(
    api_client_for, people, vip, admin_user, manager
):
    job = request_bulk_tagging(
        TAGGABLE_TYPES["contacts"], ids=[people["Cy"].pk], add=[vip], user=admin_user, matched=1
    )

    response = api_client_for(manager).get(f"{URL}/{job.pk}")

    assert response.status_code == 404
    assert api_client_for(manager).get(URL).json()["results"] == []


def test_a_segments_sync_is_followed_by_whoever_may_view_segments(
    api_client_for, americans, admin_user, viewer, make_user
):
    # A second Sync joins the running job, and a scheduled sync is started by no one.
    job = request_sync(americans, admin_user)
    scheduled = request_sync(americans, None)

    for user in (viewer, admin_user):
        body = api_client_for(user).get(URL).json()
        assert [row["id"] for row in body["results"]] == [str(scheduled.pk), str(job.pk)]
    tagger = make_user("tagger")
    tagger.user_permissions.add(Permission.objects.get(codename="change_contact"))
    assert api_client_for(tagger).get(f"{URL}/{job.pk}").status_code == 404


def test_administrators_see_everyones_jobs(api, api_client_for, americans, manager):
    job = request_sync(americans, manager)

    assert api.get(f"{URL}/{job.pk}").status_code == 200
    assert [row["id"] for row in api.get(URL).json()["results"]] == [str(job.pk)]
    assert [row["id"] for row in api_client_for(manager).get(URL).json()["results"]] == [
        str(job.pk)
    ]


def test_without_a_token_it_is_401(client, americans, admin_user):
    job = request_sync(americans, admin_user)

    assert client.get(f"{URL}/{job.pk}").status_code == 401


def test_an_unknown_or_malformed_id_is_404(api):
    assert api.get(f"{URL}/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.get(f"{URL}/not-a-uuid").status_code == 404


def test_export_job_file_is_the_same_csv_as_the_streamed_export(api, americans, admin_user):
    request_sync(americans, admin_user)
    americans.refresh_from_db()

    response = api.post(f"/api/crm/segments/{americans.pk}/export")

    assert response.status_code == 202
    body = response.json()
    assert (body["state"], body["result"]["rows"]) == ("succeeded", 3)
    download = api.get(body["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert body["result"]["filename"] in download["Content-Disposition"]
    assert b"".join(download.streaming_content).decode() == "".join(csv_chunks(americans))


def test_an_expired_export_file_says_so(api, americans, admin_user, settings):
    job = request_export(americans, admin_user)
    (settings.COHORT_JOB_FILES_DIR / f"{job.pk}.csv").unlink()

    response = api.get(f"{URL}/{job.pk}/download")

    assert response.status_code == 404
    assert response.json() == {"detail": "The export file has expired; export again."}


def test_only_a_finished_export_has_a_file(api, americans, admin_user):
    sync = request_sync(americans, admin_user)
    queued = Job.objects.create(
        kind=JobKind.SEGMENT_EXPORT, title="Export", created_by=admin_user, segment=americans
    )

    assert api.get(f"{URL}/{sync.pk}/download").status_code == 404
    assert api.get(f"{URL}/{queued.pk}/download").status_code == 404
    assert queued.state == JobState.QUEUED


def test_a_job_for_a_deleted_segment_fails_saying_why(admin_user, americans):
    params = {"segment_id": americans.pk + 1000}

    job = start_job(JobKind.SEGMENT_SYNC, title="Sync", params=params, user=admin_user)

    assert (job.state, job.error) == ("failed", "The segment was deleted before its sync ran.")


def test_someone_who_cannot_start_jobs_is_refused(api_client_for, client, nobody):
    assert api_client_for(nobody).get(URL).status_code == 403
    client.force_login(nobody)
    assert client.get("/admin/jobs").status_code == 403
