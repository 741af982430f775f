import re

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Contact
from tags.models import Tag
from transfers.tests.conftest import csv_bytes


def _upload(client, data: bytes, record_type: str = "contacts"):
    return client.post(
        f"/admin/{record_type}/import",
        {"file": SimpleUploadedFile("people.csv", data, content_type="text/csv")},
    )


def _mapping_form(response) -> dict:
    """The mapping page's form as a browser would submit it unchanged."""
    html = response.content.decode()
    data = {}
    for select in re.finditer(r'<select name="(map_\d+)".*?</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
        data[select.group(1)] = chosen.group(1) if chosen else ""
    data["on_duplicate"] = "skip"
    data["mode"] = "valid_only"
    return data


def test_real_world_csv_through_the_pages_dry_run_then_import(browser_client, real_world_csv):
    # given: the upload step opens the mapping page
    response = _upload(browser_client, real_world_csv)
    assert response.status_code == 302
    review_url = response["Location"]
    page = browser_client.get(review_url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "7 rows, semicolon-separated" in html
    assert "grace@navy.example" in html
    form = _mapping_form(page)
    assert form["map_0"] == "first_name" and form["map_2"] == "email"
    assert form["map_8"] == ""  # "Notes" is not a field: ignored

    # when: dry run
    dry = browser_client.post(review_url, {**form, "action": "dry_run"})

    # then
    html = dry.content.decode()
    assert "3 new, 0 updated, 0 skipped, 4 errors (dry run)" in html
    assert "Atlantis" in html
    assert not Contact.objects.exists()
    errors_url = re.search(r'href="([^"]+errors\.csv)"', html).group(1)
    errors = browser_client.get(errors_url)
    assert b"".join(errors.streaming_content).decode().splitlines()[0] == "row,column,reason"

    # when: import
    done = browser_client.post(review_url, {**form, "action": "import"})

    # then
    assert "3 new, 0 updated, 0 skipped, 4 errors" in done.content.decode()
    assert Contact.objects.count() == 3
    assert Tag.objects.get(name="saas").contacts_count == 2
    assert browser_client.get(errors_url).status_code == 200
    # the upload is gone: a second import cannot happen by a reload
    assert browser_client.post(review_url, {**form, "action": "import"}).status_code == 404


def test_user_can_change_the_mapping(browser_client):
    data = csv_bytes([["Who", "Mail"], ["Ada", "ada@x.example"]])
    review_url = _upload(browser_client, data)["Location"]

    browser_client.post(
        review_url,
        {
            "map_0": "company",
            "map_1": "email",
            "on_duplicate": "skip",
            "mode": "valid_only",
            "action": "import",
        },
    )

    assert Contact.objects.get().company == "Ada"


def test_all_or_nothing_page_refuses_and_says_so(browser_client, real_world_csv):
    review_url = _upload(browser_client, real_world_csv)["Location"]
    form = {**_mapping_form(browser_client.get(review_url)), "mode": "all_or_nothing"}

    response = browser_client.post(review_url, {**form, "action": "import"})

    assert "Nothing was imported" in response.content.decode()
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty."),
        (b"\x00\x01\x02binary", "binary data"),
        (b"email\n", "no rows"),
        (b"a,b\n1,2,3\n", "Row 2 has 3 columns"),
        ("email\nJosé\n".encode("utf-16"), "binary data"),
        ("email\nJosé\n".encode("cp1252"), "not UTF-8"),
    ],
)
def test_bad_uploads_show_a_message_and_import_nothing(browser_client, data, message):
    response = _upload(browser_client, data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Contact.objects.exists()


def test_fifty_megabytes_of_one_line_is_refused(browser_client):
    # Refused before the body is read at all (core.middleware), so with a 413.
    response = _upload(browser_client, b"a" * (50 * 1024 * 1024))

    assert response.status_code == 413
    assert "(a CSV file to import: at most 20 MB)" in response.content.decode()


def test_an_upload_belongs_to_its_user(client, browser_client, manager):
    review_url = _upload(browser_client, csv_bytes([["email"], ["a@x.example"]]))["Location"]
    client.force_login(manager)

    assert client.get(review_url).status_code == 404


@pytest.mark.parametrize("record_type", ["contacts", "leads", "deals"])
def test_import_needs_the_add_permission(client, viewer, record_type):
    client.force_login(viewer)

    assert client.get(f"/admin/{record_type}/import").status_code == 403
    assert client.get(f"/admin/{record_type}/import/").status_code == 403


def test_import_page_needs_sign_in(client):
    assert client.get("/admin/contacts/import")["Location"].startswith("/admin/login")


def test_list_pages_link_import_only_with_permission(client, rep, viewer):
    client.force_login(rep)
    assert 'href="/admin/contacts/import"' in client.get("/admin/contacts").content.decode()
    client.force_login(viewer)
    assert 'href="/admin/contacts/import"' not in client.get("/admin/contacts").content.decode()


def test_list_page_links_export_with_the_current_query(browser_client, contact):
    html = browser_client.get("/admin/contacts?search=ada&page=1&country=GB").content.decode()

    link = re.search(r'href="(/admin/contacts/export\.csv[^"]*)"', html).group(1)
    assert "search=ada" in link and "country=GB" in link and "page=" not in link


def test_update_option_needs_the_change_permission(client, make_user):
    from django.contrib.auth.models import Permission

    adder = make_user("adder")
    adder.user_permissions.add(Permission.objects.get(codename="add_contact"))
    client.force_login(adder)
    review_url = _upload(client, csv_bytes([["email"], ["a@x.example"]]))["Location"]

    assert 'value="update"' not in client.get(review_url).content.decode()
    response = client.post(
        review_url, {"map_0": "email", "on_duplicate": "update", "action": "dry_run"}
    )
    assert response.status_code == 403


def test_a_record_taken_between_dry_run_and_import_is_a_clear_409(browser_client, monkeypatch):
    from django.db import IntegrityError

    from transfers import services

    review_url = _upload(browser_client, csv_bytes([["email"], ["a@x.example"]]))["Location"]

    def clash(*args, **kwargs):
        raise IntegrityError("duplicate key")

    monkeypatch.setattr(services, "run_import", clash)
    response = browser_client.post(
        review_url, {"map_0": "email", "on_duplicate": "skip", "action": "import"}
    )

    assert response.status_code == 409
    assert "nothing was imported" in response.content.decode()
    assert not Contact.objects.exists()
