"""Out-of-range and malformed ids in every list filter: a 400 naming the field, never a 500.

SQLite cannot bind an integer past 2**63 - 1 (OverflowError) and PostgreSQL refuses
it in a bigint comparison, so every id filter must check the range itself (#15 L1).
"""

import pytest

BAD_IDS = [str(2**63), "-1", "1e400", "abc"]

# (path, id parameters it filters on)
API_LISTS = [
    ("/api/crm/contacts", ["tag", "owner"]),
    ("/api/crm/leads", ["tag", "owner", "contact"]),
    ("/api/crm/deals", ["tag", "owner", "contact"]),
    ("/api/crm/audit", ["actor", "target_id"]),
    ("/api/crm/contacts/export.csv", ["tag", "owner"]),
    ("/api/crm/leads/export.csv", ["tag", "owner", "contact"]),
    ("/api/crm/deals/export.csv", ["tag", "owner", "contact"]),
]
PAGE_LISTS = [
    ("/admin/contacts", ["tag", "owner"]),
    ("/admin/leads", ["tag", "owner", "contact"]),
    ("/admin/deals", ["tag", "owner", "contact"]),
    ("/admin/audit", ["actor", "target_id"]),
    ("/admin/contacts/export.csv", ["tag", "owner"]),
    ("/admin/leads/export.csv", ["tag", "owner", "contact"]),
    ("/admin/deals/export.csv", ["tag", "owner", "contact"]),
]


def _cases(lists):
    return [
        pytest.param(path, param, value, id=f"{path}?{param}={value}")
        for path, params in lists
        for param in params
        for value in BAD_IDS
    ]


@pytest.mark.parametrize(("path", "param", "value"), _cases(API_LISTS))
def test_api_list_refuses_an_impossible_id_naming_the_field(api, contact, path, param, value):
    response = api.get(path, {param: value}, HTTP_ACCEPT="application/json")

    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert param in body or param in str(body.get("detail", "")), body


@pytest.mark.parametrize(("path", "param", "value"), _cases(PAGE_LISTS))
def test_list_page_shows_a_filter_error_for_an_impossible_id(
    browser_client, contact, path, param, value
):
    response = browser_client.get(path, {param: value})

    assert response.status_code in (200, 400), response.content[:300]
    if path.endswith(".csv"):
        assert response.status_code == 400
        assert param in response.content.decode() or "Invalid filter" in response.content.decode()
    else:
        # No row is listed as if the filter matched, and the page names the field to fix.
        page = response.content.decode()
        assert "Lovelace" not in page
        assert 'role="alert"' in page and f"{param[0].upper()}{param[1:]}:" in page, page[-3000:]
