"""M1: with Redis refusing connections (cache and broker), Cohort keeps working, degraded.

The API answers with its rate limits off (logged once, not per request), Sync and Export
answer 503 with Retry-After and a message in words, /healthz reports the broker down, and
live segment updates made meanwhile are kept and applied once the broker is back.
"""

import logging

import pytest

from core.degraded import forget_warnings
from core.models import KeptTask
from core.queue import send_kept_tasks
from jobs.choices import JobState
from jobs.models import Job
from segments.models import Segment, SegmentMember
from testing.worker import celery_conf

REFUSING = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


@pytest.fixture
def redis_down(settings):
    forget_warnings()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REFUSING,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.CELERY_BROKER_URL = REFUSING
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with celery_conf(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=REFUSING):
        yield


def all_of_country(code: str) -> dict:
    return {
        "match": "all",
        "conditions": [{"field": "country", "operator": "equals", "value": code}],
    }


@pytest.fixture
def americans(db, manager):
    return Segment.objects.create(
        name="Americans",
        criteria=all_of_country("US"),
        created_by=manager,
    )


def test_the_api_serves_with_rate_limits_off_logged_once(redis_down, api, contact, caplog):
    with caplog.at_level(logging.WARNING, logger="core.api.throttling"):
        answers = [api.get("/api/crm/contacts").status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    warnings = [r for r in caplog.records if "rate limits are off" in r.getMessage()]
    assert len(warnings) == 1


# Jobs are queued when the request's transaction commits: these tests really commit.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_api_sync_or_export_answers_503_with_retry_after(redis_down, api, americans):
    for action in ("sync", "export"):
        response = api.post(f"/api/crm/segments/{americans.pk}/{action}")

        assert response.status_code == 503, response.content
        assert response["Retry-After"] == "30"
        assert "job queue is unreachable" in response.json()["detail"]
    # Nothing waits in a queue that does not exist: each job says why it did not run.
    assert set(Job.objects.values_list("state", flat=True)) == {JobState.FAILED}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_sync_and_export_buttons_answer_a_503_page(redis_down, browser_client, americans):
    for action in ("sync", "export"):
        response = browser_client.post(f"/admin/crm-segments/{americans.pk}/{action}")

        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        assert "job queue is unreachable" in response.content.decode()
        assert "Try again shortly" in response.content.decode()


def test_health_reports_the_broker_down_without_a_500(redis_down, client, db):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "error"


def test_live_updates_made_meanwhile_are_applied_when_the_broker_is_back(
    redis_down, api, contact, manager, settings, django_capture_on_commit_callbacks
):
    live = Segment.objects.create(
        name="French", criteria=all_of_country("FR"), mode="live", created_by=manager
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(f"/api/crm/contacts/{contact.pk}", {"country": "FR"}, format="json")

    assert response.status_code == 200
    assert not SegmentMember.objects.filter(segment=live).exists()
    assert KeptTask.objects.filter(task="segments.update_live_segments").count() == 1
    # Still down: the sender (celery beat, every minute) keeps the task for later.
    assert send_kept_tasks() == 0
    assert KeptTask.objects.count() == 1

    # The broker is back (here: tasks run as they are sent, as without one).
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with celery_conf(CELERY_TASK_ALWAYS_EAGER=True):
        assert send_kept_tasks() == 1

    assert SegmentMember.objects.filter(segment=live, contact=contact).exists()
    assert not KeptTask.objects.exists()
