"""The permission matrix: every page and every API operation, as every kind of user.

MATRIX says what an anonymous visitor, each seeded role and the custom users holding a
single permission (only "view crm segments", only "manage crm segments", only the view
permissions of contacts, leads and deals) get from each endpoint. It is derived from what
each role is granted by the apps' data migrations and from the user guide (seeing
segments needs "view crm segments", changing them "manage crm segments", exporting them
"export crm segments"; tags likewise; a record's tags need "view crm tags", attaching and
detaching them the change permission of the record too). The records acted on belong to
the Sales rep: editing others' records is cohort/tests/test_record_ownership.py's. A URL
pattern or API operation without a row fails, and so does a row for something that no
longer exists: a new endpoint means deciding, here, who may use it.
"""

from functools import cache
from urllib.parse import urlsplit

import pytest

from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator

from accounts.roles import ADMINISTRATOR, SALES_MANAGER, SALES_REP, VIEWER
from testing.permissions import (
    ANONYMOUS,
    API_BODIES,
    HTMX_PAGES,
    IDENTITIES,
    PAGE_POSTS,
    PAGE_QUERIES,
    RECORD_TYPES,
    RECORDS_VIEWER,
    SEGMENTS_MANAGER,
    SEGMENTS_VIEWER,
    Clients,
    answer,
    make_world,
)

# What an identity gets. Numbers are exact status codes; the words are:
LOGIN = "302 to the login page"
ELSEWHERE = "302 elsewhere"
ALLOWED = "allowed"  # not refused: anything but 401, 403, the login page, 404, 405 or 5xx
OK, CREATED, ACCEPTED, NO_CONTENT, UNAUTHORIZED, FORBIDDEN = 200, 201, 202, 204, 401, 403

WHO = {
    "A": ADMINISTRATOR,
    "M": SALES_MANAGER,
    "R": SALES_REP,
    "V": VIEWER,
    "S": SEGMENTS_VIEWER,
    "G": SEGMENTS_MANAGER,
    "C": RECORDS_VIEWER,
}


def page(who: str, granted=OK) -> dict:
    """A page: the identities lettered in `who` get `granted`, other signed-in users
    403, anonymous visitors the login page."""
    return {ANONYMOUS: LOGIN} | {
        identity: granted if letter in who else FORBIDDEN for letter, identity in WHO.items()
    }


def api(who: str, granted=OK) -> dict:
    """An API operation: as page(), but requests without a token get 401."""
    return page(who, granted) | {ANONYMOUS: UNAUTHORIZED}


def everyone(answer) -> dict:
    return dict.fromkeys(IDENTITIES, answer)


SIGNED_IN = "AMRVSGC"
JOB_FOLLOWERS = "AMRVS"  # those who may start a job (jobs.services.may_follow_jobs)
RECORDS_VIEW, RECORDS_ADD, RECORDS_CHANGE, RECORDS_DELETE = "AMRVC", "AMR", "AMR", "AM"
ACTIVITIES_VIEW = "AMRV"
TAGS_VIEW, TAGS_MANAGE = "AMRV", "AM"
RECORD_TAGS_VIEW = "AMRV"  # the record's view and "view crm tags"
SEGMENTS_VIEW, SEGMENTS_EXPORT, SEGMENTS_MANAGE = "AMRVS", "AMRV", "AMG"
# Manage segments, reading any contact: the add-member picker and adding by id.
SEGMENTS_PICK = "AM"

