"""CSV import of contacts, leads and deals: read, propose a mapping, validate, import.

`read_csv` turns uploaded bytes into a header and rows or raises ImportFileError
with a message for the user. `plan_import` validates every row against the model
fields' own validators and finds duplicates by email; `run_import` writes the plan
in one transaction with batched bulk inserts and attaches tags set-based through
tags.services.bulk_tag, so the usage counters stay exact.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries import countries

from accounts.models import User
from audit.choices import Action
from contacts.forms import ContactForm
from contacts.models import Contact
from core.csv import FORMULA_STARTS
from core.ownership import editable_by, edits_all
from core.planner import STATISTICS_REFRESH_AFTER, refresh_statistics
from deals.choices import CURRENCY_CODES
from deals.models import Deal, closed_at_for
from segments.notify import contacts_changed
from tags.models import Tag
from tags.names import SEPARATORS as TAG_SEPARATORS
from tags.names import name_key, name_problem, normal_name
from tags.records import TAGGABLE_TYPES, TaggableType
from tags.services import bulk_tag, create_tag, find_tag_by_name, record_bulk_tagging

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_FIELD_CHARS = 100_000
BATCH_SIZE = 1_000
MEMO_LIMIT = 5_000
# Errors a plan keeps to show and list (every row with errors is counted): a file of
# 400,000 bad rows must not hold 400,000 messages in memory.
ERRORS_KEPT = 10_000
TAG_SPLIT = re.compile(f"[{re.escape(''.join(TAG_SEPARATORS))}]")

SKIP, UPDATE = "skip", "update"
VALID_ONLY, ALL_OR_NOTHING = "valid_only", "all_or_nothing"


class ImportFileError(Exception):
    """The file cannot be read as a CSV of records; the message says why."""


@dataclass(frozen=True)
class RecordFields:
    """What an import of one record type may fill, and the header spellings it knows."""

    fields: list[str]
    aliases: dict[str, str]
    # Fields whose empty cell keeps the model default instead of "".
    has_email: bool = True


RECORD_FIELDS = {
    "contacts": RecordFields(
        # What a person may edit on the contact form, plus its tags.
        fields=[*ContactForm.Meta.fields, "tags"],
        aliases={
            "givenname": "first_name",
            "forename": "first_name",
            "first": "first_name",
            "surname": "last_name",
            "familyname": "last_name",
            "last": "last_name",
            "emailaddress": "email",
            "mail": "email",
            "phonenumber": "phone",
            "mobile": "phone",
            "telephone": "phone",
            "organisation": "company",
            "organization": "company",
            "companyname": "company",
            "title": "job_title",
            "position": "job_title",
            "countrycode": "country",
            "stage": "lifecycle_stage",
            "lifecycle": "lifecycle_stage",
            "score": "lead_score",
        },
    ),
    "leads": RecordFields(
        fields=["name", "email", "phone", "company", "source", "status", "score", "owner", "tags"],
        aliases={
            "fullname": "name",
            "leadname": "name",
            "emailaddress": "email",
            "mail": "email",
            "phonenumber": "phone",
            "mobile": "phone",
            "organisation": "company",
            "organization": "company",
            "companyname": "company",
            "leadstatus": "status",
            "leadscore": "score",
        },
    ),
    "deals": RecordFields(
        fields=["title", "value", "currency", "stage", "expected_close_date", "owner", "tags"],
        aliases={
            "name": "title",
            "dealname": "title",
            "deal": "title",
            "amount": "value",
            "dealvalue": "value",
            "dealstage": "stage",
            "closedate": "expected_close_date",
            "expectedclose": "expected_close_date",
        },
        has_email=False,
    ),
}
for _spec in RECORD_FIELDS.values():
    _spec.aliases.update({"owneremail": "owner", "ownerusername": "owner", "tag": "tags"})
    _spec.aliases.update({"labels": "tags", "keywords": "tags"})


# --- reading the file --------------------------------------------------------------------------

# The first rows, shown on the mapping page, and checked whenever a file is opened.
PREVIEW_ROWS = 5
# Bytes read at a time while streaming a file (and counting its lines).
READ_CHUNK = 1024 * 1024
# Where a NUL byte means "not a CSV at all" rather than "fix this line".
BINARY_SNIFF_BYTES = 8192


class _CheckedBytes(io.RawIOBase):
    """The bytes of a file as they are read, refusing NUL (which no column can hold, and
    PostgreSQL refuses) with the line to fix, and keeping the offset for decode errors."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.offset = 0  # of the last chunk read
        self.read_so_far = 0
        self.lines = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.raw.read(len(buffer))
        if (nul := chunk.find(b"\x00")) != -1:
            if self.read_so_far + nul < BINARY_SNIFF_BYTES:
                raise ImportFileError(
                    "This is not a CSV file (it contains binary data). Save the sheet as CSV "
                    "and retry."
                )
            line = self.lines + chunk.count(b"\n", 0, nul) + 1
            raise ImportFileError(
                f"Line {line} contains a null character (\\x00), which cannot be stored; "
                "remove it and retry. Nothing was imported."
            )
        self.offset, self.read_so_far = self.read_so_far, self.read_so_far + len(chunk)
        self.lines += chunk.count(b"\n")
        buffer[: len(chunk)] = chunk
        return len(chunk)


