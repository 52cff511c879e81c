"""Writes of calendars and policies (validated here, whoever calls: API, admin), and
policy matching."""

from datetime import date

import holidays as holidays_lib
from django.db import IntegrityError, transaction

from agents.exceptions import Conflict, DomainError
from agents.models import Agent, Organization, Team, validate_timezone
from sla.business_time import CalendarError, format_hhmm, parse_hhmm
from sla.calendars import calendar_spec_refresh
from sla.models import METRICS, BusinessCalendar, BusinessHours, Holiday, SLAPolicy
from tickets.models import Channel, CustomerTier, Priority, SlaStatus, Ticket

# The escalation vocabulary, defined once (the API's serializer and the admin's help use it).
ESCALATION_TRIGGERS = (SlaStatus.AT_RISK.value, SlaStatus.BREACHED.value)
ESCALATION_KEYS = {
    "on",
    "metric",
    "raise_priority",
    "escalate",
    "assign_team",
    "assign_manager",
    "notify",
}


# --- Matching -------------------------------------------------------------------------


def policy_matches(policy: SLAPolicy, ticket: Ticket) -> bool:
    return (
        (not policy.priorities or ticket.priority in policy.priorities)
        and (not policy.channels or ticket.channel in policy.channels)
        and (not policy.customer_tiers or ticket.customer.tier in policy.customer_tiers)
    )


def policies_for(organization_id) -> list[SLAPolicy]:
    return list(
        SLAPolicy.objects.filter(organization_id=organization_id, active=True)
        .select_related("calendar")
        .order_by("position", "name")
    )


def policy_match(ticket: Ticket, policies: list[SLAPolicy] | None = None) -> SLAPolicy | None:
    """The first active policy (by position) whose conditions the ticket meets."""
    for policy in policies if policies is not None else policies_for(ticket.organization_id):
        if policy_matches(policy, ticket):
            return policy
    return None


def policy_match_reason(policy: SLAPolicy, ticket: Ticket) -> str:
    parts = []
    for label, values, value in (
        ("priority", policy.priorities, ticket.priority),
        ("channel", policy.channels, ticket.channel),
        ("customer tier", policy.customer_tiers, ticket.customer.tier),
    ):
        parts.append(f"{label} {value} in {values}" if values else f"any {label}")
    return f"first active policy by position ({policy.position}) matching: " + ", ".join(parts)


# --- Calendars ------------------------------------------------------------------------


def calendar_validate(data: dict) -> tuple[list[tuple[int, int, int]], list[tuple[date, str]]]:
    try:
        validate_timezone(data.get("timezone") or "UTC")
    except Exception:
        raise DomainError(
            f"Unknown timezone {data.get('timezone')!r}; use an IANA name such as "
            "America/New_York.",
            field="timezone",
        ) from None
    intervals = []
    for index, row in enumerate(data.get("hours") or []):
        field = f"hours[{index}]"
        weekday = row.get("weekday")
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise DomainError(f"{field}.weekday is 0 (Monday) to 6 (Sunday).", field="hours")
        try:
            start, end = parse_hhmm(row.get("start")), parse_hhmm(row.get("end"))
        except CalendarError as exc:
            raise DomainError(f"{field}: {exc}", field="hours") from None
        if end <= start:
            raise DomainError(
                f"{field}: end {row.get('end')} is not after start {row.get('start')}.",
                field="hours",
            )
        intervals.append((weekday, start, end))
    intervals.sort()
    for (d1, s1, e1), (d2, s2, e2) in zip(intervals, intervals[1:], strict=False):
        if d1 == d2 and s2 < e1:
            raise DomainError(
                f"Intervals overlap on weekday {d1}: {format_hhmm(s1)}-{format_hhmm(e1)} and "
                f"{format_hhmm(s2)}-{format_hhmm(e2)}.",
                field="hours",
            )
    if not data.get("always_open") and not intervals:
        raise DomainError("A calendar needs working hours, or always_open: true.", field="hours")
    days = []
    for index, row in enumerate(data.get("holidays") or []):
        try:
            day = date.fromisoformat(str(row.get("date")))
        except ValueError:
            raise DomainError(
                f"holidays[{index}].date {row.get('date')!r} is not a date like 2026-12-25.",
                field="holidays",
            ) from None
        days.append((day, str(row.get("name") or "")[:100]))
    if len({d for d, _ in days}) != len(days):
        raise DomainError("A date appears twice in holidays.", field="holidays")
    country = data.get("holiday_country") or ""
    subdivision = data.get("holiday_subdivision") or ""
    supported = holidays_lib.list_supported_countries()
    if country and country not in supported:
        raise DomainError(
            f"Unknown holiday_country {country!r}; use an ISO code such as US, GB or FR.",
            field="holiday_country",
        )
    if subdivision:
        if not country:
            raise DomainError(
                "holiday_subdivision needs a holiday_country.", field="holiday_subdivision"
            )
        if subdivision not in supported[country]:
            raise DomainError(
                f"Unknown holiday_subdivision {subdivision!r} for {country}.",
                field="holiday_subdivision",
            )
    return intervals, days


