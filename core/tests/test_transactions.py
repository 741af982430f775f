"""after_commit: the work after a commit runs once the transaction commits, and its
failure is logged, never raised into the committed change."""

import functools

import pytest

from django.db import transaction

from core.transactions import after_commit


def _fails(reason: str) -> None:
    raise RuntimeError(reason)


def test_it_runs_after_the_commit_with_its_arguments(db, django_capture_on_commit_callbacks):
    calls = []
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        after_commit(calls.append, "done")
        assert calls == []

    assert calls == ["done"]


@pytest.mark.parametrize("function", [_fails, functools.partial(_fails)])
def test_a_failure_is_logged_by_name_not_raised(
    db, caplog, django_capture_on_commit_callbacks, function
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        after_commit(function, "broker down")

    assert "Error calling" in caplog.text and "_fails" in caplog.text
    assert "broker down" in caplog.text