# Pages are keyed by URL name, API operations by the schema's path; paths that carry
# {record_type} (contacts, leads, deals) are checked for each record type.
MATRIX: dict[tuple[str, str], dict] = {
    # --- site and account ---
    ("GET", "home"): everyone(ELSEWHERE),  # / forwards to the dashboard
    ("GET", "dashboard"): page(SIGNED_IN),  # shows each user only what they may see
    # Signed-in users are sent on to the dashboard.
    ("GET", "login"): page(SIGNED_IN, ELSEWHERE) | {ANONYMOUS: OK},
    ("POST", "login"): page(SIGNED_IN, ELSEWHERE) | {ANONYMOUS: ALLOWED},
    ("POST", "logout"): everyone(LOGIN),
    ("GET", "token_list"): page(SIGNED_IN),  # everyone's own tokens, for their own rights
    ("POST", "token_list"): page(SIGNED_IN, ALLOWED),
    ("POST", "token_revoke"): page(SIGNED_IN, ALLOWED),
    ("GET", "password_change"): page(SIGNED_IN),
    ("POST", "password_change"): page(SIGNED_IN, ALLOWED),
    ("GET", "audit_list"): page("A"),
    # The API's description maps every endpoint: signed-in users only (M6), unless
    # COHORT_PUBLIC_API_DOCS (cohort/tests/test_csp.py).
    ("GET", "api_schema"): api(SIGNED_IN),
    ("GET", "api_docs"): page(SIGNED_IN),
    ("GET", "healthz"): everyone(OK),  # for load balancers: says only whether it can serve
    # --- contacts, leads, deals ---
    ("GET", "contact_list"): page(RECORDS_VIEW),
    ("GET", "contact_add"): page(RECORDS_ADD),
    ("POST", "contact_add"): page(RECORDS_ADD, ALLOWED),
    ("GET", "contact_detail"): page(RECORDS_VIEW),
    ("GET", "contact_edit"): page(RECORDS_CHANGE),
    ("POST", "contact_edit"): page(RECORDS_CHANGE, ALLOWED),
    ("GET", "contact_delete"): page(RECORDS_DELETE),
    ("POST", "contact_delete"): page(RECORDS_DELETE, ALLOWED),
    ("GET", "lead_list"): page(RECORDS_VIEW),
    ("GET", "lead_add"): page(RECORDS_ADD),
    ("POST", "lead_add"): page(RECORDS_ADD, ALLOWED),
    ("GET", "lead_detail"): page(RECORDS_VIEW),
    ("GET", "lead_edit"): page(RECORDS_CHANGE),
    ("POST", "lead_edit"): page(RECORDS_CHANGE, ALLOWED),
    ("GET", "lead_delete"): page(RECORDS_DELETE),
    ("POST", "lead_delete"): page(RECORDS_DELETE, ALLOWED),
    ("GET", "deal_list"): page(RECORDS_VIEW),
    ("GET", "deal_add"): page(RECORDS_ADD),
    ("POST", "deal_add"): page(RECORDS_ADD, ALLOWED),
    ("GET", "deal_detail"): page(RECORDS_VIEW),
    ("GET", "deal_edit"): page(RECORDS_CHANGE),
    ("POST", "deal_edit"): page(RECORDS_CHANGE, ALLOWED),
    ("GET", "deal_delete"): page(RECORDS_DELETE),
    ("POST", "deal_delete"): page(RECORDS_DELETE, ALLOWED),
    # Sales reps log and delete activities (their grant includes delete_activity).
    ("POST", "activity_create"): page("AMR", ALLOWED),
    ("POST", "activity_delete"): page("AMR", ALLOWED),
    # --- import and export ---
    ("GET", "transfer_import"): page(RECORDS_ADD),
    ("POST", "transfer_import"): page(RECORDS_ADD, ALLOWED),
    ("GET", "transfer_review"): page(RECORDS_ADD),
    ("POST", "transfer_review"): page(RECORDS_ADD, ALLOWED),
    ("GET", "transfer_errors"): page(RECORDS_ADD),
    ("GET", "transfer_export"): page(RECORDS_VIEW),
    ("GET", "tag_export"): page(TAGS_VIEW),
    # --- CRM → Tags, and the Tags section of record pages ---
    ("GET", "tag_list"): page(TAGS_VIEW),
    ("GET", "tag_suggest"): page(TAGS_VIEW),
    ("GET", "tag_add"): page(TAGS_MANAGE),
    ("POST", "tag_add"): page(TAGS_MANAGE, ALLOWED),
    ("GET", "tag_edit"): page(TAGS_MANAGE),
    ("POST", "tag_edit"): page(TAGS_MANAGE, ALLOWED),
    ("GET", "tag_delete"): page(TAGS_MANAGE),
    ("POST", "tag_delete"): page(TAGS_MANAGE, ALLOWED),
    ("GET", "tag_merge"): page(TAGS_MANAGE),
    ("POST", "tag_merge"): page(TAGS_MANAGE, ALLOWED),
    ("GET", "record_tags"): page(RECORD_TAGS_VIEW),  # needs the record's view and "view crm tags"
    ("POST", "record_tags"): page(RECORDS_CHANGE, ALLOWED),
    ("POST", "record_tag_remove"): page(RECORDS_CHANGE, ALLOWED),
    ("POST", "bulk_tags"): page(RECORDS_CHANGE, ALLOWED),
    # --- CRM → Segments ---
    ("GET", "segment_list"): page(SEGMENTS_VIEW),
    ("GET", "segment_detail"): page(SEGMENTS_VIEW),
    ("GET", "segment_changes"): page(SEGMENTS_VIEW),  # who joined and left
    ("GET", "segment_export"): page(SEGMENTS_EXPORT),
    ("GET", "segment_add"): page(SEGMENTS_MANAGE),
    ("POST", "segment_add"): page(SEGMENTS_MANAGE, ALLOWED),
    ("POST", "segment_preview"): page(SEGMENTS_MANAGE, ALLOWED),
    ("GET", "segment_edit"): page(SEGMENTS_MANAGE),
    ("POST", "segment_edit"): page(SEGMENTS_MANAGE, ALLOWED),
    ("GET", "segment_delete"): page(SEGMENTS_MANAGE),
    ("POST", "segment_delete"): page(SEGMENTS_MANAGE, ALLOWED),
    ("POST", "segment_sync"): page(SEGMENTS_MANAGE, ALLOWED),
    ("POST", "segment_export_job"): page(SEGMENTS_EXPORT, ALLOWED),
    ("GET", "job_list"): page(JOB_FOLLOWERS),
    ("GET", "job_detail"): page(JOB_FOLLOWERS),
    ("GET", "job_download"): page(JOB_FOLLOWERS),
    ("POST", "segment_member_add"): page(SEGMENTS_PICK, ALLOWED),
    ("POST", "segment_member_remove"): page(SEGMENTS_MANAGE, ALLOWED),
    ("GET", "segment_contact_search"): page(SEGMENTS_PICK),
    # === API ===
    ("GET", "/api/crm/contacts/"): api(RECORDS_VIEW),
    ("POST", "/api/crm/contacts/"): api(RECORDS_ADD, CREATED),
    ("GET", "/api/crm/contacts/{id}/"): api(RECORDS_VIEW),
    ("PUT", "/api/crm/contacts/{id}/"): api(RECORDS_CHANGE),
    ("PATCH", "/api/crm/contacts/{id}/"): api(RECORDS_CHANGE),
    ("DELETE", "/api/crm/contacts/{id}/"): api(RECORDS_DELETE, NO_CONTENT),
    ("GET", "/api/crm/contacts/{id}/tags/"): api(RECORD_TAGS_VIEW),
    ("POST", "/api/crm/contacts/{id}/tags/"): api(RECORDS_CHANGE, CREATED),
    ("DELETE", "/api/crm/contacts/{id}/tags/{tag_id}/"): api(RECORDS_CHANGE, NO_CONTENT),
    ("POST", "/api/crm/contacts/bulk-tags/"): api(RECORDS_CHANGE),
    ("GET", "/api/crm/leads/"): api(RECORDS_VIEW),
    ("POST", "/api/crm/leads/"): api(RECORDS_ADD, CREATED),
    ("GET", "/api/crm/leads/{id}/"): api(RECORDS_VIEW),
    ("PUT", "/api/crm/leads/{id}/"): api(RECORDS_CHANGE),
    ("PATCH", "/api/crm/leads/{id}/"): api(RECORDS_CHANGE),
    ("DELETE", "/api/crm/leads/{id}/"): api(RECORDS_DELETE, NO_CONTENT),
    ("GET", "/api/crm/leads/{id}/tags/"): api(RECORD_TAGS_VIEW),
    ("POST", "/api/crm/leads/{id}/tags/"): api(RECORDS_CHANGE, CREATED),
    ("DELETE", "/api/crm/leads/{id}/tags/{tag_id}/"): api(RECORDS_CHANGE, NO_CONTENT),
    ("POST", "/api/crm/leads/bulk-tags/"): api(RECORDS_CHANGE),
    ("GET", "/api/crm/deals/"): api(RECORDS_VIEW),
    ("POST", "/api/crm/deals/"): api(RECORDS_ADD, CREATED),
    ("GET", "/api/crm/deals/{id}/"): api(RECORDS_VIEW),
    ("PUT", "/api/crm/deals/{id}/"): api(RECORDS_CHANGE),
    ("PATCH", "/api/crm/deals/{id}/"): api(RECORDS_CHANGE),
    ("DELETE", "/api/crm/deals/{id}/"): api(RECORDS_DELETE, NO_CONTENT),
    ("GET", "/api/crm/deals/{id}/tags/"): api(RECORD_TAGS_VIEW),
    ("POST", "/api/crm/deals/{id}/tags/"): api(RECORDS_CHANGE, CREATED),
    ("DELETE", "/api/crm/deals/{id}/tags/{tag_id}/"): api(RECORDS_CHANGE, NO_CONTENT),
    ("POST", "/api/crm/deals/bulk-tags/"): api(RECORDS_CHANGE),
    ("GET", "/api/crm/activities/"): api(ACTIVITIES_VIEW),
    ("POST", "/api/crm/activities/"): api("AMR", CREATED),
    ("GET", "/api/crm/activities/{id}/"): api(ACTIVITIES_VIEW),
    ("PUT", "/api/crm/activities/{id}/"): api("AMR"),
    ("PATCH", "/api/crm/activities/{id}/"): api("AMR"),
    ("DELETE", "/api/crm/activities/{id}/"): api("AMR", NO_CONTENT),
    ("POST", "/api/crm/{record_type}/import/"): api(RECORDS_ADD, ALLOWED),  # empty: 400
    ("GET", "/api/crm/{record_type}/export.csv/"): api(RECORDS_VIEW),
    ("GET", "/api/crm/tags/"): api(TAGS_VIEW),
    ("POST", "/api/crm/tags/"): api(TAGS_MANAGE, CREATED),
    ("GET", "/api/crm/tags/{id}/"): api(TAGS_VIEW),
    ("PATCH", "/api/crm/tags/{id}/"): api(TAGS_MANAGE),
    ("DELETE", "/api/crm/tags/{id}/"): api(TAGS_MANAGE, NO_CONTENT),
    ("POST", "/api/crm/tags/{id}/merge/"): api(TAGS_MANAGE),
    ("GET", "/api/crm/segments/"): api(SEGMENTS_VIEW),
    ("POST", "/api/crm/segments/"): api(SEGMENTS_MANAGE, CREATED),
    ("GET", "/api/crm/segments/{id}/"): api(SEGMENTS_VIEW),
    ("PATCH", "/api/crm/segments/{id}/"): api(SEGMENTS_MANAGE),
    ("DELETE", "/api/crm/segments/{id}/"): api(SEGMENTS_MANAGE, NO_CONTENT),
    ("GET", "/api/crm/segments/{id}/contacts/"): api(SEGMENTS_VIEW),
    ("POST", "/api/crm/segments/{id}/contacts/"): api(SEGMENTS_PICK, CREATED),
    ("DELETE", "/api/crm/segments/{id}/contacts/{contact_id}/"): api(SEGMENTS_MANAGE, NO_CONTENT),
    ("GET", "/api/crm/segments/{id}/export.csv/"): api(SEGMENTS_EXPORT),
    ("GET", "/api/crm/segments/{id}/runs/"): api(SEGMENTS_VIEW),
    ("GET", "/api/crm/segments/{id}/changes/"): api(SEGMENTS_VIEW),
    ("POST", "/api/crm/segments/{id}/sync/"): api(SEGMENTS_MANAGE, ACCEPTED),
    ("POST", "/api/crm/segments/{id}/export/"): api(SEGMENTS_EXPORT, ACCEPTED),
    ("GET", "/api/crm/segments/fields/"): api(SEGMENTS_VIEW),
    ("POST", "/api/crm/segments/preview/"): api(SEGMENTS_MANAGE),
    ("GET", "/api/crm/audit/"): api("A"),
    ("GET", "/api/crm/audit/{id}/"): api("A"),
    # Background jobs: everyone follows their own (each identity asks for its own job;
    # someone else's is a 404, in jobs/tests).
    ("GET", "/api/crm/jobs/"): api(JOB_FOLLOWERS),
    ("GET", "/api/crm/jobs/{id}/"): api(JOB_FOLLOWERS),
    ("GET", "/api/crm/jobs/{id}/download/"): api(JOB_FOLLOWERS),
}

