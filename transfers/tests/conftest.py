"""CSV builders for the import tests."""

import pytest


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings, tmp_path):
    """Uploads and error lists go to a per-test folder, not the repository's var/."""
    settings.VAR_DIR = tmp_path


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", bom: bool = False) -> bytes:
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


@pytest.fixture
def real_world_csv(admin_user) -> bytes:
    """Mixed header spellings, a BOM, semicolons, some bad rows and tags."""
    admin_user.email = "Admin@X.example"  # owners are found by username or email
    admin_user.save()
    return csv_bytes(
        [
            [
                "First Name",
                "lastname",
                "E-Mail",
                "Company Name",
                "Country",
                "Score",
                "Owner",
                "Tags",
                "Notes",
            ],
            [
                "Grace",
                "Hopper",
                "grace@navy.example",
                "US Navy",
                "US",
                "90",
                "admin",
                '"saas, hot-lead"',
                "met at booth",
            ],
            [
                "Alan",
                "Turing",
                "alan@bletchley.example",
                "Bletchley",
                "United Kingdom",
                "75",
                "",
                "saas",
                "",
            ],
            ["Bad", "Email", "not-an-email", "X", "FR", "10", "", "", ""],
            ["Far", "Away", "far@away.example", "Y", "Atlantis", "10", "", "", ""],
            ["High", "Score", "high@score.example", "Z", "DE", "101", "", "", ""],
            ["Nobody", "Owns", "owns@nobody.example", "Z", "DE", "5", "ghost", "", ""],
            [
                "Édith",
                "Piaf",
                "edith@chanson.example",
                "Olympia",
                "fr",
                "",
                "admin@x.example",
                "vip",
                "",
            ],
        ],
        delimiter=";",
        bom=True,
    )
