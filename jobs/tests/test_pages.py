"""Job pages, and the pages that start jobs: sync, large exports, large bulk tagging."""

from django.core.cache import cache

from jobs.choices import JobKind, JobState
from jobs.models import Job
from jobs.services import PROGRESS_KEY
from segments.jobs import request_sync
from tags.jobs import request_bulk_tagging
from tags.models import ContactTag
from tags.records import TAGGABLE_TYPES


def test_sync_button_runs_the_job_and_says_what_it_did(browser_client, americans):
    response = browser_client.post(f"/admin/crm-segments/{americans.pk}/sync", follow=True)

    assert response.redirect_chain == [(f"/admin/crm-segments/{americans.pk}", 302)]
    assert "Synced: +3 added, −0 removed, 3 members." in response.content.decode()
    assert Job.objects.get().state == JobState.SUCCEEDED


def test_segment_page_follows_a_running_sync(browser_client, americans, admin_user):
    job = Job.objects.create(
        kind=JobKind.SEGMENT_SYNC,
        title="Sync of “Americans”",
        state=JobState.RUNNING,
        created_by=admin_user,
        segment=americans,
    )
    cache.set(PROGRESS_KEY.format(job.pk), ("Adding contacts that match", 45))

    page = browser_client.get(f"/admin/crm-segments/{americans.pk}").content.decode()

    assert f'hx-get="/admin/jobs/{job.pk}"' in page
    assert 'hx-trigger="every 1s"' in page
    assert "Adding contacts that match · 45%" in page
    assert '<progress max="100" value="45"' in page


def test_polling_a_finished_sync_stops_and_refreshes_the_members(
    browser_client, americans, admin_user
):
    job = request_sync(americans, admin_user)

    response = browser_client.get(f"/admin/jobs/{job.pk}", headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response["HX-Trigger"] == "membersChanged"
    assert "every 1s" not in body  # no more polling
    assert "Synced: +3 added, −0 removed, 3 members." in body
    assert '<span id="member-count" hx-swap-oob="true">3</span>' in body


def test_someone_elses_job_page_is_not_found(client, make_user, people, vip, admin_user):
    job = request_bulk_tagging(
        TAGGABLE_TYPES["contacts"], ids=[people["Cy"].pk], add=[vip], user=admin_user, matched=1
    )
    client.force_login(make_user("other", "Sales manager"))

    assert client.get(f"/admin/jobs/{job.pk}").status_code == 404
    assert "No background jobs yet" in client.get("/admin/jobs").content.decode()


def test_a_sync_started_by_someone_else_can_be_followed(client, make_user, americans, admin_user):
    job = request_sync(americans, admin_user)
    client.force_login(make_user("other", "Sales rep"))

    assert client.get(f"/admin/jobs/{job.pk}").status_code == 200
    assert "Sync of “Americans”" in client.get("/admin/jobs").content.decode()


def test_a_large_segment_is_exported_in_the_background(
    browser_client, americans, admin_user, settings
):
    request_sync(americans, admin_user)
    settings.COHORT_EXPORT_JOB_ABOVE = 2
    page = browser_client.get(f"/admin/crm-segments/{americans.pk}").content.decode()
    assert f'action="/admin/crm-segments/{americans.pk}/export"' in page

    response = browser_client.post(f"/admin/crm-segments/{americans.pk}/export", follow=True)

    job = Job.objects.get(kind=JobKind.SEGMENT_EXPORT)
    assert response.redirect_chain == [(f"/admin/jobs/{job.pk}", 302)]
    page = response.content.decode()
    assert "Exported 3 members." in page
    assert f'href="/admin/jobs/{job.pk}/download"' in page
    download = browser_client.get(f"/admin/jobs/{job.pk}/download")
    assert b"".join(download.streaming_content).count(b"\n") == 4  # header and 3 members


def test_bulk_tagging_above_the_threshold_is_a_job(
    browser_client, people, vip, admin_user, settings
):
    settings.COHORT_BULK_TAG_JOB_ABOVE = 2
    form = {"op": "add", "tags": [vip.pk], "all_matching": "on", "query": "country=US"}

    response = browser_client.post("/admin/contacts/bulk-tags", form, follow=True)

    job = Job.objects.get(kind=JobKind.BULK_TAG)
    assert response.redirect_chain == [(f"/admin/jobs/{job.pk}", 302)]
    assert job.title == "Bulk tagging of 3 contacts: add vip"
    assert "Done: 1 tag link added, 0 removed." in response.content.decode()
    tagged = ContactTag.objects.filter(tag=vip).values_list("record__first_name", flat=True)
    assert sorted(tagged) == ["Ann", "Bo", "Cy"]


def test_bulk_tagging_api_above_the_threshold_answers_202(api, people, vip, settings):
    settings.COHORT_BULK_TAG_JOB_ABOVE = 2
    body = {"filter": {"country": "US"}, "remove": [vip.pk]}

    response = api.post("/api/crm/contacts/bulk-tags", body, format="json")

    assert response.status_code == 202, response.json()
    job = response.json()
    assert (job["kind"], job["state"]) == ("bulk_tag", "succeeded")
    assert job["result"] == {
        "record_type": "contacts",
        "matched": 3,
        "skipped": 0,
        "added": 0,
        "removed": 2,
    }
    assert not ContactTag.objects.filter(tag=vip).exists()


def test_bulk_tagging_api_at_the_threshold_answers_at_once(api, people, vip, settings):
    settings.COHORT_BULK_TAG_JOB_ABOVE = 3
    body = {"filter": {"country": "US"}, "add": [vip.pk]}

    response = api.post("/api/crm/contacts/bulk-tags", body, format="json")

    assert response.status_code == 200
    assert response.json() == {"matched": 3, "skipped": 0, "added": 1, "removed": 0}
    assert not Job.objects.exists()