@dataclass
class CsvFile:
    """An uploaded CSV's header and delimiter; its rows are read again, streamed, by rows().

    The file is never decoded whole nor held as a list of rows: a 20 MB file is parsed
    line by line, in bounded memory, as many times as it is read.
    """

    header: list[str]
    delimiter: str
    opener: Callable[[], BinaryIO]
    size: int

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) of each non-empty data row; row 1 is the header.

        Raises ImportFileError, naming the row, when a row cannot be read or has the
        wrong number of columns.
        """
        width = len(self.header)
        records = _records(self.opener, self.delimiter)
        next(records)  # the header, checked by open_csv
        for number, row in enumerate(records, start=2):
            if len(row) > width and not any(cell.strip() for cell in row[width:]):
                del row[width:]  # spreadsheets often leave empty trailing cells
            if len(row) != width:
                raise ImportFileError(
                    f"Row {number} has {len(row)} columns but the header has {width}; "
                    "fix the row (a missing quote or delimiter?) and retry. Nothing was "
                    "imported."
                )
            yield number, row

    def preview(self, count: int) -> list[list[str]]:
        return [row for _, row in itertools.islice(self.rows(), count)]

    def check(self) -> int:
        """Read every row once (nothing kept); the number of rows, or ImportFileError."""
        return sum(1 for _ in self.rows())


def _records(opener: Callable[[], BinaryIO], delimiter: str) -> Iterator[list[str]]:
    """The file's non-empty CSV records, decoded as UTF-8 (with or without a BOM)."""
    raw = opener()
    checked = _CheckedBytes(raw)
    text = io.TextIOWrapper(io.BufferedReader(checked, READ_CHUNK), "utf-8-sig", newline="")
    old_limit = csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield row
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"The file is not UTF-8 text (undecodable byte at position "
            f"{checked.offset + error.start}). Save it as “CSV UTF-8” and retry."
        ) from None
    except csv.Error as error:
        raise ImportFileError(
            f"The CSV cannot be read: {error} (line {reader.line_num})."
        ) from None
    finally:
        csv.field_size_limit(old_limit)
        raw.close()


def _delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _first_line(opener: Callable[[], BinaryIO]) -> str:
    """The header's text line (at most MAX_FIELD_CHARS + 1 characters are read)."""
    raw = opener()
    try:
        text = io.TextIOWrapper(_CheckedBytes(raw), "utf-8-sig", errors="replace", newline="")
        return text.readline(MAX_FIELD_CHARS + 1)
    finally:
        raw.close()


