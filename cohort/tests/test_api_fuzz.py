"""API fuzzing: schemathesis sends generated requests to every /api/crm/ operation.

The schema is the app's own /api/schema/. Requests go in-process to Django's WSGI
application, inside the test's transaction, with an Administrator's Bearer token. Every
answer must be: no 5xx, a documented status code and content type, and a body matching
the documented schema. Each operation is one test, run on freshly seeded records.

A deeper run than the suite's (about 4,000 more requests, boundary and wrong-type values
for every parameter): COHORT_FUZZ_EXAMPLES=100 COHORT_FUZZ_COVERAGE=1 pytest <this file>.
"""

import os
from collections import Counter
from itertools import count

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings

from accounts.tokens import issue_token
from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from segments import services as segment_services
from segments.jobs import request_export
from segments.sync import sync_segment
from tags import services as tag_services

# Generated requests per operation: bounded so the suite stays fast on two cores.
MAX_EXAMPLES = int(os.environ.get("COHORT_FUZZ_EXAMPLES", "15"))
COVERAGE = os.environ.get("COHORT_FUZZ_COVERAGE", "") in {"1", "true", "yes", "on"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CONFIG = {
    "suppress-health-check": ["all"],
    "generation": {
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,  # the same requests on every run, so a failure reproduces
        "database": "none",
        "with-security-parameters": False,  # the token is ours, not generated
    },
    "phases": {"coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}},
}

# Loaded when pytest collects this module, so that each operation becomes a test of its own;
# no one can sign in before the database exists, so the schema is published meanwhile.
with override_settings(COHORT_PUBLIC_API_DOCS=True):
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/",
        get_wsgi_application(),
        config=schemathesis.Config.from_dict(CONFIG),
        headers={"Accept": "application/json"},
    )

# Path and body fields that name a record, and the kind of record they name.
PATH_IDS = {"tag_id": "tags", "contact_id": "contacts"}
BODY_IDS = {
    "contact": "contacts",
    "contact_id": "contacts",
    "lead": "leads",
    "deal": "deals",
    "tag_id": "tags",
    "into": "tags",
    "segment_id": "segments",
}
BODY_ID_LISTS = {"add": "tags", "remove": "tags"}

cases_run: Counter = Counter()
answered: Counter = Counter()
serial = count()


@pytest.fixture
def real_ids(admin_user) -> dict[str, list[int]]:
    """Real records of every kind, by the URL segment that names their kind."""
    contacts = Contact.objects.bulk_create(
        Contact(
            first_name=f"Person {i}",
            email=f"person{i}@example.com",
            country="US" if i % 2 else "GB",
            owner=admin_user,
        )
        for i in range(5)
    )
    hot = tag_services.create_tag("hot", user=admin_user)
    cold = tag_services.create_tag("cold", user=admin_user)
    leads = Lead.objects.bulk_create(
        Lead(name=f"Lead {i}", contact=contacts[i], owner=admin_user) for i in range(3)
    )
    deals = Deal.objects.bulk_create(
        Deal(title=f"Deal {i}", contact=contacts[i], owner=admin_user) for i in range(3)
    )
    activities = Activity.objects.bulk_create(
        Activity(subject=f"Call {i}", contact=contacts[i], owner=admin_user) for i in range(3)
    )
    for record in [*contacts[:3], leads[0], deals[0]]:
        tag_services.attach_tag(record, hot)
    tag_services.attach_tag(leads[1], cold)
    segment = segment_services.create_segment(
        name="Hot contacts",
        criteria={
            "match": "all",
            "conditions": [{"field": "tags", "operator": "has", "value": hot.pk}],
        },
        user=admin_user,
    )
    sync_segment(segment, admin_user)
    segment_services.add_member(segment, contacts[4], admin_user)
    export = request_export(segment, admin_user)  # a job, with a file to download
    return {
        "contacts": [c.pk for c in contacts],
        "leads": [lead.pk for lead in leads],
        "deals": [deal.pk for deal in deals],
        "activities": [a.pk for a in activities],
        "tags": [hot.pk, cold.pk],
        "segments": [segment.pk],
        "jobs": [str(export.pk)],
    }


@pytest.fixture
def in_process_requests(settings):
    """Requests run inside the test's transaction, as with Django's own test client."""
    # Closing "old" connections at request boundaries would close the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # A crash fails the test with its traceback rather than as an anonymous 500 page.
    settings.DEBUG_PROPAGATE_EXCEPTIONS = True
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(admin_user, in_process_requests, monkeypatch) -> str:
    # The fuzzer sends requests faster than any throttle rate a real client gets.
    monkeypatch.setenv("COHORT_API_THROTTLE_USER", "1000000/min")
    return issue_token(admin_user, "fuzz").plain


@pytest.fixture(scope="module", autouse=True)
def report_cases(request):
    """How much was fuzzed, shown past pytest's output capture."""
    yield
    if cases_run:
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nAPI fuzzing: {len(cases_run)} operations, {cases_run.total()} cases run, "
                f"{answered['2xx']} answered 2xx, {answered['4xx']} answered 4xx"
            )
        cases_run.clear()  # pytest may set this fixture up again for the module's other tests
        answered.clear()


