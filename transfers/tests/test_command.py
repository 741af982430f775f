import pytest

from django.core.management import CommandError, call_command

from contacts.models import Contact
from tags.models import Tag
from transfers.tests.conftest import csv_bytes


@pytest.fixture
def csv_path(tmp_path, real_world_csv):
    path = tmp_path / "people.csv"
    path.write_bytes(real_world_csv)
    return path


def test_command_dry_run(csv_path, capsys):
    call_command("import_records", "contacts", str(csv_path), "--dry-run")

    out, err = capsys.readouterr()
    assert "3 new, 0 updated, 0 skipped, 4 errors (dry run)" in out
    assert "row 5, Country:" in err
    assert not Contact.objects.exists()


def test_command_imports_and_updates(csv_path, capsys, contact):
    call_command("import_records", "contacts", str(csv_path))
    assert Contact.objects.count() == 4
    assert Tag.objects.get(name="saas").contacts_count == 2

    csv_path.write_bytes(csv_bytes([["email", "city"], ["ADA@analytical.example", "Paris"]]))
    call_command("import_records", "contacts", str(csv_path), "--update")
    contact.refresh_from_db()
    assert contact.city == "Paris"


def test_command_all_or_nothing_fails_loudly(csv_path):
    with pytest.raises(CommandError, match="Nothing imported"):
        call_command("import_records", "contacts", str(csv_path), "--all-or-nothing")
    assert not Contact.objects.exists()


def test_command_as_a_user_without_tag_rights(csv_path, rep, capsys):
    call_command("import_records", "contacts", str(csv_path), "--user", "rep")

    assert not Tag.objects.exists()
    assert "may not create tags" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"\x00\x01", b"a,b\n1\n"])
def test_command_bad_files(tmp_path, db, content):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError):
        call_command("import_records", "contacts", str(path))


def test_command_missing_file(tmp_path, db):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_records", "contacts", str(tmp_path / "nope.csv"))
