"""Fixtures shared by every app's tests: users in each seeded role, API clients, records."""

import os

import pytest

from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import ADMINISTRATOR, ROLES, SALES_MANAGER, SALES_REP, VIEWER
from accounts.tokens import issue_token
from contacts.models import Contact

pytest_plugins = ["testing.browser", "testing.worker"]


def pytest_report_header(config):
    url = os.environ.get("DATABASE_URL")
    return f"database: {'PostgreSQL ' + url if url else 'SQLite (embedded)'}"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests make many users; the production hasher would spend most of the run on them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clear_cache():
    """API throttle counts live in the cache; a test must not inherit another's budget.

    (Login lockouts live in django-axes' tables, which each test's transaction rolls back.)
    """
    cache.clear()


@pytest.fixture(autouse=True)
def job_files(settings, tmp_path):
    """Files that jobs write (exports) go to the test's own folder, not the project's var/."""
    settings.COHORT_JOB_FILES_DIR = tmp_path / "job-files"


@pytest.fixture
def make_user(db):
    def make(username: str, role: str | None = None, **fields) -> User:
        user = User.objects.create_user(username=username, password="s3cret-pass-word", **fields)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", ADMINISTRATOR, is_superuser=False)


@pytest.fixture
def manager(make_user):
    return make_user("manager", SALES_MANAGER)


@pytest.fixture
def rep(make_user):
    return make_user("rep", SALES_REP)


@pytest.fixture
def viewer(make_user):
    return make_user("viewer", VIEWER)


@pytest.fixture
def nobody(make_user):
    """Signed in, but in no role: may see nothing."""
    return make_user("nobody")


@pytest.fixture(params=ROLES)
def role(request):
    return request.param


@pytest.fixture
def api_client_for():
    """An API client authenticated the way integrators do: a Bearer token."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, 'test').plain}")
        return client

    return make


@pytest.fixture
def api(api_client_for, admin_user) -> APIClient:
    return api_client_for(admin_user)


@pytest.fixture
def browser_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def contact(db, admin_user) -> Contact:
    return Contact.objects.create(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@analytical.example",
        company="Analytical Engines",
        country="GB",
        owner=admin_user,
    )


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"
