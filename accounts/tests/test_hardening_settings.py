"""Production settings: `check --deploy` is clean, and each setting follows its variable."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k3y-" + "q8Zr1vXw9pLm2Tn7Yb4Hc6Jd0Fs5Gk3A" * 2  # 68 characters, many distinct
# Importing the settings module alone is enough (and quick): no app needs loading.
SHOW_SETTINGS = """
import json
from cohort import settings as s
print(json.dumps({name: getattr(s, name, None) for name in [
    "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE", "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS", "AXES_FAILURE_LIMIT", "AXES_IPWARE_META_PRECEDENCE_ORDER",
]} | {"AXES_COOLOFF_MINUTES": s.AXES_COOLOFF_TIME.total_seconds() / 60,
      "NUM_PROXIES": s.REST_FRAMEWORK["NUM_PROXIES"]}))
"""


def run(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run Python in a fresh process with production-like environment variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COHORT_")}
    production = {
        "COHORT_DEBUG": "0",
        "COHORT_SECRET_KEY": SECRET,
        "COHORT_ALLOWED_HOSTS": "crm.example.com",
        "COHORT_VAR_DIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, **production, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_is_clean_in_production(tmp_path):
    result = run(tmp_path, "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_follow_the_environment(tmp_path):
    defaults = run(tmp_path, "-c", SHOW_SETTINGS)
    tuned = run(
        tmp_path,
        "-c",
        SHOW_SETTINGS,
        COHORT_BEHIND_PROXY="1",
        COHORT_HSTS_SECONDS="600",
        COHORT_HSTS_INCLUDE_SUBDOMAINS="0",
        COHORT_LOGIN_FAILURE_LIMIT="3",
        COHORT_LOGIN_LOCKOUT_MINUTES="30",
    )

    assert defaults.returncode == tuned.returncode == 0, defaults.stderr + tuned.stderr
    assert json.loads(defaults.stdout) == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": None,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "AXES_FAILURE_LIMIT": 5,
        "AXES_IPWARE_META_PRECEDENCE_ORDER": None,  # django-axes' default: REMOTE_ADDR
        "AXES_COOLOFF_MINUTES": 15,
        "NUM_PROXIES": 0,
    }
    assert json.loads(tuned.stdout) == json.loads(defaults.stdout) | {
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_HSTS_SECONDS": 600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "AXES_FAILURE_LIMIT": 3,
        "AXES_IPWARE_META_PRECEDENCE_ORDER": ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"],
        "AXES_COOLOFF_MINUTES": 30,
        "NUM_PROXIES": 1,
    }


@pytest.mark.skipif(
    os.environ.get("COHORT_DEBUG", "1").lower() not in {"1", "true", "yes", "on"},
    reason="the suite runs with production settings",
)
def test_development_keeps_plain_http():
    # `make run` serves http://127.0.0.1:8000: no redirect to HTTPS, cookies sent over HTTP.
    assert settings.SECURE_SSL_REDIRECT is False
    assert settings.SESSION_COOKIE_SECURE is False
    assert settings.CSRF_COOKIE_SECURE is False
    assert settings.SECURE_HSTS_SECONDS == 0
