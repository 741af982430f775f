"""Imports of more rows than COHORT_IMPORT_JOB_ABOVE run as jobs, from the pages and the API."""

import re
import time

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from contacts.models import Contact
from jobs.choices import JobKind, JobState
from jobs.models import Job
from transfers import services
from transfers.tests.conftest import csv_bytes

ROWS = [
    ["first_name", "email", "lead_score"],
    ["Ann", "ann@x.example", "10"],
    ["Bo", "bo@x.example", "lots"],  # not a number
    ["Cy", "cy@x.example", "30"],
]


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.COHORT_IMPORT_JOB_ABOVE = 2


def _post(api, **fields):
    upload = SimpleUploadedFile("people.csv", csv_bytes(ROWS), content_type="text/csv")
    return api.post("/api/crm/contacts/import", {"file": upload, **fields}, format="multipart")


def test_api_import_of_a_large_file_is_a_job_with_the_import_report(api):
    response = _post(api, dry_run="false")

    assert response.status_code == 202, response.json()
    job = response.json()
    assert (job["kind"], job["state"], job["title"]) == (
        "import",
        "succeeded",
        "Import of 3 contacts",
    )
    report = job["result"]
    assert (report["new"], report["skipped"], report["errors"], report["imported"]) == (
        2,
        0,
        1,
        True,
    )
    assert report["error_list"][0]["row"] == 3
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == ["Ann", "Cy"]


def test_api_all_or_nothing_import_job_fails_and_imports_nothing(api):
    response = _post(api, dry_run="false", mode="all_or_nothing")

    job = response.json()
    assert (response.status_code, job["state"]) == (202, "failed")
    assert job["error"] == "Nothing was imported: 1 row with errors."
    assert job["result"]["errors"] == 1
    assert not Contact.objects.exists()


def _inline_report(api, settings, **fields) -> dict:
    settings.COHORT_IMPORT_JOB_ABOVE = 100_000
    try:
        response = _post(api, **fields)
    finally:
        settings.COHORT_IMPORT_JOB_ABOVE = 2
    assert response.status_code == 200
    return response.json()


def test_api_dry_run_of_a_large_file_is_a_job_with_the_inline_report(api, settings):
    # given the dry run's report when the file is small enough to check in the request
    inline = _inline_report(api, settings, on_duplicate="skip")

    # when the same file is over the threshold (#15 M4)
    response = _post(api, on_duplicate="skip")

    assert response.status_code == 202, response.json()
    job = response.json()
    assert (job["kind"], job["state"]) == ("import", "succeeded")
    assert job["title"] == "Dry run of an import of 3 contacts"
    report = job["result"]
    assert {key: report[key] for key in inline} == inline
    assert (report["new"], report["errors"], report["imported"]) == (2, 1, False)
    assert report["dry_run"] is True
    assert not Contact.objects.exists()


def test_api_dry_run_over_the_threshold_answers_with_a_queued_job_at_once(
    api, settings, monkeypatch
):
    """With a broker, the request only counts lines, stores the file and queues the job."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.COHORT_IMPORT_JOB_ABOVE = 100_000
    body = ["first_name,last_name,email,city"]
    body += [f"Ann{n},Lee{n},ann{n}@example.com,Paris" for n in range(400_000)]
    data = ("\n".join(body) + "\n").encode()
    assert 15_000_000 < len(data) < 20 * 1024 * 1024  # like the review's 19 MB file
    upload = SimpleUploadedFile("big.csv", data, content_type="text/csv")
    multipart = encode_multipart(BOUNDARY, {"file": upload})

    def not_in_the_request(*args, **kwargs):
        raise AssertionError("the rows are checked by the job, not the request")

    monkeypatch.setattr(services, "plan_import", not_in_the_request)
    started = time.monotonic()
    response = api.post("/api/crm/contacts/import", multipart, content_type=MULTIPART_CONTENT)
    elapsed = time.monotonic() - started
    print(f"dry run request over the threshold: {elapsed:.2f} s")

    assert response.status_code == 202, response.json()
    assert response.json()["state"] == "queued"
    assert response.json()["title"] == "Dry run of an import of 400,000 contacts"
    # The request does no per-row work (above): receiving and storing 19 MB is what it
    # costs, under a second on an idle machine; tests in parallel make it slower.
    assert elapsed < 5, elapsed
    assert not Contact.objects.exists()


def _post_review(browser_client, action: str):
    """Upload ROWS, then post the mapping page's `action`: it goes to the job's page."""
    upload = SimpleUploadedFile("people.csv", csv_bytes(ROWS), content_type="text/csv")
    review_url = browser_client.post("/admin/contacts/import", {"file": upload})["Location"]
    form = {"map_0": "first_name", "map_1": "email", "map_2": "lead_score"}
    form |= {"on_duplicate": "skip", "mode": "valid_only", "action": action}
    response = browser_client.post(review_url, form, follow=True)
    job = Job.objects.get(kind=JobKind.IMPORT)
    assert response.redirect_chain == [(f"/admin/jobs/{job.pk}", 302)]
    return review_url, response, job


def test_page_dry_run_of_a_large_file_goes_to_the_job_page_and_back(browser_client):
    review_url, response, job = _post_review(browser_client, "dry_run")

    page = response.content.decode()
    assert "Dry run: 2 new, 0 updated, 0 skipped, 1 row with errors. Nothing was written." in page
    back = f"{review_url}?job={job.pk}"
    assert f'href="{back}"' in page  # back to the import, the upload kept
    assert not Contact.objects.exists()
    review = browser_client.get(back).content.decode()
    assert "Dry run: 2 new" in review and 'value="import"' in review
    assert '<option value="lead_score" selected>' in review  # the mapping it was made with


def test_api_bad_mapping_of_a_large_file_is_a_400(api):
    response = _post(api, dry_run="false", mapping='{"nope": "email"}')

    assert response.status_code == 400
    assert response.json() == {
        "file": ["The mapping names a column “nope” the file does not have."]
    }
    assert not Job.objects.exists()


def test_page_import_of_a_large_file_goes_to_the_job_page(browser_client):
    _, response, job = _post_review(browser_client, "import")

    assert job.state == JobState.SUCCEEDED
    page = response.content.decode()
    assert "Imported: 2 new, 0 updated, 0 skipped, 1 row with errors." in page
    errors_url = re.search(r'href="([^"]+errors\.csv)"', page).group(1)
    errors = b"".join(browser_client.get(errors_url).streaming_content).decode()
    assert errors.splitlines()[1].startswith("3,lead_score,")
    assert Contact.objects.count() == 2


def test_a_bad_row_past_the_first_ones_fails_the_dry_run_job_naming_it(api):
    rows = [*ROWS, *([["Di", "di@x.example", "5"]] * 10), ["Ed", "5"]]
    upload = SimpleUploadedFile("people.csv", csv_bytes(rows), content_type="text/csv")

    response = api.post("/api/crm/contacts/import", {"file": upload}, format="multipart")

    assert response.status_code == 202
    job = response.json()
    assert job["state"] == "failed"
    assert job["error"].startswith("Row 15 has 2 columns but the header has 3")
