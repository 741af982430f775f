"""M6: a strict Content-Security-Policy on every page, and the API's schema and docs for
signed-in users unless COHORT_PUBLIC_API_DOCS publishes them.

(cohort/tests/test_csp_browser.py checks in Chromium that the pages break none of its rules.)
"""

import re

import pytest

from django.test import Client

PAGES = ["/admin", "/admin/contacts", "/admin/crm-segments", "/api/docs/"]


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_the_sign_in_page_carries_the_policy(client, db):
    response = client.get("/admin/login")

    assert directives(response)["script-src"] == ["'self'"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_a_strict_policy(browser_client, path):
    response = browser_client.get(path)

    assert response.status_code == 200
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    for kind in ("script-src", "style-src"):
        # Only Cohort's own files, or inline code carrying this response's nonce.
        assert all(value == "'self'" or value.startswith("'nonce-") for value in policy[kind])
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


@pytest.mark.parametrize("path", PAGES)
def test_no_page_has_inline_script_style_or_handlers(browser_client, path):
    html = browser_client.get(path).content.decode()

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_the_docs_use_swagger_ui_served_by_cohort(browser_client):
    html = browser_client.get("/api/docs/").content.decode()

    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in source for source in sources)
    assert all(not source.startswith(("http:", "https:", "//")) for source in sources)
    script = browser_client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.parametrize("path", ["/api/schema/", "/api/schema"])
def test_the_schema_needs_a_sign_in(db, path):
    response = Client().get(path, HTTP_ACCEPT="application/json")

    assert response.status_code == 401
    assert "Sign in" in response.json()["detail"]


def test_the_docs_page_sends_the_signed_out_to_the_sign_in_page(db):
    response = Client().get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login")


def test_the_schema_is_served_to_the_signed_in_and_token_holders(browser_client, api):
    assert browser_client.get("/api/schema/", HTTP_ACCEPT="application/json").status_code == 200
    assert api.get("/api/schema/", HTTP_ACCEPT="application/json").status_code == 200


def test_an_operator_may_publish_the_docs(db, settings):
    settings.COHORT_PUBLIC_API_DOCS = True

    assert Client().get("/api/schema/", HTTP_ACCEPT="application/json").status_code == 200
    assert Client().get("/api/docs/").status_code == 200
