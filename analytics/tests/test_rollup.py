"""The daily roll-up: a report over rolled-up days (and the live days after them)
answers exactly what the raw tables answer, on the hand-computed month of conftest.py."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.management import call_command

from analytics import rollup as rollup_module
from analytics import selectors
from analytics.dashboard import dashboard_trends
from analytics.models import DailyFigures, ResponseTime, RollupState
from analytics.rollup import rollup_refresh
from analytics.tests.conftest import at
from tickets.models import Satisfaction

pytestmark = pytest.mark.django_db


def _reports(d) -> dict:
    org = d.organization.pk
    period = {"organization_id": org, "start": d.start, "end": d.end}
    return {
        "agents": selectors.agent_metrics(**period),
        "teams": selectors.team_metrics(**period),
        "overview": selectors.overview(**period),
        "team overview": selectors.overview(**period, team_id=d.team.pk),
        "agent overview": selectors.overview(**period, agent_id=d.alice.pk),
        "both": selectors.overview(**period, team_id=d.team.pk, agent_id=d.alice.pk),
        "sla": selectors.sla_report(**period),
        "trends": dashboard_trends(
            organization_id=org, start=d.start, end=d.end, tz=UTC, team_id=None
        ),
        "team trends": dashboard_trends(
            organization_id=org, start=d.start, end=d.end, tz=UTC, team_id=d.team.pk
        ),
    }


@pytest.mark.parametrize(
    "rolled_through",
    [date(2026, 3, 15), date(2026, 4, 30)],
    ids=["half-rolled-half-live", "all-rolled"],
)
def test_rolled_up_days_answer_what_the_raw_tables_answer(dataset, rolled_through):
    live = _reports(dataset)
    now = datetime.combine(rolled_through + timedelta(days=1), time(9), tzinfo=UTC)
    days = rollup_refresh(organization_id=dataset.organization.pk, now=now)
    assert days == (rolled_through - date(2026, 2, 1)).days + 1  # from t7's day
    state = RollupState.objects.get(organization_id=dataset.organization.pk)
    assert (state.rolled_through, state.timezone) == (rolled_through, "UTC")
    alice_march = DailyFigures.objects.filter(
        agent=dataset.alice, day__gte=dataset.start, day__lte=rolled_through
    )
    assert sum(row.replies for row in alice_march) >= 1
    assert ResponseTime.objects.filter(ticket=dataset.t2, metric="first_response").get().business
    assert _reports(dataset) == live


def test_a_late_change_counts_once_the_day_is_rebuilt(dataset):
    org = dataset.organization.pk
    rollup_refresh(organization_id=org, now=at(4, 2))
    before = selectors.agent_metrics(organization_id=org, start=dataset.start, end=dataset.end)
    # A rating on an old day, written after the day was rolled up.
    Satisfaction.objects.filter(ticket=dataset.t1).update(rating=1)
    stale = selectors.agent_metrics(organization_id=org, start=dataset.start, end=dataset.end)
    assert stale == before  # the roll-up holds the day as it was
    call_command("analytics_rollup", "--rebuild", verbosity=0)
    fresh = selectors.agent_metrics(organization_id=org, start=dataset.start, end=dataset.end)
    alice = next(r for r in fresh if r["name"] == "Alice")
    assert alice["csat_average"] < next(r for r in before if r["name"] == "Alice")["csat_average"]


def test_a_roll_up_cut_in_another_time_zone_is_not_used(dataset):
    org = dataset.organization
    live = selectors.agent_metrics(organization_id=org.pk, start=dataset.start, end=dataset.end)
    rollup_refresh(organization_id=org.pk, now=at(4, 2))
    DailyFigures.objects.filter(organization=org).update(replies=99)  # would show
    org.timezone = "America/New_York"
    org.save(update_fields=["timezone"])
    moved = selectors.agent_metrics(organization_id=org.pk, start=dataset.start, end=dataset.end)
    assert all(row["replies"] != 99 for row in moved)
    assert [r["name"] for r in moved] == [r["name"] for r in live]
    # The next refresh starts over in the new zone.
    rollup_refresh(organization_id=org.pk, now=at(4, 2))
    state = RollupState.objects.get(organization=org)
    assert state.timezone == "America/New_York"
    assert not DailyFigures.objects.filter(organization=org, replies=99).exists()


def test_refresh_is_idempotent_and_rebuilds_only_the_last_days(dataset):
    org = dataset.organization.pk
    rollup_refresh(organization_id=org, now=at(4, 2))
    rows = DailyFigures.objects.filter(organization_id=org).count()
    facts = ResponseTime.objects.filter(organization_id=org).count()
    assert rollup_refresh(organization_id=org, now=at(4, 2)) == 3  # REBUILD_DAYS
    assert DailyFigures.objects.filter(organization_id=org).count() == rows
    assert ResponseTime.objects.filter(organization_id=org).count() == facts == 7


def test_the_roll_up_runs_on_beat():
    from django.conf import settings

    from analytics.tasks import rollup_refresh_task

    entry = settings.CELERY_BEAT_SCHEDULE["analytics.rollup_refresh"]
    assert entry["task"] == rollup_refresh_task.name
    assert entry["schedule"] <= 3600


@pytest.mark.django_db(transaction=True)
def test_the_roll_up_compiles_no_jit_and_leaves_the_setting_as_it_was(require_postgres):
    """The roll-up's grouped scans cost more to JIT-compile than to run: each chunk's
    transaction turns JIT off (SET LOCAL), and the connection has it back afterwards."""
    from django.db import connection, transaction

    from agents.tests.factories import OrganizationFactory
    from analytics.rollup import rollup_build

    org = OrganizationFactory()

    def jit():
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            return cursor.fetchone()[0]

    before = jit()
    with transaction.atomic():
        rollup_build(
            organization_id=org.pk, first_day=date(2026, 3, 1), last_day=date(2026, 3, 2), tz=UTC
        )
        assert jit() == "off"
    assert jit() == before


@pytest.mark.django_db(transaction=True)
def test_a_first_build_in_parallel_spans_writes_what_one_at_a_time_writes(
    require_postgres, dataset, monkeypatch
):
    """`workers=2` (seed_bench, `analytics_rollup --workers`) builds the spans two at a
    time on connections of their own: the same rows, the same state, the same reports."""
    monkeypatch.setattr(rollup_module, "CHUNK_DAYS", 10)  # five spans for the months
    org = dataset.organization.pk
    now = datetime(2026, 5, 1, 9, tzinfo=UTC)
    live = _reports(dataset)

    def written():
        return sorted(
            DailyFigures.objects.filter(organization_id=org).values_list(
                "day", "kind", "agent_id", "team_id", "created", "replies", "resolved"
            )
        ), sorted(ResponseTime.objects.filter(organization_id=org).values_list(
            "ticket_id", "metric", "day", "seconds", "business"))  # fmt: skip

    assert rollup_refresh(organization_id=org, now=now) == 89  # 2026-02-01..04-30
    one_at_a_time = written()
    assert rollup_refresh(organization_id=org, now=now, rebuild=True, workers=2) == 89
    assert written() == one_at_a_time
    state = RollupState.objects.get(organization_id=org)
    assert state.rolled_through == date(2026, 4, 30)
    assert _reports(dataset) == live


def test_inside_a_transaction_workers_build_one_span_at_a_time(
    require_postgres, dataset, monkeypatch
):
    """Other connections cannot see what the caller's transaction has not committed (a
    test's own, here): the build then stays on the caller's connection."""
    monkeypatch.setattr(rollup_module, "CHUNK_DAYS", 10)
    org = dataset.organization.pk
    live = _reports(dataset)
    assert rollup_refresh(organization_id=org, now=datetime(2026, 5, 1, 9, tzinfo=UTC),
                          workers=2) == 89  # fmt: skip
    assert DailyFigures.objects.filter(organization_id=org).exists()
    assert _reports(dataset) == live


def test_deleting_a_ticket_or_an_agent_deletes_their_facts(dataset):
    """The fact tables carry no database foreign keys (a first build's commit checked
    one trigger per fact); Django's CASCADE still removes a deleted row's facts, so a
    report never counts a ticket or an agent that is gone."""
    org = dataset.organization.pk
    rollup_refresh(organization_id=org, now=at(4, 2))
    assert ResponseTime.objects.filter(ticket=dataset.t1).count() == 2
    dataset.t1.delete()
    assert not ResponseTime.objects.filter(ticket_id=dataset.t1.pk).exists()
    alice = dataset.alice.pk
    assert DailyFigures.objects.filter(agent_id=alice).exists()
    dataset.alice.delete()
    assert not DailyFigures.objects.filter(agent_id=alice).exists()
    assert not ResponseTime.objects.filter(agent_id=alice).exists()
    names = {row["name"] for row in selectors.agent_metrics(
        organization_id=org, start=dataset.start, end=dataset.end
    )}  # fmt: skip
    assert "Alice" not in names
