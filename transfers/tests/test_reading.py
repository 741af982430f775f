import pytest

from transfers.services import ImportFileError, propose_mapping, read_csv
from transfers.tests.conftest import csv_bytes


def test_reads_bom_and_semicolons():
    data = csv_bytes([["First Name", "Email"], ["Ada", "a@x.example"]], delimiter=";", bom=True)

    parsed = read_csv(data)

    assert parsed.header == ["First Name", "Email"]
    assert parsed.preview(5) == [["Ada", "a@x.example"]]
    assert parsed.delimiter == ";"


def test_reads_commas_with_quoted_delimiters():
    parsed = read_csv(b'name,tags\n"Smith; Jones","a,b"\n')

    assert parsed.delimiter == ","
    assert parsed.preview(5) == [["Smith; Jones", "a,b"]]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"first_name,email\n", "no rows"),
        ("first_name,email\nJosé,j@x.example\n".encode("latin-1"), "not UTF-8"),
        (b"a,b\n1,2,3\n", "Row 2 has 3 columns but the header has 2"),
        (b"a,b,c\n1,2\n", "Row 2 has 2 columns but the header has 3"),
        (b"x" * (21 * 1024 * 1024), "larger than 20 MB"),
        (b"x" * 200_000 + b"\n1\n", "longer than 100,000"),
        (b'a,b\n"1' + b"y" * 150_000 + b'",2\n', "cannot be read"),
    ],
)
def test_bad_files_get_a_clear_message(data, message):
    with pytest.raises(ImportFileError, match=message):
        read_csv(data)


def test_trailing_empty_cells_are_tolerated():
    assert read_csv(b"a,b\n1,2,,\n").preview(5) == [["1", "2"]]


@pytest.mark.parametrize(
    "header, expected",
    [
        ("First Name", "first_name"),
        ("first_name", "first_name"),
        ("firstname", "first_name"),
        ("FIRST-NAME", "first_name"),
        ("Surname", "last_name"),
        ("E-Mail", "email"),
        ("Email Address", "email"),
        ("Lead Score", "lead_score"),
        ("score", "lead_score"),
        ("Owner Email", "owner"),
        ("Tags", "tags"),
        ("Favourite colour", ""),
    ],
)
def test_proposes_a_mapping_from_header_spellings(header, expected):
    assert propose_mapping("contacts", [header]) == [expected]


def test_a_field_is_proposed_once():
    assert propose_mapping("contacts", ["email", "E-mail"]) == ["email", ""]


def test_proposals_for_leads_and_deals():
    assert propose_mapping("leads", ["Full Name", "Status", "Score"]) == ["name", "status", "score"]
    assert propose_mapping("deals", ["Deal Name", "Amount", "Close Date"]) == [
        "title",
        "value",
        "expected_close_date",
    ]
