import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health/", "/health"])
def test_health_answers_while_the_process_serves(path):
    response = Client().get(path)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_checks_database_cache_and_broker():
    response = Client().get("/health/ready/")
    body = response.json()
    assert response.status_code == 200, body
    assert {k: v["status"] for k, v in body["checks"].items()} == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "quimbi": "closed",
    }
    assert body["checks"]["quimbi"]["required"] is False


@pytest.mark.django_db
def test_ready_names_the_failing_broker(settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"  # nothing listens there
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = Client().get("/health/ready/")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["broker"] and "broker" in body["detail"]
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_ready_names_the_failing_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    from django.core.cache import caches

    caches._settings = None
    try:
        del caches._connections.default
    except AttributeError:
        pass
    response = Client().get("/health/ready/")
    assert response.status_code == 503 and response.json()["failing"] == ["cache"]


@pytest.mark.django_db
def test_ready_with_real_redis_cache(require_redis):
    body = Client().get("/health/ready/").json()
    assert body["checks"]["cache"]["status"] == "ok"
    from django.core.cache import caches

    assert type(caches["default"]).__name__ == "RedisCache"