@transaction.atomic
def calendar_save(
    *,
    organization: Organization,
    data: dict,
    calendar: BusinessCalendar | None = None,
    actor: Agent | None,
) -> BusinessCalendar:
    """Create or replace a calendar (hours and holidays as given); open clocks on it are
    rescheduled in the background."""
    if calendar is not None:  # a partial update keeps what is not sent
        current = {
            "name": calendar.name,
            "timezone": calendar.timezone,
            "always_open": calendar.always_open,
            "holiday_country": calendar.holiday_country,
            "holiday_subdivision": calendar.holiday_subdivision,
            "hours": [
                {"weekday": d, "start": format_hhmm(s), "end": format_hhmm(e)}
                for d, s, e in (calendar.spec or {}).get("intervals", [])
            ],
            "holidays": [
                {"date": d, "name": n} for d, n in (calendar.spec or {}).get("holidays", {}).items()
            ],
        }
        data = {**current, **data}
    name = (data.get("name") or "").strip()
    if not name:
        raise DomainError("A calendar needs a name.", field="name")
    intervals, days = calendar_validate(data)
    calendar = calendar or BusinessCalendar(organization=organization)
    calendar.name = name[:100]
    calendar.timezone = data.get("timezone") or "UTC"
    calendar.always_open = bool(data.get("always_open"))
    calendar.holiday_country = data.get("holiday_country") or ""
    calendar.holiday_subdivision = data.get("holiday_subdivision") or ""
    calendar._history_user = actor
    try:
        with transaction.atomic():
            calendar.save()
    except IntegrityError as exc:
        raise Conflict(f"A calendar named {name!r} already exists.", field="name") from exc
    calendar.hours.all().delete()
    BusinessHours.objects.bulk_create(
        BusinessHours(calendar=calendar, weekday=d, start_minute=s, end_minute=e)
        for d, s, e in intervals
    )
    calendar.holidays.all().delete()
    Holiday.objects.bulk_create(Holiday(calendar=calendar, date=d, name=n) for d, n in days)
    calendar_spec_refresh(calendar)
    reschedule_after_commit(organization.pk)
    return calendar


def calendar_delete(*, calendar: BusinessCalendar, actor: Agent | None) -> None:
    if calendar.policies.exists():
        raise Conflict("Policies use this calendar; change them first.")
    calendar._history_user = actor
    calendar.delete()


# --- Policies -------------------------------------------------------------------------

POLICY_FIELDS = (
    "name",
    "position",
    "active",
    "priorities",
    "channels",
    "customer_tiers",
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "calendar",
    "pause_on_pending",
    "at_risk_percent",
    "escalation",
)


def _choices(value, allowed, field):
    if value is None:
        return []
    if not isinstance(value, list) or any(v not in allowed for v in value):
        raise DomainError(f"{field} is a list of: {', '.join(allowed)}.", field=field)
    return list(dict.fromkeys(value))


