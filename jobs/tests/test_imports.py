"""Imports of more rows than COHORT_IMPORT_JOB_ABOVE run as jobs, from the pages and the API."""

import re

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Contact
from jobs.choices import JobKind, JobState
from jobs.models import Job
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


def test_api_dry_run_of_a_large_file_answers_at_once(api):
    response = _post(api)

    assert response.status_code == 200
    assert response.json()["new"] == 2
    assert not Job.objects.exists()


def test_api_bad_mapping_of_a_large_file_is_a_400(api):
    response = _post(api, dry_run="false", mapping='{"nope": "email"}')

    assert response.status_code == 400
    assert response.json() == {
        "file": ["The mapping names a column “nope” the file does not have."]
    }
    assert not Job.objects.exists()


def test_page_import_of_a_large_file_goes_to_the_job_page(browser_client):
    upload = SimpleUploadedFile("people.csv", csv_bytes(ROWS), content_type="text/csv")
    review_url = browser_client.post("/admin/contacts/import", {"file": upload})["Location"]
    form = {"map_0": "first_name", "map_1": "email", "map_2": "lead_score"}
    form |= {"on_duplicate": "skip", "mode": "valid_only", "action": "import"}

    response = browser_client.post(review_url, form, follow=True)

    job = Job.objects.get(kind=JobKind.IMPORT)
    assert response.redirect_chain == [(f"/admin/jobs/{job.pk}", 302)]
    assert job.state == JobState.SUCCEEDED
    page = response.content.decode()
    assert "Imported: 2 new, 0 updated, 0 skipped, 1 row with errors." in page
    errors_url = re.search(r'href="([^"]+errors\.csv)"', page).group(1)
    errors = b"".join(browser_client.get(errors_url).streaming_content).decode()
    assert errors.splitlines()[1].startswith("3,lead_score,")
    assert Contact.objects.count() == 2
