"""From calendar rows to business-time arithmetic (sla.business_time.Calendar).

A calendar's hours and holidays are snapshotted into `BusinessCalendar.spec` whenever
they change; `calendar_of(policy)` builds the arithmetic from that snapshot, cached per
process by (id, updated_at), so deadlines cost no queries beyond the calendar row.
A policy without a calendar runs 24/7 in UTC.
"""

from datetime import date

from django.utils import timezone

from sla.business_time import Calendar, Interval
from sla.models import BusinessCalendar, SLAPolicy

ALWAYS_OPEN = Calendar(timezone="UTC", always_open=True)
_cache: dict[tuple, Calendar] = {}
_CACHE_MAX = 512


def calendar_spec(calendar: BusinessCalendar) -> dict:
    """The snapshot of a calendar's rows (two queries)."""
    return {
        "timezone": calendar.timezone,
        "always_open": calendar.always_open,
        "intervals": [
            [h.weekday, h.start_minute, h.end_minute]
            for h in calendar.hours.order_by("weekday", "start_minute")
        ],
        "holidays": {h.date.isoformat(): h.name for h in calendar.holidays.all()},
        "holiday_country": calendar.holiday_country or None,
        "holiday_subdivision": calendar.holiday_subdivision or None,
    }


def calendar_spec_refresh(calendar: BusinessCalendar) -> BusinessCalendar:
    """Re-snapshot hours and holidays after they changed (bumps updated_at)."""
    calendar.spec = calendar_spec(calendar)
    calendar.updated_at = timezone.now()
    BusinessCalendar.objects.filter(pk=calendar.pk).update(
        spec=calendar.spec, updated_at=calendar.updated_at
    )
    return calendar


def calendar_from_spec(spec: dict) -> Calendar:
    return Calendar(
        timezone=spec.get("timezone") or "UTC",
        always_open=bool(spec.get("always_open")),
        intervals=tuple(Interval(*row) for row in spec.get("intervals", [])),
        holiday_dates={date.fromisoformat(d): n for d, n in (spec.get("holidays") or {}).items()},
        holiday_country=spec.get("holiday_country"),
        holiday_subdivision=spec.get("holiday_subdivision"),
    )


def calendar_build(calendar: BusinessCalendar | None) -> Calendar:
    if calendar is None:
        return ALWAYS_OPEN
    key = (calendar.pk, calendar.updated_at)
    built = _cache.get(key)
    if built is None:
        spec = calendar.spec or calendar_spec(calendar)
        built = calendar_from_spec(spec)
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = built
    return built


def calendar_of(policy: SLAPolicy | None) -> Calendar:
    """The business calendar a policy's clocks run on (24/7 without one)."""
    return calendar_build(policy.calendar if policy is not None else None)