def open_csv(opener: Callable[[], BinaryIO], size: int) -> CsvFile:
    """The header of a CSV that `opener` opens (`size` bytes); ImportFileError says what is
    wrong with the file. Its rows are checked as they are read (CsvFile.rows, check)."""
    if size > MAX_UPLOAD_BYTES:
        raise ImportFileError(
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it into "
            "smaller files."
        )
    first_line = _first_line(opener)
    if len(first_line.rstrip("\r\n")) > MAX_FIELD_CHARS:
        raise ImportFileError(
            "The first line is longer than 100,000 characters: this does not look like a CSV "
            "header."
        )
    delimiter = _delimiter(first_line)
    header = next(_records(opener, delimiter), None)
    if header is None:
        raise ImportFileError("The file is empty.")
    header = [cell.strip() for cell in header]
    if not any(header):
        raise ImportFileError("The first line must name the columns.")
    csv_file = CsvFile(header=header, delimiter=delimiter, opener=opener, size=size)
    if not csv_file.preview(PREVIEW_ROWS):  # the rows the mapping page shows are readable
        raise ImportFileError("The file has a header line but no rows to import.")
    return csv_file


def read_csv(data: bytes, *, check_rows: bool = True) -> CsvFile:
    """An uploaded CSV, every row checked unless `check_rows` is False (a file for a job,
    which checks them); ImportFileError says what is wrong with it."""
    csv_file = open_csv(lambda: io.BytesIO(data), len(data))
    if check_rows:
        csv_file.check()
    return csv_file


def open_stored_csv(path: Path) -> CsvFile:
    """A CSV kept on disk (transfers.uploads), its header only: rows are checked as read."""
    return open_csv(lambda: path.open("rb"), path.stat().st_size)


