"""Work that follows a commit, and must never undo it."""

from collections.abc import Callable

from django.db import transaction


def after_commit(function: Callable, *args, using: str | None = None) -> None:
    """Call function(*args) once the current transaction commits (at once outside one).

    Robust: an error is logged, not raised, since the change itself is committed. The
    call is wrapped in a named function because Django logs a failed robust callback
    by its __qualname__, which a functools.partial lacks (an AttributeError instead).
    """

    def call() -> None:
        function(*args)

    call.__qualname__ = getattr(function, "__qualname__", repr(function))
    transaction.on_commit(call, using=using, robust=True)