def aim_at_real_records(case, real_ids: dict[str, list[int]], n: int) -> None:
    """Point the case's ids at records that exist, so it gets past the 404s and 400s
    that random ids meet, into the code that reads and writes records."""
    kind_in_path = case.operation.path.split("/")[3]  # /api/crm/<kind>/…
    for name in case.path_parameters or {}:
        kind = kind_in_path if name == "id" else PATH_IDS.get(name)
        if kind in real_ids:
            case.path_parameters[name] = real_ids[kind][n % len(real_ids[kind])]
    if isinstance(case.body, dict):
        for name, kind in BODY_IDS.items():
            if isinstance(case.body.get(name), int):
                case.body[name] = real_ids[kind][n % len(real_ids[kind])]
        for name, kind in BODY_ID_LISTS.items():
            if isinstance(case.body.get(name), list):
                case.body[name] = real_ids[kind][: n % 3]
        if isinstance(case.body.get("ids"), list):
            case.body["ids"] = real_ids[kind_in_path][: n % 4]


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, real_ids, token):
    # Every other case aims at real records; the rest keep their random ids.
    n = next(serial)
    if n % 2:
        aim_at_real_records(case, real_ids, n // 2)

    response = case.call(headers={"Authorization": f"Bearer {token}"})

    cases_run[case.operation.label] += 1
    answered[f"{response.status_code // 100}xx"] += 1
    case.validate_response(response, checks=CHECKS)


# --- the error answers every operation documents ----------------------------------------------

OPERATIONS = [result.ok() for result in schema.get_all_operations()]


def plain_case(operation, real_ids: dict[str, list[int]]):
    """A request to `operation` naming records that exist, with no body."""
    kind_in_path = operation.path.split("/")[3]
    values = {}
    for parameter in operation.path_parameters:
        name = parameter.name
        kind = kind_in_path if name == "id" else PATH_IDS.get(name)
        if name == "record_type":
            values[name] = "contacts"
        else:
            values[name] = real_ids[kind][0] if kind in real_ids else 1
    return operation.Case(path_parameters=values)


def test_every_operation_declares_its_error_answers():
    for operation in OPERATIONS:
        documented = set(operation.definition.raw["responses"])
        expected = {"401", "403", "429"}
        if operation.body:
            expected |= {"400", "413", "415"}
        if operation.path_parameters:
            expected.add("404")
        if operation.method in {"post", "put", "patch", "delete"}:
            expected.add("409")

        assert expected <= documented, (operation.label, expected - documented)


@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("nobody", 403), ("admin_user", 429)], ids=str
)
def test_refusals_answer_as_documented(
    request, monkeypatch, real_ids, in_process_requests, who, status
):
    """Every operation refuses the anonymous (401), the unpermitted (403) and, past the
    rate limit, everyone (429) with the documented status, body and headers."""
    # given a token (or none), and for the 429s a rate limit of one request a day (a minute
    # could pass while a busy machine walks every operation, and let the next one through)
    monkeypatch.setenv("COHORT_API_THROTTLE_ANON", "1000000/min")
    monkeypatch.setenv("COHORT_API_THROTTLE_USER", "1/day" if status == 429 else "1000000/min")
    headers = {}
    if who:
        headers["Authorization"] = f"Bearer {issue_token(request.getfixturevalue(who), 't').plain}"
    if status == 429:
        plain_case(schema["/api/crm/contacts/"]["GET"], real_ids).call(headers=headers)

    for operation in OPERATIONS:
        # when
        case = plain_case(operation, real_ids)
        response = case.call(headers=headers)

        # then
        assert response.status_code == status, operation.label
        case.validate_response(response, checks=CHECKS)


# --- what the fuzzing found, kept as plain regression tests ----------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        # django-filter %-formatted the message quoting the value: TypeError
        ("get", "/api/crm/contacts/?tag=%25", None, 400),
        # PostgreSQL refuses UTC offsets past ±15:59: DataError
        ("get", "/api/crm/activities/?occurred_after=2024-07-29T16:26:31-18:14", None, 200),
        ("get", "/api/crm/activities/?occurred_after=9999-12-31T23:00:00-05:00", None, 400),
        # an unhashable `match`: TypeError
        ("post", "/api/crm/segments/", {"name": "S", "criteria": {"match": {}}}, 400),
        ("post", "/api/crm/segments/preview/", {"criteria": {"match": []}}, 400),
        # an id that is no number: ValueError
        ("get", "/api/crm/contacts/1,2/tags/", None, 404),
        # no ids: EmptyResultSet while compiling the bulk statement
        ("post", "/api/crm/deals/bulk-tags/", {"ids": [], "add": ["HOT"]}, 200),
        # a segment_id that does not exist was a 404 the schema did not mention
        ("post", "/api/crm/segments/preview/", {"criteria": {}, "segment_id": 999999}, 400),
        # URLs no API view matches were Django's HTML 404 page
        ("get", "/api/crm/contacts/0.5/", None, 404),
    ],
)
def test_what_fuzzing_found_is_answered_as_documented(api, real_ids, method, path, body, status):
    if body and body.get("add") == ["HOT"]:
        body = {**body, "add": real_ids["tags"][:1]}

    response = getattr(api, method)(path, body, format="json")

    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    if status == 400:
        assert all(isinstance(messages, list) for messages in response.json().values())
