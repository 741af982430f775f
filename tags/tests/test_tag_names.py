"""Tag names: no separators or invisible characters (#15 L4), and names that look the same
are the same tag (#15 L5), wherever a name is entered."""

import io

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile

from tags.models import ContactTag, Tag
from tags.names import name_key
from tags.services import create_tag

# (character, how the message names it)
REFUSED = [
    (",", "“,” (comma)"),
    (";", "“;” (semicolon)"),
    ("\t", "U+0009 TAB"),
    ("\n", "U+000A LINE BREAK"),
    ("\x1f", "U+001F UNIT SEPARATOR"),
    ("\u200b", "U+200B ZERO WIDTH SPACE"),
    ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("\u00ad", "U+00AD SOFT HYPHEN"),
    ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("\u2028", "U+2028 LINE SEPARATOR"),
]
CASES = [pytest.param(char, named, id=f"U+{ord(char):04X}") for char, named in REFUSED]


@pytest.fixture
def vip(admin_user):
    return create_tag("VIP", user=admin_user)


@pytest.mark.parametrize(("char", "named"), CASES)
def test_api_refuses_a_name_with_a_separator_or_invisible_character(api, vip, char, named):
    created = api.post("/api/crm/tags", {"name": f"a{char}b"}, format="json")
    renamed = api.patch(f"/api/crm/tags/{vip.pk}", {"name": f"V{char}IP"}, format="json")

    for response in (created, renamed):
        assert response.status_code == 400, response.content
        assert named in response.json()["name"][0]
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]


@pytest.mark.parametrize(("char", "named"), CASES)
def test_pages_refuse_a_name_with_a_separator_or_invisible_character(
    browser_client, contact, vip, char, named
):
    new = browser_client.post("/admin/crm/tags/new", {"name": f"a{char}b", "color": "#2563eb"})
    edit = browser_client.post(
        f"/admin/crm/tags/{vip.pk}/edit", {"name": f"V{char}IP", "color": "#2563eb"}
    )
    combobox = browser_client.post(
        f"/admin/contacts/{contact.pk}/tags", {"name": f"a{char}b"}, HTTP_HX_REQUEST="true"
    )

    for response in (new, edit, combobox):
        assert response.status_code == 400
        assert named in response.content.decode()
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]
    assert not ContactTag.objects.exists()


def test_attach_by_name_through_the_api_refuses_an_invisible_character(api, contact):
    response = api.post(
        f"/api/crm/contacts/{contact.pk}/tags", {"name": "hot\u200b-lead"}, format="json"
    )

    assert response.status_code == 400
    assert "U+200B ZERO WIDTH SPACE" in response.json()["name"][0]
    assert not Tag.objects.exists()


def _upload(tags_cell: str) -> SimpleUploadedFile:
    body = io.StringIO()
    body.write("first_name,email,tags\r\n")
    body.write(f'Ada,ada@x.example,"{tags_cell}"\r\n')
    return SimpleUploadedFile("t.csv", body.getvalue().encode(), content_type="text/csv")


def test_import_refuses_a_tag_with_a_control_character_naming_it(api):
    response = api.post(
        "/api/crm/contacts/import",
        {"file": _upload("ok\x1f=HYPERLINK(1); fine"), "dry_run": "false"},
        format="multipart",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == 1 and body["new"] == 0
    assert "U+001F UNIT SEPARATOR" in body["error_list"][0]["reason"]
    assert not Tag.objects.exists()


def test_emoji_sequences_keep_their_joiners(api):
    response = api.post("/api/crm/tags", {"name": "team 👩\u200d👩\u200d👧"}, format="json")

    assert response.status_code == 201, response.content
    assert Tag.objects.get().name == "team 👩\u200d👩\u200d👧"


# --- confusable names (L5) ----------------------------------------------------------------------

LOOK_ALIKES = [
    ("VIP", "Ｖｉｐ"),  # fullwidth
    ("VIP", "vip"),
    ("hot-lead", "hot\u2010lead"),  # U+2010 HYPHEN
    ("hot-lead", "ｈｏｔ-ｌｅａｄ"),
    ("İstanbul", "istanbul"),
    ("ß-tag", "SS-TAG"),
    ("ﬁnance", "finance"),  # ligature
    ("x²", "x2"),
]


@pytest.mark.parametrize(("existing", "typed"), LOOK_ALIKES)
def test_a_look_alike_of_an_existing_tag_is_refused(api, browser_client, existing, typed):
    tag = create_tag(existing)

    response = api.post("/api/crm/tags", {"name": typed}, format="json")
    page = browser_client.post("/admin/crm/tags/new", {"name": typed, "color": "#2563eb"})

    assert response.status_code == 400
    assert response.json()["name"] == [
        f"A tag named “{tag.name}” already exists; names ignore case."
    ]
    assert page.status_code == 400
    assert "already exists" in page.content.decode()
    assert Tag.objects.count() == 1


@pytest.mark.parametrize(("existing", "typed"), LOOK_ALIKES)
def test_typing_a_look_alike_on_a_record_attaches_the_existing_tag(
    api, browser_client, contact, existing, typed
):
    tag = create_tag(existing)

    api.post(f"/api/crm/contacts/{contact.pk}/tags", {"name": typed}, format="json")
    browser_client.post(f"/admin/contacts/{contact.pk}/tags", {"name": typed})

    assert list(Tag.objects.all()) == [tag]
    assert list(contact.tags.all()) == [tag]


def test_renaming_onto_a_look_alike_is_refused(api):
    create_tag("VIP")
    other = create_tag("gold")

    response = api.patch(f"/api/crm/tags/{other.pk}", {"name": "ｖｉｐ"}, format="json")

    assert response.status_code == 400
    assert "A tag named “VIP” already exists" in response.json()["name"][0]
    other.refresh_from_db()
    assert other.name == "gold"


def test_an_import_attaches_the_existing_tag_for_a_look_alike(api, contact):
    tag = create_tag("VIP")

    dry = api.post("/api/crm/contacts/import", {"file": _upload("Ｖｉｐ")}, format="multipart")
    done = api.post(
        "/api/crm/contacts/import",
        {"file": _upload("Ｖｉｐ; vip"), "dry_run": "false"},
        format="multipart",
    )

    assert dry.json()["tags_to_create"] == []
    assert done.json()["new"] == 1 and done.json()["tags_created"] == []
    assert list(Tag.objects.all()) == [tag]
    tag.refresh_from_db()
    assert tag.contacts_count == 1


def test_names_are_stored_in_nfkc(db):
    assert create_tag("Ｐｒｏ ﬁnance").name == "Pro finance"
    assert name_key("Ｐｒｏ ﬁnance") == name_key("pro FINANCE")