# Endpoints added alongside this test (audit log, password change): should one go
# missing, the stale-row check says where it was expected from.
EXPECTED_SOON = {
    ("GET", "audit_list"),
    ("GET", "password_change"),
    ("POST", "password_change"),
    ("GET", "/api/crm/audit/"),
    ("GET", "/api/crm/audit/{id}/"),
}

# Every path answers with and without its trailing slash; these are tried both ways.
BOTH_SPELLINGS = {
    ("GET", "dashboard"),
    ("GET", "healthz"),
    ("GET", "contact_list"),
    ("POST", "deal_delete"),
    ("GET", "segment_detail"),
    ("POST", "segment_sync"),
    ("GET", "tag_list"),
    ("GET", "/api/crm/contacts/"),
    ("GET", "/api/crm/segments/{id}/"),
    ("DELETE", "/api/crm/tags/{id}/"),
    ("POST", "/api/crm/segments/{id}/sync/"),
}


def is_api(endpoint: str) -> bool:
    return endpoint.startswith("/api/")


# --- what exists ------------------------------------------------------------------------------


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


@cache
def page_patterns() -> dict[str, URLPattern]:
    """Every routed page by URL name, API routes left to the schema. Only Django's own
    admin site (its own permission system, staff only) and static files are skipped."""
    pages = {}
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(("django-admin/", "static/", "api/crm/")):
            continue
        pages[pattern.name or route] = pattern
    return pages


