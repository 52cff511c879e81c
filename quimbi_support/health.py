"""Liveness and readiness probes.

/health/ answers 200 while the process serves. /health/ready/ checks the database,
the cache and the Celery broker, and answers 503 naming the parts that fail.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from kombu import Connection

logger = logging.getLogger(__name__)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    key = "health:ready"
    value = str(time.time())
    cache.set(key, value, 10)
    # django-redis is configured to swallow errors (Redis is only a cache): read the
    # value back, so a Redis outage still shows up here.
    if cache.get(key) != value:
        raise RuntimeError("cache did not return the value just written")


def _check_broker() -> None:
    with Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=2,
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@never_cache
def health(request):
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request):
    results, failing = {}, []
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
            results[name] = {"status": "ok"}
        except Exception as exc:  # a probe reports every failure, whatever its kind
            logger.warning("readiness: %s failed: %r", name, exc)
            results[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
            failing.append(name)
        results[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    # Quimbi enriches but is not needed to serve: its state is reported, never failing.
    from intelligence.client import breaker

    results["quimbi"] = {
        "status": breaker().state,
        "configured": bool(settings.QUIMBI_BASE_URL),
        "required": False,
    }
    body = {"status": "ok" if not failing else "unavailable", "checks": results}
    if failing:
        body["failing"] = failing
        body["detail"] = f"Not ready: {', '.join(failing)} failing."
    return JsonResponse(body, status=503 if failing else 200)