def _escalation_validate(steps, organization_id) -> list[dict]:
    if steps is None:
        return []
    if not isinstance(steps, list):
        raise DomainError("escalation is a list of steps.", field="escalation")
    clean = []
    for index, step in enumerate(steps):
        where = f"escalation[{index}]"
        if not isinstance(step, dict) or set(step) - ESCALATION_KEYS:
            raise DomainError(
                f"{where} takes only {', '.join(sorted(ESCALATION_KEYS))}.", field="escalation"
            )
        if step.get("on") not in ESCALATION_TRIGGERS:
            raise DomainError(f"{where}.on is at_risk or breached.", field="escalation")
        metric = step.get("metric", "any")
        if metric not in (*METRICS, "any"):
            raise DomainError(f"{where}.metric is any or one of {METRICS}.", field="escalation")
        team = step.get("assign_team")
        if team is not None:
            if not Team.objects.filter(pk=str(team), organization_id=organization_id).exists():
                raise DomainError(
                    f"{where}.assign_team is not a team of yours.", field="escalation"
                )
            team = str(team)
        for flag in ("raise_priority", "escalate", "assign_manager", "notify"):
            if flag in step and not isinstance(step[flag], bool):
                raise DomainError(f"{where}.{flag} is true or false.", field="escalation")
        clean.append(
            {
                "on": step["on"],
                "metric": metric,
                "raise_priority": step.get("raise_priority", False),
                "escalate": step.get("escalate", True),
                "assign_team": team,
                "assign_manager": step.get("assign_manager", False),
                "notify": step.get("notify", True),
            }
        )
    return clean


@transaction.atomic
def policy_save(
    *,
    organization: Organization,
    data: dict,
    policy: SLAPolicy | None = None,
    actor: Agent | None,
) -> SLAPolicy:
    """Create or update a policy; open tickets are re-matched in the background."""
    data = {k: v for k, v in data.items() if k in POLICY_FIELDS}
    policy = policy or SLAPolicy(organization=organization)
    if "name" in data:
        if not (data["name"] or "").strip():
            raise DomainError("A policy needs a name.", field="name")
        policy.name = data["name"].strip()[:100]
    elif not policy.name:
        raise DomainError("A policy needs a name.", field="name")
    for key in ("position", "active", "at_risk_percent"):
        if key in data and data[key] is not None:
            setattr(policy, key, data[key])
    if not 1 <= int(policy.at_risk_percent) <= 100:
        raise DomainError("at_risk_percent is between 1 and 100.", field="at_risk_percent")
    if "priorities" in data:
        policy.priorities = _choices(data["priorities"], Priority.values, "priorities")
    if "channels" in data:
        policy.channels = _choices(data["channels"], Channel.values, "channels")
    if "customer_tiers" in data:
        policy.customer_tiers = _choices(
            data["customer_tiers"], CustomerTier.values, "customer_tiers"
        )
    if "pause_on_pending" in data:
        policy.pause_on_pending = _choices(data["pause_on_pending"], METRICS, "pause_on_pending")
    for metric in METRICS:
        key = f"{metric}_minutes"
        if key in data:
            value = data[key]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise DomainError(f"{key} is a whole number of minutes (>= 1) or null.", field=key)
            setattr(policy, key, value)
    if not any(policy.target_minutes(m) for m in METRICS):
        raise DomainError("A policy needs at least one target.", field="first_response_minutes")
    if "calendar" in data:
        calendar = data["calendar"]
        if calendar is not None and not isinstance(calendar, BusinessCalendar):
            calendar = BusinessCalendar.objects.filter(
                pk=calendar, organization=organization
            ).first()
            if calendar is None:
                raise DomainError("Unknown calendar.", field="calendar")
        if calendar is not None and calendar.organization_id != organization.pk:
            raise DomainError("Unknown calendar.", field="calendar")
        policy.calendar = calendar
    if "escalation" in data:
        policy.escalation = _escalation_validate(data["escalation"], organization.pk)
    policy._history_user = actor
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError as exc:
        raise Conflict(f"A policy named {policy.name!r} already exists.", field="name") from exc
    reschedule_after_commit(organization.pk)
    return policy


def policy_delete(*, policy: SLAPolicy, actor: Agent | None) -> None:
    organization_id = policy.organization_id
    policy._history_user = actor
    policy.delete()
    reschedule_after_commit(organization_id)


def reschedule_after_commit(organization_id) -> None:
    from celery import current_app

    def send():
        try:
            current_app.send_task("sla.rematch_organization", args=[str(organization_id)])
        except Exception:  # the next ticket event re-matches anyway
            pass

    transaction.on_commit(send)
