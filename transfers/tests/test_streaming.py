"""Dry runs stream the file: memory does not grow with its rows (#15 M4)."""

import tracemalloc

import pytest

from transfers import services

ROWS = 80_000


@pytest.fixture
def big_file(tmp_path):
    """About 3 MB of rows (no email column: nothing kept per row is legitimate)."""
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("first_name,last_name,city,company\n")
        for n in range(ROWS):
            out.write(f"Ann{n % 50},Lee{n % 70},Paris,Acme {n % 30} and Partners Ltd\n")
    return path


def test_a_dry_run_of_a_large_file_holds_no_rows_in_memory(db, big_file):
    size = big_file.stat().st_size
    mapping = ["first_name", "last_name", "city", "company"]

    tracemalloc.start()
    try:
        csv_file = services.open_stored_csv(big_file)
        plan = services.plan_import("contacts", csv_file, mapping, user=None, keep_rows=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert plan.new_count == ROWS and plan.error_rows == 0
    assert size > 3_000_000
    # What is read at a time (services.READ_CHUNK, 1 MB, and its text): the file decoded
    # whole, or its rows as lists, would be several times the file's size.
    assert peak < 2.5 * services.READ_CHUNK, f"peak {peak:,} bytes for a {size:,}-byte file"


def test_streamed_and_in_memory_plans_agree(db, big_file, admin_user):
    mapping = ["first_name", "last_name", "city", "company"]
    streamed = services.plan_import(
        "contacts", services.open_stored_csv(big_file), mapping, user=admin_user, keep_rows=False
    )
    kept = services.plan_import(
        "contacts", services.read_csv(big_file.read_bytes()), mapping, user=admin_user
    )

    assert streamed.as_dict() == kept.as_dict()
    assert len(kept.new) == ROWS and not streamed.new


def test_errors_past_the_kept_ones_are_counted_and_said(db, tmp_path, settings, monkeypatch):
    monkeypatch.setattr(services, "ERRORS_KEPT", 3)
    data = "email\n" + "".join(f"bad{n}\n" for n in range(10))

    plan = services.plan_import("contacts", services.read_csv(data.encode()), ["email"], user=None)

    assert (plan.error_rows, len(plan.errors)) == (10, 3)
    last = list(services.error_rows(plan))[-1]
    assert last == ["", "", "…and 7 more rows with errors: fix these first."]


def test_a_late_null_byte_or_bad_row_in_a_stored_file_names_its_line(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 5000 + b"3,\x004\n")
    with pytest.raises(services.ImportFileError, match="Line 5002 contains a null character"):
        services.open_stored_csv(path).check()
    path.write_bytes(b"a,b\n" + b"1,2\n" * 5000 + b"3\n")
    with pytest.raises(services.ImportFileError, match="Row 5002 has 1 columns"):
        services.open_stored_csv(path).check()