def api_routes() -> dict[str, str]:
    """Every routed /api/crm/ pattern: URL name → route."""
    return {
        pattern.name or route: route
        for route, pattern in _walk(get_resolver().url_patterns)
        if route.startswith("api/crm/")
    }


def path_params(pattern: URLPattern) -> list[str]:
    return list(pattern.pattern.regex.groupindex)


def variants(key: tuple[str, str]) -> tuple[str, ...]:
    """The record types a row is checked for (one pass for rows without {record_type})."""
    _method, endpoint = key
    if is_api(endpoint):
        return RECORD_TYPES if "{record_type}" in endpoint else ("",)
    pattern = page_patterns().get(endpoint)
    return RECORD_TYPES if pattern and "record_type" in path_params(pattern) else ("",)


CASES = [(key, variant) for key in MATRIX for variant in variants(key)]


def case_id(case) -> str:
    (method, endpoint), variant = case
    return f"{method} {endpoint}" + (f" [{variant}]" if variant else "")


@pytest.fixture(scope="module")
def schema_operations(django_db_setup, django_db_blocker) -> set[tuple[str, str]]:
    with django_db_blocker.unblock():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


# --- the table matches the endpoints ----------------------------------------------------------


def test_every_endpoint_has_a_row(schema_operations):
    pages_in_table = {endpoint for _, endpoint in MATRIX if not is_api(endpoint)}
    api_in_table = {key for key in MATRIX if is_api(key[1])}

    missing = sorted(f"page {name}" for name in page_patterns() if name not in pages_in_table)
    missing += sorted(f"{method} {path}" for method, path in schema_operations - api_in_table)

    assert not missing, "Endpoints without a row in MATRIX (decide who may use them):\n" + (
        "\n".join(missing)
    )
    checks = sum(len(IDENTITIES) * (2 if key in BOTH_SPELLINGS else 1) for key, _variant in CASES)
    print(f"permission matrix: {len(MATRIX)} rows, {len(CASES)} endpoints, {checks} checks")


