"""Business-time arithmetic on a weekly calendar with holidays, in the calendar's own
timezone. Pure functions (no database): sla.services builds a `Calendar` from the rows.

- Working intervals are local wall-clock times per weekday (0 = Monday); several per day
  are allowed; an interval may end at 24:00.
- Each local date's intervals are turned into UTC instants through the timezone, so a
  day with a DST change simply has a shorter or longer interval: business time is real
  elapsed time inside working hours.
- A budget that runs out exactly when an interval closes is due at that closing instant
  (not at the next opening).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays as holidays_lib

# A calendar whose week has no working time would never reach a deadline: stop looking
# after this many days and say so.
MAX_DAYS = 3 * 366
# Days whose working intervals a calendar keeps once worked out (a calendar is built once
# per version and process; see sla.calendars): about 13 years of dates.
DAY_CACHE_MAX = 4096


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class Interval:
    weekday: int  # 0 = Monday
    start_minute: int  # minutes after local midnight
    end_minute: int  # up to 1440 (24:00)


@dataclass
class Calendar:
    timezone: str = "UTC"
    always_open: bool = False
    intervals: tuple[Interval, ...] = ()
    holiday_dates: dict[date, str] = field(default_factory=dict)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    # Local date -> its working intervals in UTC (day_intervals), filled as they are asked.
    _days: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _by_weekday(self) -> dict[int, list[Interval]]:
        days: dict[int, list[Interval]] = {d: [] for d in range(7)}
        for interval in sorted(self.intervals, key=lambda i: (i.weekday, i.start_minute)):
            days[interval.weekday].append(interval)
        return days

    @cached_property
    def _country_holidays(self):
        if not self.holiday_country:
            return None
        return holidays_lib.country_holidays(
            self.holiday_country, subdiv=self.holiday_subdivision or None
        )

    def holiday_name(self, day: date) -> str | None:
        if day in self.holiday_dates:
            return self.holiday_dates[day] or "holiday"
        country = self._country_holidays
        if country is not None and day in country:
            return country.get(day) or "holiday"
        return None

    # --- the open intervals, as UTC instants --------------------------------------
    def _local(self, day: date, minute: int) -> datetime:
        if minute >= 1440:
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
        return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.tz)

    def day_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """Working intervals of a local date in UTC (empty on holidays and closed days);
        worked out once per date (the holiday lookup and the time-zone arithmetic cost
        more than the deadlines that read them)."""
        intervals = self._days.get(day)
        if intervals is None:
            if len(self._days) >= DAY_CACHE_MAX:
                self._days.clear()
            intervals = self._days[day] = tuple(self._day_intervals(day))
        return intervals

    def _day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if self.always_open:
            start = datetime.combine(day, time(0), tzinfo=self.tz)
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
            return [(start.astimezone(UTC), end.astimezone(UTC))]
        if self.holiday_name(day):
            return []
        out = []
        for interval in self._by_weekday[day.weekday()]:
            start = self._local(day, interval.start_minute).astimezone(UTC)
            end = self._local(day, interval.end_minute).astimezone(UTC)
            if end > start:
                out.append((start, end))
        return out

    def open_intervals(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals that end after `since`, clipped to start at `since`."""
        since = since.astimezone(UTC)
        day = since.astimezone(self.tz).date() - timedelta(days=1)  # DST/midnight margin
        for _ in range(MAX_DAYS):
            for start, end in self.day_intervals(day):
                if end > since:
                    yield max(start, since), end
            day += timedelta(days=1)
        raise CalendarError("The calendar has no working time in the next three years.")

    # --- arithmetic ----------------------------------------------------------------
    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant at which `seconds` of business time have passed since `start`."""
        if seconds <= 0:
            return start.astimezone(UTC)
        remaining = float(seconds)
        for begin, end in self.open_intervals(start):
            length = (end - begin).total_seconds()
            if remaining <= length:  # used up exactly at closing -> due at closing
                return begin + timedelta(seconds=remaining)
            remaining -= length
        raise CalendarError("unreachable")  # open_intervals raises first

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Business seconds in [start, end) (0 if end <= start)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return 0.0
        if self.always_open:  # its days follow one another without a gap
            return (end - start).total_seconds()
        total = 0.0
        for begin, finish in self.open_intervals(start):
            if begin >= end:
                break
            total += (min(finish, end) - begin).total_seconds()
        return total

    def explain(self, start: datetime, seconds: float) -> dict:
        """`add` with its reasons: the intervals counted and the local dates skipped."""
        start = start.astimezone(UTC)
        due = self.add(start, seconds)
        counted, skipped = [], []
        day = start.astimezone(self.tz).date()
        # A deadline at a 24:00 closing belongs to the day that closed, not the next one.
        last_day = (
            (due - timedelta(microseconds=1) if due > start else due).astimezone(self.tz).date()
        )
        while day <= last_day:
            intervals = [
                (max(b, start), min(e, due))
                for b, e in self.day_intervals(day)
                if e > start and b < due
            ]
            counted += [
                {"start": b, "end": e, "minutes": round((e - b).total_seconds() / 60, 2)}
                for b, e in intervals
            ]
            if not self.always_open and not self.day_intervals(day):
                name = self.holiday_name(day)
                reason = "holiday" if name else ("weekend" if day.weekday() >= 5 else "closed")
                entry = {"date": day.isoformat(), "reason": reason}
                if name:
                    entry["name"] = name
                skipped.append(entry)
            day += timedelta(days=1)
        return {"due_at": due, "intervals": counted, "skipped": skipped}


def parse_hhmm(value: str) -> int:
    """'09:30' -> 570; '24:00' is the end of the day (1440)."""
    try:
        hours, minutes = value.split(":")
        h, m = int(hours), int(minutes)
    except (ValueError, AttributeError):
        raise CalendarError(f"{value!r} is not a time like 09:00.") from None
    if (h, m) == (24, 0):
        return 1440
    if not (0 <= h < 24 and 0 <= m < 60):
        raise CalendarError(f"{value!r} is not a time like 09:00.")
    return h * 60 + m


def format_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
