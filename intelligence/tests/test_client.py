"""The Quimbi client against a real local stand-in: both answer shapes, retries,
no retries on 4xx, malformed answers, timeouts and the circuit breaker."""

import time

import pytest

from intelligence.adapters import analyze_normalise, churn_normalise, ltv_normalise
from intelligence.breaker import CircuitBreaker
from intelligence.client import MAX_RETRY_AFTER, QuimbiClient, QuimbiError, QuimbiUnavailable

ANALYZE = "/api/intelligence/analyze"


def client(**kw):
    kw.setdefault("backoff", 0.01)
    kw.setdefault("circuit", CircuitBreaker(threshold=3, cooldown=0.3))
    return QuimbiClient(**kw)


@pytest.mark.parametrize(
    ("flavor", "ltv", "churn", "level", "forecast"),
    [("published", 3420.5, 0.73, "high", 1250.0), ("code", 880.0, 0.41, "medium", 310.0)],
)
def test_both_answer_shapes_normalise_alike(quimbi, flavor, ltv, churn, level, forecast):
    quimbi.flavor = flavor
    c = client()
    data = analyze_normalise(c.analyze("C1"))
    assert data["lifetime_value"] == ltv and data["churn_score"] == churn
    assert data["churn_level"] == level
    assert data["archetype"]["id"] == "weekly_highvalue"
    assert data["segments"] == {"purchase_frequency": "weekly_shopper"}
    assert churn_normalise(c.churn("C1"))["churn_score"] == churn
    assert ltv_normalise(c.ltv("C1"))["ltv_12m"] == forecast
    # The LTV request carries the horizon under both names, and the key is sent.
    path, body, headers = quimbi.requests[-1]
    assert body["horizon_months"] == body["time_horizon_months"] == 12
    assert headers["X-API-Key"] == "test-key"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_errors_are_retried_then_succeed(quimbi, status):
    quimbi.failures = [status, status]
    assert client(retries=2).analyze("C1")["customer_id"] == "C"
    assert quimbi.count(ANALYZE) == 3


def test_retry_after_is_honoured(quimbi):
    quimbi.failures, quimbi.retry_after = [429], "0.3"
    waits = []
    client(retries=1, sleep=waits.append).analyze("C1")
    assert len(waits) == 1 and waits[0] >= 0.3  # backoff alone is at most 0.02 here
    assert quimbi.count(ANALYZE) == 2


def test_retry_after_is_capped(quimbi):
    quimbi.failures, quimbi.retry_after = [503], "3600"
    waits = []
    client(retries=1, sleep=waits.append).analyze("C1")
    assert waits == [MAX_RETRY_AFTER]  # a ticket request never waits long on Quimbi


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_client_errors_are_not_retried(quimbi, status):
    quimbi.failures = [status]
    with pytest.raises(QuimbiError) as err:
        client(retries=3).analyze("C1")
    assert not isinstance(err.value, QuimbiUnavailable) and err.value.status == status
    assert quimbi.count(ANALYZE) == 1


def test_malformed_json_is_unavailable(quimbi):
    quimbi.malformed = True
    with pytest.raises(QuimbiUnavailable):
        client(retries=0).analyze("C1")


def test_a_hanging_server_times_out_quickly(quimbi):
    quimbi.hang = True
    started = time.monotonic()
    with pytest.raises(QuimbiUnavailable):
        client(retries=0, read_timeout=0.3).analyze("C1")
    assert time.monotonic() - started < 2


def test_breaker_opens_fails_fast_and_recovers(quimbi):
    now = [100.0]
    breaker = CircuitBreaker(threshold=3, cooldown=30.0, clock=lambda: now[0])
    c = client(retries=0, circuit=breaker)
    quimbi.failures = [503, 503, 503]
    for _ in range(3):
        with pytest.raises(QuimbiUnavailable):
            c.analyze("C1")
    assert breaker.state == "open"
    calls = quimbi.count(ANALYZE)
    with pytest.raises(QuimbiUnavailable):
        c.analyze("C1")  # fails fast: Quimbi is not asked
    assert quimbi.count(ANALYZE) == calls
    now[0] += 29.9
    assert breaker.state == "open"  # still cooling down
    now[0] += 0.1
    assert breaker.state == "half_open"
    assert c.analyze("C1")["customer_id"] == "C"  # the trial call succeeds
    assert breaker.state == "closed"


def test_not_configured_is_unavailable(settings):
    settings.QUIMBI_BASE_URL = ""
    with pytest.raises(QuimbiUnavailable):
        QuimbiClient().analyze("C1")


def test_intelligence_answers_are_cached(quimbi):
    c = client()
    c.analyze("C9")
    c.analyze("C9")
    c.churn("C9")
    c.churn("C9")
    assert quimbi.count(ANALYZE) == 1
    assert quimbi.count("/api/intelligence/predict/churn") == 1


@pytest.mark.django_db
def test_an_organization_can_use_its_own_key(quimbi, organization, settings):
    from intelligence.client import client_for
    from intelligence.models import QuimbiAccount

    settings.QUIMBI_API_KEY = "platform-key"
    QuimbiAccount.objects.create(organization=organization, api_key="test-key")
    client_for(organization.pk).churn("C-org")
    assert quimbi.requests[-1][2]["X-API-Key"] == "test-key"
