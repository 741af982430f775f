"""Hostile input, SQL: text that looks like SQL or LIKE patterns is only ever text.

Quotes, comment markers, `%`, `_` and `\\` in search boxes, filters and criteria values
match exactly the rows that literally contain them (LIKE wildcards are escaped),
on both databases, and no table is harmed.
"""

import pytest

from contacts.models import Contact
from segments.models import Segment
from tags.models import Tag

SQLISH = [
    "' OR 1=1 --",
    '"; DROP TABLE contacts_contact; --',
    "' UNION SELECT password FROM accounts_user --",
    "%",
    "_",
    "\\",
    "%_%",
    "a%b",
    "50_50",
    "\\%",
    "O'Brien",
    "[a-z]*",
]
SEARCH_FIELDS = ("first_name", "last_name", "email", "company")


@pytest.fixture
def people(db) -> list[Contact]:
    """One contact holding each string in its company, and plain ones that hold none."""
    contacts = [
        Contact.objects.create(first_name=f"P{n}", company=f"x{value}y", email=f"p{n}@example.com")
        for n, value in enumerate(SQLISH)
    ]
    contacts += [
        Contact.objects.create(first_name="Plain", company="Acme", email="plain@example.com"),
        Contact.objects.create(first_name="Ab", company="ab", email="ab@example.com"),
    ]
    return contacts


def expected_search(people: list[Contact], query: str) -> set[int]:
    """What the list search means: every word appears in one of the fields, ignoring case."""
    words = query.lower().split()[:5]
    return {
        c.pk
        for c in people
        if all(any(w in getattr(c, f).lower() for f in SEARCH_FIELDS) for w in words)
    }


def test_search_matches_only_rows_that_contain_the_text(api, browser_client, people):
    for value in SQLISH:
        expected = expected_search(people, value)
        assert expected  # each string is held by at least its own contact

        found = api.get("/api/crm/contacts", {"search": value, "page_size": 100}).json()
        assert {c["id"] for c in found["results"]} == expected, value
        page = browser_client.get("/admin/contacts", {"search": value})
        assert page.status_code == 200
        shown = {c.pk for c in people if c.get_absolute_url() + '"' in page.content.decode()}
        assert shown == expected, value
    assert Contact.objects.count() == len(people)


FILTERS = ["tag", "owner", "country", "lifecycle_stage", "source", "ordering", "tag_match"]


def test_filter_params_holding_sql_are_refused_as_unknown_choices(api, browser_client, people):
    for value in SQLISH:
        query = dict.fromkeys(FILTERS, value)
        response = api.get("/api/crm/contacts", query)
        page = browser_client.get("/admin/contacts", query)

        # An unknown choice is a 400 naming each parameter (the page shows it on the form).
        assert response.status_code == 400, response.content[:200]
        assert set(response.json()) == set(FILTERS)
        assert page.status_code == 200
        assert "p0@example.com" not in page.content.decode()  # an invalid filter shows no rows
    assert Contact.objects.count() == len(people)


def matches(company: str, probe: str, operator: str) -> bool:
    """What the text operators mean, ignoring case."""
    company, probe = company.lower(), probe.lower()
    return {
        "equals": company == probe,
        "in": company == probe,
        "contains": probe in company,
        "starts_with": company.startswith(probe),
        "ends_with": company.endswith(probe),
    }[operator]


@pytest.mark.parametrize("operator", ["equals", "contains", "starts_with", "ends_with", "in"])
def test_criteria_values_are_text(api, people, operator):
    # Each value alone, and the whole company of the contact holding it ("x<value>y").
    for probe in [*SQLISH, "x%_%y", "x' OR 1=1 --y"]:
        expected = sum(1 for c in people if matches(c.company, probe, operator))
        condition = {"field": "company", "operator": operator}
        condition["value"] = [probe] if operator == "in" else probe
        criteria = {"match": "all", "conditions": [condition]}

        response = api.post("/api/crm/segments/preview", {"criteria": criteria}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["count"] == expected, (operator, probe)
    assert Contact.objects.count() == len(people)


def test_names_holding_sql_are_searchable_as_text(api, browser_client, admin_user):
    for n, value in enumerate(SQLISH):
        Tag.objects.create(name=f"t{value}", slug=f"t{n}", color="#2563eb")
        Segment.objects.create(name=f"s{value}")
    Tag.objects.create(name="plain", slug="plain", color="#2563eb")

    for value in SQLISH:
        expected = {f"t{v}" for v in SQLISH if value.lower() in f"t{v}".lower()}
        tags = api.get("/api/crm/tags", {"search": value, "page_size": 100}).json()["results"]
        if " " not in value:  # DRF's SearchFilter splits on spaces: words, not the phrase
            assert {t["name"] for t in tags} == expected, value
        page = browser_client.get("/admin/crm/tags", {"search": value}).content.decode()
        assert ">plain<" not in page or "plain" in expected
        suggest = browser_client.get("/admin/crm/tags/suggest", {"q": value}).status_code
        segments = browser_client.get("/admin/crm-segments", {"search": value}).status_code
        api_segments = api.get("/api/crm/segments", {"search": value}).status_code
        assert (suggest, segments, api_segments) == (200, 200, 200)
    assert Tag.objects.count() == len(SQLISH) + 1