def estimated_rows(opener: Callable[[], BinaryIO]) -> int:
    """Data rows, counted as lines (no parsing: milliseconds for 20 MB). A quoted cell
    spanning lines makes it an overestimate; blank lines too."""
    lines, last = 0, b"\n"
    with opener() as raw:
        while chunk := raw.read(READ_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return max(0, lines + (last != b"\n") - 1)


# --- mapping -----------------------------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def propose_mapping(record_type: str, header: list[str]) -> list[str]:
    """For each column, the field it probably holds, or "" (ignored)."""
    spec = RECORD_FIELDS[record_type]
    known = {_normal(name): name for name in spec.fields}
    known.update({alias: target for alias, target in spec.aliases.items() if alias not in known})
    proposal, taken = [], set()
    for column in header:
        target = known.get(_normal(column), "")
        if target in taken:
            target = ""
        taken.add(target)
        proposal.append(target)
    return proposal


def mapping_from_names(record_type: str, header: list[str], names: dict[str, str]) -> list[str]:
    """A mapping given as {"CSV column": "field"} (the API's form), over the proposal."""
    mapping = propose_mapping(record_type, header)
    allowed = set(RECORD_FIELDS[record_type].fields)
    for column, target in names.items():
        if column not in header:
            raise ImportFileError(f"The mapping names a column “{column}” the file does not have.")
        if target is not None and not isinstance(target, str):
            raise ImportFileError(
                f"Map the column “{column}” to a field name (a string), or to null to skip it."
            )
        if target and target not in allowed:
            raise ImportFileError(f"“{target}” is not a field of {record_type}.")
        mapping[header.index(column)] = target or ""
    return check_mapping(record_type, mapping)


def check_mapping(record_type: str, mapping: list[str]) -> list[str]:
    allowed = set(RECORD_FIELDS[record_type].fields)
    used = [target for target in mapping if target]
    if any(target not in allowed for target in used):
        raise ImportFileError("The mapping names an unknown field.")
    if len(used) != len(set(used)):
        raise ImportFileError("Two columns are mapped to the same field; map each field once.")
    if not used:
        raise ImportFileError("Map at least one column to a field.")
    return mapping


# --- validating --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


@dataclass
class ImportPlan:
    record_type: str
    # The rows to write (only when planned to be run: a dry run counts them without keeping).
    new: list[tuple[int, dict]] = field(default_factory=list)  # (row number, values)
    updates: list[tuple[int, int, dict]] = field(default_factory=list)  # (row, pk, values)
    row_tags: dict[int, list[str]] = field(default_factory=dict)  # row number -> tag names
    new_count: int = 0
    update_count: int = 0
    skipped: int = 0
    # Duplicates the user may not change (core.ownership): skipped, the first ERRORS_KEPT
    # with their reason; not_editable_rows counts them all.
    not_editable: list[RowError] = field(default_factory=list)
    not_editable_rows: int = 0
    # The first ERRORS_KEPT errors; error_rows counts every row that has one.
    errors: list[RowError] = field(default_factory=list)
    error_rows: int = 0
    tags_to_create: list[str] = field(default_factory=list)
    imported: bool = False

    @property
    def errors_left_out(self) -> bool:
        return self.error_rows > len({error.row for error in self.errors})

    def summary(self) -> str:
        verb = "" if self.imported else " (dry run)"
        not_yours = f" ({self.not_editable_rows} not yours)" if self.not_editable_rows else ""
        return (
            f"{self.new_count} new, {self.update_count} updated, {self.skipped} skipped"
            f"{not_yours}, {self.error_rows} errors{verb}"
        )

    def as_dict(self) -> dict:
        return {
            "new": self.new_count,
            "updated": self.update_count,
            "skipped": self.skipped,
            "errors": self.error_rows,
            "imported": self.imported,
            "summary": self.summary(),
            "tags_created": self.tags_to_create if self.imported else [],
            "tags_to_create": [] if self.imported else self.tags_to_create,
            "error_list": [vars(error) for error in self.errors],
            "skipped_list": [vars(row) for row in self.not_editable],
        }


def _choice_lookup(model_field) -> dict[str, str]:
    lookup = {}
    for value, label in model_field.choices or ():
        lookup[str(value).lower()] = value
        lookup[str(label).lower()] = value
    return lookup


def _owner_lookup() -> dict[str, int]:
    lookup: dict[str, int] = {}
    for pk, username, email in User.objects.filter(is_active=True).values_list(
        "pk", "username", "email"
    ):
        if email:
            lookup.setdefault(email.lower(), pk)
        lookup[username.lower()] = pk
    return lookup


def _existing_by_email(model: type[Model], emails: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    emails = list(emails)
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        rows = (
            model.objects.annotate(email_ci=Lower("email"))
            .filter(email_ci__in=chunk)
            .order_by("pk")
            .values_list("email_ci", "pk")
        )
        for email, pk in rows:
            found.setdefault(email, pk)
    return found


_NOT_YOURS = "Skipped: it updates a record someone else owns, and you may change only yours."


def _not_editable(user: User | None, model: type[Model], pks: Iterable[int]) -> set[int]:
    """Of the duplicates' ids, those `user` may not change (None: a trusted operator)."""
    pks = list(pks)
    if user is None or edits_all(user) or not pks:
        return set()
    editable: set[int] = set()
    for start in range(0, len(pks), 500):
        chunk = model.objects.filter(pk__in=pks[start : start + 500])
        editable.update(editable_by(user, chunk).values_list("pk", flat=True))
    return set(pks) - editable


class _Cleaner:
    """Turns one cell into a field value with the model field's own validation."""

    def __init__(self, taggable: TaggableType):
        self.model = taggable.model
        self.owners = _owner_lookup()
        self.countries = {code.lower(): code for code, _ in countries}
        self.countries.update({str(name).lower(): code for code, name in countries})
        self.choices = {
            f.name: _choice_lookup(f) for f in self.model._meta.fields if f.choices and f.name
        }
        self.memo: dict[str, dict] = {}

    def clean(self, name: str, raw: str):
        """Memoised per column: countries, owners, stages and scores repeat down a file."""
        memo = self.memo.setdefault(name, {})
        known = memo.get(raw)
        if isinstance(known, ValidationError):
            raise known
        if known is not None:
            return known[0]
        try:
            value = self._clean(name, raw)
        except ValidationError as error:
            if len(memo) < MEMO_LIMIT:
                memo[raw] = error
            raise
        if len(memo) < MEMO_LIMIT:
            memo[raw] = (value,)
        return value

    def _clean(self, name: str, raw: str):
        model_field = self.model._meta.get_field(name)
        if name == "owner":
            if raw.lower() not in self.owners:
                raise ValidationError(f"No active user has the username or email “{raw}”.")
            return self.owners[raw.lower()]
        if name == "country":
            if raw.lower() not in self.countries:
                raise ValidationError(f"“{raw}” is not a country name or ISO 3166 code.")
            return self.countries[raw.lower()]
        if name == "currency":
            raw = raw.upper()
            if raw not in CURRENCY_CODES:
                raise ValidationError(f"“{raw}” is not an ISO 4217 currency code.")
            return raw
        if name in self.choices:
            raw = self.choices[name].get(raw.lower(), raw)
        return model_field.clean(raw, None)


def _unquoted(cell: str) -> str:
    """Undo an export's formula neutralising, so an exported file imports back unchanged."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def _default(model: type[Model], name: str):
    model_field = model._meta.get_field(name)
    if model_field.has_default():
        return model_field.get_default()
    return None if model_field.null else ""


def _with_existing(
    rows: Iterable[tuple[int, list[str]]],
    email_index: int | None,
    model,
    existing: dict,
    on_batch: Callable[[], None] | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """The rows, a batch at a time, with `existing` holding the ids of the batch's emails
    already stored: one query per batch, and no list of the whole file's emails.
    `on_batch` is called once `existing` holds a batch's ids."""
    batch: list[tuple[int, list[str]]] = []
    for item in itertools.chain(rows, [None]):
        if item is not None:
            batch.append(item)
            if len(batch) < BATCH_SIZE:
                continue
        if email_index is not None:
            emails = {row[email_index].strip().lower() for _, row in batch}
            existing.clear()
            existing.update(_existing_by_email(model, emails - {""}))
            if on_batch is not None:
                on_batch()
        yield from batch
        batch = []


def plan_import(
    record_type: str,
    csv_file: CsvFile,
    mapping: list[str],
    *,
    user: User | None,
    on_duplicate: str = SKIP,
    keep_rows: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Validate every row; nothing is written. `user` None means a trusted operator.

    The file is streamed; `keep_rows` False (a dry run) only counts what would be written,
    so memory stays bounded whatever the file's size. `progress` hears the rows done so far,
    every BATCH_SIZE rows.
    """
    taggable = TAGGABLE_TYPES[record_type]
    spec = RECORD_FIELDS[record_type]
    model = taggable.model
    mapping = check_mapping(record_type, mapping)
    columns = [(i, target, csv_file.header[i]) for i, target in enumerate(mapping) if target]
    cleaner = _Cleaner(taggable)
    plan = ImportPlan(record_type)
    may_create_tags = user is None or user.has_perm("tags.manage_tag")
    known_tags = dict(Tag.objects.values_list("name_key", "name"))
    new_tags: dict[str, str] = {}
    used_tags: set[str] = set()
    email_column = next((c for c in columns if c[1] == "email"), None) if spec.has_email else None
    existing: dict[str, int] = {}
    locked: set[int] = set()

    def find_locked() -> None:
        """Per batch, beside `existing`: the duplicates `user` may not change."""
        locked.clear()
        if on_duplicate == UPDATE:
            locked.update(_not_editable(user, model, existing.values()))

    rows = _with_existing(
        csv_file.rows(),
        email_column[0] if email_column else None,
        model,
        existing,
        on_batch=find_locked,
    )
    seen_emails: dict[str, int] = {}
    tag_max = Tag._meta.get_field("name").max_length

    for done, (number, row) in enumerate(rows, start=1):
        if progress is not None and done % BATCH_SIZE == 0:
            progress(done)
        values, tag_names, row_errors, empty = {}, [], [], set()
        for index, target, column in columns:
            raw = _unquoted(row[index].strip())
            if target == "tags":
                tag_names = list(dict.fromkeys(t.strip() for t in TAG_SPLIT.split(raw)))
                tag_names = [t for t in tag_names if t]
                continue
            if raw == "":
                values[target] = _default(model, target)
                empty.add(target)
                continue
            try:
                values[target] = cleaner.clean(target, raw)
            except ValidationError as error:
                row_errors.append(RowError(number, column, " ".join(error.messages)))
        for name in tag_names:
            key = name_key(name)
            if key in known_tags or key in new_tags:
                continue
            if problem := name_problem(name):
                row_errors.append(RowError(number, "tags", f"Tag “{name}”: {problem}"))
            elif len(normal_name(name)) > tag_max:
                row_errors.append(
                    RowError(number, "tags", f"Tag “{name}” is longer than {tag_max} characters.")
                )
            elif not may_create_tags:
                row_errors.append(
                    RowError(
                        number,
                        "tags",
                        f"No tag named “{name}”, and you may not create tags.",
                    )
                )
            else:
                new_tags[key] = name
        pk = None
        email = (values.get("email") or "").lower() if email_column else ""
        if email and email in seen_emails:
            row_errors.append(
                RowError(number, email_column[2], f"Repeats the email of row {seen_emails[email]}.")
            )
        elif email:
            seen_emails[email] = number
            pk = existing.get(email)
        if pk is None and not row_errors:
            row_errors.extend(_required_errors(record_type, values, number, columns))
        if row_errors:
            plan.error_rows += 1
            plan.errors.extend(row_errors[: max(0, ERRORS_KEPT - len(plan.errors))])
            continue
        if pk is not None and on_duplicate != UPDATE:
            plan.skipped += 1
            continue
        if pk in locked:
            plan.skipped += 1
            plan.not_editable_rows += 1
            if len(plan.not_editable) < ERRORS_KEPT:
                plan.not_editable.append(RowError(number, email_column[2], _NOT_YOURS))
            continue
        used_tags.update(name_key(name) for name in tag_names)
        if pk is not None:
            plan.update_count += 1
        else:
            plan.new_count += 1
        if not keep_rows:
            continue
        if tag_names:
            plan.row_tags[number] = tag_names
        if pk is not None:  # an update leaves the fields of empty cells as they are
            kept = {name: value for name, value in values.items() if name not in empty}
            plan.updates.append((number, pk, kept))
        else:
            plan.new.append((number, values))
    plan.tags_to_create = [name for key, name in new_tags.items() if key in used_tags]
    return plan


REQUIRED = {"contacts": [], "leads": ["name"], "deals": ["title"]}


def _required_errors(record_type: str, values: dict, number: int, columns) -> list[RowError]:
    """A new record's required fields, and a contact's "a name or an email" rule."""
    header_of = {target: column for _, target, column in columns}
    errors = [
        RowError(number, header_of.get(name, name), "This field is required.")
        for name in REQUIRED[record_type]
        if not values.get(name)
    ]
    if record_type == "contacts" and not any(
        values.get(name) for name in ("first_name", "last_name", "email")
    ):
        errors.append(
            RowError(
                number,
                header_of.get("first_name", "first_name"),
                "Give the contact at least a name or an email.",
            )
        )
    return errors


# --- importing ---------------------------------------------------------------------------------


def _instance(model: type[Model], values: dict) -> Model:
    kwargs = {(f"{name}_id" if name == "owner" else name): value for name, value in values.items()}
    instance = model(**kwargs)
    if model is Deal:  # bulk_create skips Deal.save, which applies the rule
        instance.closed_at = closed_at_for(instance.stage, instance.closed_at, timezone.now())
    return instance


def _create(model: type[Model], rows: list[dict]) -> list[int]:
    return [obj.pk for obj in model.objects.bulk_create([_instance(model, v) for v in rows])]


def _adapter(model_field):
    """How a cleaned Python value becomes a query parameter (what get_db_prep_save does)."""
    ops = connection.ops
    kind = model_field.get_internal_type()
    if kind == "DateTimeField":
        return ops.adapt_datetimefield_value
    if kind == "DateField":
        return ops.adapt_datefield_value
    if kind == "DecimalField":
        digits, places = model_field.max_digits, model_field.decimal_places
        return lambda value: ops.adapt_decimalfield_value(value, digits, places)
    return None


def _insert_rows(model: type[Model], rows: list[dict]) -> list[int]:
    """Multi-row INSERT … RETURNING id from cleaned values, without model instances.

    bulk_create spends most of its time preparing each value of each instance; the
    values here are already clean, so they only need the backend's adapters. Like
    bulk_create, it relies on RETURNING giving the ids in the order of VALUES.
    """
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = []
    for f in fields:
        if f.name in ("created_at", "updated_at"):
            defaults.append(now)
        else:
            defaults.append(_default(model, f.name))
    adapters = [_adapter(f) for f in fields]
    closes = model is Deal  # this insert skips Deal.save, which applies the closed_at rule
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    per_statement = max(1, connection.ops.bulk_batch_size(fields, rows))
    table, pk_column = qn(model._meta.db_table), qn(model._meta.pk.column)
    unnest = connection.vendor == "postgresql"
    if unnest:  # one array per column, as Django 5.2's bulk_create does on PostgreSQL
        per_statement = len(rows)
        arrays = ", ".join(f"(%s)::{f.db_type(connection).split('(')[0]}[]" for f in fields)
    pks: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = []
            for values in chunk:
                if closes:
                    closed_at = closed_at_for(values.get("stage"), values.get("closed_at"), now)
                    values = {**values, "closed_at": closed_at}
                for f, default, adapt in zip(fields, defaults, adapters, strict=True):
                    value = values.get(f.name, default)
                    params.append(adapt(value) if adapt and value is not None else value)
            if unnest:
                width = len(fields)
                sql = f"INSERT INTO {table} ({columns}) SELECT * FROM UNNEST({arrays})"
                params = [params[i::width] for i in range(width)]
            else:
                row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
                sql = f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([row_sql] * len(chunk))
            cursor.execute(f"{sql} RETURNING {pk_column}", params)
            pks.extend(row[0] for row in cursor.fetchall())
    return pks


@transaction.atomic
def run_import(plan: ImportPlan, *, user: User | None, mode: str = VALID_ONLY) -> ImportPlan:
    """Write a plan from plan_import in one transaction; all-or-nothing refuses any error."""
    if mode == ALL_OR_NOTHING and plan.error_rows:
        return plan
    if plan.new_count + plan.update_count != len(plan.new) + len(plan.updates):
        raise ValueError("This plan was made for a dry run (keep_rows=False); plan it again.")
    taggable = TAGGABLE_TYPES[plan.record_type]
    model = taggable.model
    row_pks: dict[int, int] = {}
    insert = _insert_rows if connection.features.can_return_rows_from_bulk_insert else _create
    for start in range(0, len(plan.new), BATCH_SIZE):
        batch = plan.new[start : start + BATCH_SIZE]
        pks = insert(model, [values for _, values in batch])
        row_pks.update((number, pk) for (number, _), pk in zip(batch, pks, strict=True))
    _apply_updates(model, plan.updates)
    row_pks.update((number, pk) for number, pk, _ in plan.updates)
    _attach_tags(taggable, plan, row_pks, user)
    if len(plan.new) >= STATISTICS_REFRESH_AFTER:
        # Before the commit runs the deferred foreign key checks of every new row.
        refresh_statistics(connection.alias, model, taggable.link_model)
    if model is Contact:
        # Live segments re-evaluate every contact imported or updated, after the commit.
        # (Imported deals and leads name no contact, so they change no contact's match.)
        contacts_changed(row_pks.values())
    plan.imported = True
    return plan


def _apply_updates(model: type[Model], updates: list[tuple[int, int, dict]]) -> None:
    """Group rows by the set of fields they change, then bulk_update each group in batches."""
    groups: dict[tuple[str, ...], list[Model]] = {}
    now = timezone.now()
    for _, pk, values in updates:
        instance = _instance(model, values)
        instance.pk = pk
        instance.updated_at = now
        groups.setdefault((*sorted(values), "updated_at"), []).append(instance)
    for fields, instances in groups.items():
        model.objects.bulk_update(instances, list(fields), batch_size=BATCH_SIZE)


def _tag_named(name: str, user: User | None) -> Tag:
    """A new tag called `name`, or the one a concurrent import (or person) just created."""
    try:
        return create_tag(name, user=user)
    except ValidationError:
        existing = find_tag_by_name(name)
        if existing is None:
            raise
        return existing


def _attach_tags(
    taggable: TaggableType, plan: ImportPlan, row_pks: dict[int, int], user: User | None
) -> None:
    by_name = {tag.name_key: tag for tag in Tag.objects.all()}
    # By name, so two imports creating the same tags wait for each other instead of deadlocking.
    for name in sorted(plan.tags_to_create, key=name_key):
        if name_key(name) not in by_name:
            by_name[name_key(name)] = _tag_named(name, user)
    records_per_tag: dict[int, list[int]] = {}
    for number, names in plan.row_tags.items():
        if number not in row_pks:
            continue
        for name in names:
            tag = by_name.get(name_key(name))
            if tag is None:  # created since planning, by someone else? create it now
                tag = by_name[name_key(name)] = _tag_named(name, user)
            records_per_tag.setdefault(tag.pk, []).append(row_pks[number])
    tags = {tag.pk: tag for tag in by_name.values()}
    for tag_pk, record_ids in sorted(records_per_tag.items()):  # bulk_tag's lock order: by id
        added = 0
        for start in range(0, len(record_ids), BATCH_SIZE):
            chunk = record_ids[start : start + BATCH_SIZE]
            records = taggable.model.objects.filter(pk__in=chunk)
            added += bulk_tag(
                taggable, records, add=[tags[tag_pk]], audit=False, savepoint=False
            ).added
        if added:  # one audit entry per tag for the whole import, not one per batch
            record_bulk_tagging(
                user, Action.TAG_BULK_ADDED, tags[tag_pk], taggable, added, via="import"
            )


def import_csv(
    record_type: str,
    data: bytes,
    *,
    user: User | None,
    mapping: list[str] | dict[str, str] | None = None,
    on_duplicate: str = SKIP,
    mode: str = VALID_ONLY,
    dry_run: bool = True,
) -> ImportPlan:
    """Read, plan and (unless a dry run) import in one call: the API's and command's path."""
    csv_file = read_csv(data)
    if mapping is None:
        mapping = propose_mapping(record_type, csv_file.header)
    elif isinstance(mapping, dict):
        mapping = mapping_from_names(record_type, csv_file.header, mapping)
    plan = plan_import(record_type, csv_file, mapping, user=user, on_duplicate=on_duplicate)
    if not dry_run:
        run_import(plan, user=user, mode=mode)
    return plan


ERROR_HEADER = ["row", "column", "reason"]


def error_rows(plan: ImportPlan) -> Iterable[list[str]]:
    yield ERROR_HEADER
    for error in plan.errors:
        yield [str(error.row), error.column, error.reason]
    if plan.errors_left_out:
        listed = len({error.row for error in plan.errors})
        yield ["", "", f"…and {plan.error_rows - listed:,} more rows with errors: fix these first."]
