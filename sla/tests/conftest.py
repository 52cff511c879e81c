from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sla.policies import calendar_save, policy_save
from tickets.tests.outbox import dispatch_all  # noqa: F401  (re-exported for SLA tests)

NY = ZoneInfo("America/New_York")


@pytest.fixture
def at():
    """`with at(2026, 11, 20, 16, 30):` freezes time at that New York wall-clock instant."""

    def travel(*args, tz=NY):
        return time_machine.travel(datetime(*args, tzinfo=tz), tick=False)

    return travel


@pytest.fixture
def ny_calendar(organization):
    return calendar_save(
        organization=organization,
        data={
            "name": "NY office",
            "timezone": "America/New_York",
            "hours": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
            "holiday_country": "US",
        },
        actor=None,
    )


@pytest.fixture
def standard_policy(organization, ny_calendar):
    return policy_save(
        organization=organization,
        data={
            "name": "Standard",
            "position": 100,
            "first_response_minutes": 60,
            "next_response_minutes": 120,
            "resolution_minutes": 480,
            "calendar": ny_calendar.pk,
            "pause_on_pending": ["next_response", "resolution"],
        },
        actor=None,
    )