def test_every_api_route_is_in_the_schema(db, schema_operations, world):
    """An /api/crm/ route the schema leaves out would escape the matrix above.

    `db` keeps it among the database tests: pytest-django runs tests without it after
    the transactional ones, whose flush removes the roles that migrations seeded.
    """
    reached = set()
    for _method, template in schema_operations:
        for record_type in RECORD_TYPES:
            path = world.api_path(template, ADMINISTRATOR, record_type)
            reached.add(resolve(path).url_name)

    assert sorted(set(api_routes()) - reached) == []


def exists(key: tuple[str, str], schema_operations) -> bool:
    _method, endpoint = key
    return key in schema_operations if is_api(endpoint) else endpoint in page_patterns()


def test_every_row_still_exists(schema_operations):
    stale = sorted(f"{m} {e}" for m, e in MATRIX if not exists((m, e), schema_operations))

    soon = {f"{method} {endpoint}" for method, endpoint in EXPECTED_SOON}
    assert not stale, "Rows in MATRIX for endpoints that do not exist:\n" + "\n".join(
        f"{row}  (added with the audit log / password change: was it removed?)"
        if row in soon
        else row
        for row in stale
    )


# --- who gets what ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Users and records made once, inside a transaction rolled back after the module (as
    Django's TestCase does for setUpTestData); every request of a case runs in a savepoint
    of its own, rolled back too, so each sees them as made."""
    imports = tmp_path_factory.mktemp("imports")  # uploads stay out of the repository's var/
    files = override_settings(VAR_DIR=imports, COHORT_JOB_FILES_DIR=imports / "job-files")
    with django_db_blocker.unblock(), transaction.atomic(), files:
        yield make_world(Clients())
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def job_files():
    """Export files stay where the world's jobs wrote them (its override_settings): the
    conftest's job_files would point each test at an empty folder of its own."""


