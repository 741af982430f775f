"""Browser fixtures for every app's browser tests (a pytest plugin, loaded by conftest.py):
Playwright driving Debian's Chromium against pytest-django's live server.

Playwright never downloads a browser here: it launches /usr/bin/chromium. Without
it the browser tests skip, except under CI=true, where a missing browser fails.
Set COHORT_SCREENSHOTS=/some/dir to keep screenshots of the pages the tests visit.
"""

import os
import re
from pathlib import Path

import pytest

from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "s3cret-pass-word"  # what the root conftest's make_user gives every user
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last, after pytest-django's own ordering.

    Their live server needs a transactional database, flushed after each test, which
    drops the roles seeded by migrations; tests that reach the database only through
    `request.getfixturevalue` look database-free to pytest-django and would run later.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)."
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture
def browser(chromium_path, monkeypatch, settings):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM
    # calls are still synchronous, so Django's async-safety check must stand aside.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
        # Under Playwright the test's ORM calls get a connection of their own; close it, or
        # PostgreSQL refuses to drop the test database at the end of the run.
        connections.close_all()


@pytest.fixture
def open_page(browser):
    """`open_page(viewport)`: a fresh browser tab (own cookies) of that size."""
    contexts = []

    def make(viewport: dict = DESKTOP):
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        # Uncaught JavaScript errors, for tests to assert there are none.
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.js_errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def log_in(live_server):
    """Sign in through the login form, as a person would."""

    def login(page, user) -> None:
        page.goto(f"{live_server.url}/admin/login")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r"/admin/?$"))

    return login


@pytest.fixture
def shoot():
    """`shoot(page, name)`: a full-page screenshot under $COHORT_SCREENSHOTS, when it is set."""
    directory = os.environ.get("COHORT_SCREENSHOTS")

    def screenshot(page, name: str) -> None:
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)

    return screenshot
