"""Business-time arithmetic: weekends, holidays, midnight, DST, closing time."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from sla.business_time import Calendar, CalendarError, Interval, parse_hhmm

NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")


def weekdays(start="09:00", end="17:00", tz="America/New_York", **kw) -> Calendar:
    s, e = parse_hhmm(start), parse_hhmm(end)
    return Calendar(timezone=tz, intervals=tuple(Interval(d, s, e) for d in range(5)), **kw)


def local(tz, *args):
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize(
    ("start", "minutes", "due", "why"),
    [
        (local(NY, 2026, 11, 20, 16, 30), 60, local(NY, 2026, 11, 23, 9, 30), "Friday -> Monday"),
        (local(NY, 2026, 11, 20, 16, 30), 30, local(NY, 2026, 11, 20, 17, 0), "ends at closing"),
        (local(NY, 2026, 11, 20, 17, 0), 1, local(NY, 2026, 11, 23, 9, 1), "at closing"),
        (local(NY, 2026, 11, 21, 12, 0), 60, local(NY, 2026, 11, 23, 10, 0), "from Saturday"),
        (local(NY, 2026, 11, 23, 7, 0), 30, local(NY, 2026, 11, 23, 9, 30), "before opening"),
        (local(NY, 2026, 11, 23, 9, 0), 8 * 60, local(NY, 2026, 11, 23, 17, 0), "a whole day"),
        (local(NY, 2026, 11, 23, 9, 0), 8 * 60 + 1, local(NY, 2026, 11, 24, 9, 1), "a day + 1"),
        (local(NY, 2026, 11, 23, 12, 0), 5 * 8 * 60, local(NY, 2026, 11, 30, 12, 0), "a week"),
    ],
)
def test_add_business_minutes(start, minutes, due, why):
    assert weekdays().add(start, minutes * 60) == due.astimezone(UTC), why


def test_public_holiday_is_skipped():
    cal = weekdays(holiday_country="US")
    # Wednesday before Thanksgiving (Thu 2026-11-26), 16:30 + 60 min -> Friday 09:30.
    assert cal.add(local(NY, 2026, 11, 25, 16, 30), 3600) == local(NY, 2026, 11, 27, 9, 30)


def test_explicit_holiday_is_skipped():
    cal = weekdays(holiday_dates={date(2026, 11, 24): "Team offsite"})
    assert cal.add(local(NY, 2026, 11, 23, 16, 0), 2 * 3600) == local(NY, 2026, 11, 25, 10, 0)


def test_dst_end_week_counts_real_hours():
    cal = weekdays()
    # US DST ends Sunday 2026-11-01: Friday 16:00 EDT + 3 h -> Monday 11:00 EST.
    due = cal.add(local(NY, 2026, 10, 30, 16, 0), 3 * 3600)
    assert due == local(NY, 2026, 11, 2, 11, 0) and due == datetime(2026, 11, 2, 16, 0, tzinfo=UTC)
    assert cal.seconds_between(local(NY, 2026, 10, 30, 16, 0), due) == 3 * 3600


def test_dst_start_night_shift_is_an_hour_shorter():
    # A 22:00-06:00 night shift in Paris (two intervals around midnight); the clocks go
    # forward at 02:00 on Sunday 2026-03-29, so that night has 7 working hours, not 8.
    night = Calendar(
        timezone="Europe/Paris",
        intervals=tuple(Interval(d, 22 * 60, 1440) for d in range(7))
        + tuple(Interval(d, 0, 6 * 60) for d in range(7)),
    )
    start = local(PARIS, 2026, 3, 28, 22, 0)
    end = local(PARIS, 2026, 3, 29, 6, 0)
    assert night.seconds_between(start, end) == 7 * 3600
    assert night.add(start, 7 * 3600) == end.astimezone(UTC)


def test_always_open_adds_plain_time():
    cal = Calendar(always_open=True)
    start = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    assert cal.add(start, 3600) == datetime(2026, 11, 22, 0, 30, tzinfo=UTC)


def test_several_intervals_a_day():
    split = Calendar(
        timezone="UTC",
        intervals=tuple(Interval(d, s, e) for d in range(5) for s, e in ((540, 720), (780, 1020))),
    )
    # 11:30 + 60 min: 30 min before lunch, 30 after -> 13:30.
    start = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    assert split.add(start, 3600) == datetime(2026, 11, 23, 13, 30, tzinfo=UTC)
    assert split.seconds_between(start, datetime(2026, 11, 23, 14, 0, tzinfo=UTC)) == 90 * 60


def test_seconds_between_is_the_inverse_of_add():
    cal = weekdays(holiday_country="US")
    start = local(NY, 2026, 11, 20, 10, 17)
    for minutes in (1, 59, 61, 479, 480, 481, 2000, 9999):
        due = cal.add(start, minutes * 60)
        assert cal.seconds_between(start, due) == minutes * 60


def test_explain_lists_counted_intervals_and_skipped_days():
    cal = weekdays(holiday_country="US")
    why = cal.explain(local(NY, 2026, 11, 25, 16, 30), 3600)
    assert why["due_at"] == local(NY, 2026, 11, 27, 9, 30)
    assert [i["minutes"] for i in why["intervals"]] == [30.0, 30.0]
    assert why["skipped"] == [
        {"date": "2026-11-26", "reason": "holiday", "name": "Thanksgiving Day"}
    ]
    weekend = cal.explain(local(NY, 2026, 11, 20, 16, 30), 3600)["skipped"]
    assert [(s["date"], s["reason"]) for s in weekend] == [
        ("2026-11-21", "weekend"),
        ("2026-11-22", "weekend"),
    ]


def test_calendar_without_working_time_fails_clearly():
    with pytest.raises(CalendarError):
        Calendar(timezone="UTC").add(datetime(2026, 1, 1, tzinfo=UTC), 60)


@pytest.mark.parametrize("bad", ["9", "25:00", "09:60", "ab:cd", None])
def test_parse_rejects_bad_times(bad):
    with pytest.raises(CalendarError):
        parse_hhmm(bad)


def test_a_24_7_calendar_counts_real_elapsed_time_across_dst():
    cal = Calendar(timezone="Europe/Paris", always_open=True)
    # The night the clocks go forward: 01:00 -> 04:00 local is two real hours.
    start, end = local(PARIS, 2026, 3, 29, 1, 0), local(PARIS, 2026, 3, 29, 4, 0)
    assert cal.seconds_between(start, end) == 2 * 3600
    assert cal.add(start, 2 * 3600) == end.astimezone(UTC)
    assert cal.seconds_between(end, start) == 0.0


def test_remembered_days_give_the_answers_worked_out_afresh(monkeypatch):
    monkeypatch.setattr("sla.business_time.DAY_CACHE_MAX", 10)  # forgets as it goes
    cal = weekdays(tz="Europe/Paris", holiday_country="FR")
    fresh = weekdays(tz="Europe/Paris", holiday_country="FR")
    start = local(PARIS, 2026, 3, 20, 10, 0)  # across the DST change and Easter Monday
    for days in (1, 3, 9, 17, 40, 3, 1):
        end = local(PARIS, 2026, 3, 20 + days % 10, 15, 30)
        fresh._days.clear()
        assert cal.seconds_between(start, end) == fresh.seconds_between(start, end)
        assert cal.add(start, days * 3600) == fresh.add(start, days * 3600)
    assert len(cal._days) <= 10
    # Easter Monday (2026-04-06) is closed; the Friday before is a whole day.
    assert cal.day_intervals(date(2026, 4, 6)) == ()
    assert len(cal.day_intervals(date(2026, 4, 3))) == 1