@pytest.fixture(autouse=True)
def unthrottled(monkeypatch):
    """Hundreds of requests from one address and token: rate limits are not under test."""
    monkeypatch.setenv("COHORT_API_THROTTLE_USER", "1000000/min")
    monkeypatch.setenv("COHORT_API_THROTTLE_ANON", "1000000/min")


def describe(response) -> str:
    if response.status_code in (301, 302):
        return f"{response.status_code} to {response['Location']}"
    if response.status_code >= 500 and getattr(response, "exc_info", None):
        error = response.exc_info[1]
        return f"{response.status_code} ({type(error).__name__}: {error})"
    return str(response.status_code)


def matches(expected, response) -> bool:
    status = response.status_code
    to_login = status == 302 and urlsplit(response["Location"]).path.rstrip("/") == reverse(
        "login"
    ).rstrip("/")
    if expected == LOGIN:
        return to_login
    if expected == ELSEWHERE:
        return status == 302 and not to_login
    if expected == ALLOWED:
        return status < 500 and status not in (401, 403, 404, 405) and not to_login
    return status == expected


def send(world, method: str, endpoint: str, identity: str, record_type: str, slash: bool):
    """One request of the row, as `identity`; the response, its body read."""
    if is_api(endpoint):
        path = world.api_path(endpoint, identity, record_type).rstrip("/")
        client = world.api_client(identity)
        body = API_BODIES.get((method, endpoint), lambda w: {})(world)
        options = {"data": body, "format": "multipart" if "import" in endpoint else "json"}
        if method == "GET":
            options = {}
    else:
        params = path_params(page_patterns()[endpoint])
        path = world.page_path(endpoint, params, identity, record_type)
        client = world.page_client(identity)
        if method == "POST":
            options = {"data": PAGE_POSTS.get(endpoint, lambda w: {})(world)}
        else:
            options = {"data": PAGE_QUERIES.get(endpoint, {})}
        if endpoint in HTMX_PAGES:
            options["HTTP_HX_REQUEST"] = "true"
    if slash:
        path = path.rstrip("/") + "/"
    call = getattr(client, method.lower())
    return path, answer(lambda: call(path, **options))


@pytest.mark.parametrize(("key", "record_type"), CASES, ids=map(case_id, CASES))
def test_who_may_use_the_endpoint(db, world, schema_operations, key, record_type):
    method, endpoint = key
    if not exists(key, schema_operations):
        pytest.skip("no such endpoint: test_every_row_still_exists names it")

    mismatches = []
    for identity in IDENTITIES:
        for slash in (False, True) if key in BOTH_SPELLINGS else (False,):
            path, response = send(world, method, endpoint, identity, record_type, slash)
            expected = MATRIX[key][identity]
            if not matches(expected, response):
                mismatches.append(
                    f"  {identity:<16} {method} {path}: expected {expected}, "
                    f"got {describe(response)}"
                )

    assert not mismatches, "\n" + "\n".join(mismatches)
