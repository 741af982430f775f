"""Uploaded import files kept between the steps of the import pages.

Each file lives under VAR_DIR/imports, named by its owner's id and a random token,
so one user can never open another's upload; files older than a day are removed
whenever a new one arrives.
"""

import csv
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.http import Http404

from accounts.models import User
from core.csv import neutralise

TOKEN = re.compile(r"^[0-9a-f]{32}$")
MAX_AGE_SECONDS = 24 * 3600


def _folder() -> Path:
    folder = Path(settings.VAR_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(user: User, token: str, suffix: str) -> Path:
    if not TOKEN.match(token):
        raise Http404("No such upload.")
    return _folder() / f"{user.pk}-{token}{suffix}"


def _forget_old() -> None:
    cutoff = time.time() - MAX_AGE_SECONDS
    for path in _folder().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


def store_upload(user: User, data: bytes) -> str:
    _forget_old()
    token = secrets.token_hex(16)
    _path(user, token, ".csv").write_bytes(data)
    return token


def upload_path(user: User, token: str) -> Path:
    """Where the user's upload `token` is kept (read it streamed: it may be 20 MB)."""
    path = _path(user, token, ".csv")
    if not path.exists():
        raise Http404("This upload has expired or was already imported; upload the file again.")
    return path


def discard_upload(user: User, token: str) -> None:
    _path(user, token, ".csv").unlink(missing_ok=True)


def store_errors(user: User, token: str, rows: Iterable[list[str]]) -> None:
    with _path(user, token, ".errors.csv").open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([neutralise(cell) for cell in row] for row in rows)


def errors_path(user: User, token: str) -> Path:
    path = _path(user, token, ".errors.csv")
    if not path.exists():
        raise Http404("No error list for this import.")
    return path
