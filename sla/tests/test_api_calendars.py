"""Business calendars through the API: writing and reading them, validation, tenant
isolation, roles, and the deadline explanation (`/due`) on the classic cases."""

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sla.models import BusinessCalendar, BusinessHours, Holiday
from sla.policies import calendar_save, policy_save

pytestmark = pytest.mark.django_db

URL = "/api/v1/sla/calendars"
NY = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


def ny_office(**changes) -> dict:
    body = {
        "name": "NY office",
        "timezone": "America/New_York",
        "always_open": False,
        "hours": WEEKDAYS_9_TO_5,
        "holidays": [],
        "holiday_country": None,
        "holiday_subdivision": None,
    }
    body.update(changes)
    return body


def create(client, **changes) -> dict:
    response = client.post(URL, ny_office(**changes), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


def due(client, calendar_id, start: datetime, minutes: int):
    return client.get(
        f"{URL}/{calendar_id}/due", {"start": start.isoformat(), "minutes": str(minutes)}
    )


# --- Writing and reading ----------------------------------------------------------------


def test_create_returns_the_calendar_as_written(manager_client):
    hours = [
        {"weekday": 0, "start": "08:00", "end": "12:00"},
        {"weekday": 0, "start": "13:00", "end": "17:30"},
        {"weekday": 5, "start": "10:00", "end": "24:00"},
    ]
    body = create(
        manager_client,
        hours=hours,
        holidays=[{"date": "2026-11-26", "name": "Thanksgiving"}],
        holiday_country="US",
        holiday_subdivision="NY",
    )
    assert body["name"] == "NY office"
    assert body["timezone"] == "America/New_York"
    assert body["always_open"] is False
    assert body["hours"] == hours
    assert body["holidays"] == [{"date": "2026-11-26", "name": "Thanksgiving"}]
    assert body["holiday_country"] == "US"
    assert body["holiday_subdivision"] == "NY"
    uuid.UUID(body["id"])

    read = manager_client.get(f"{URL}/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body


def test_list_shows_the_organizations_calendars_by_name(
    manager_client, other_manager_client, organization
):
    create(manager_client, name="Zurich")
    create(manager_client, name="Austin")
    create(other_manager_client, name="Globex HQ")
    response = manager_client.get(URL)
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["calendars"]] == ["Austin", "Zurich"]


def test_a_minimal_calendar_gets_defaults(manager_client):
    response = manager_client.post(
        URL, {"name": "Round the clock", "always_open": True}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["timezone"] == "UTC"
    assert body["always_open"] is True
    assert body["hours"] == []
    assert body["holidays"] == []
    assert body["holiday_country"] is None
    assert body["holiday_subdivision"] is None


def test_patch_changes_only_what_is_sent(manager_client):
    created = create(
        manager_client, holidays=[{"date": "2026-12-25", "name": "Christmas"}], holiday_country="US"
    )
    response = manager_client.patch(
        f"{URL}/{created['id']}", {"name": "New York office"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["name"] == "New York office"
    assert body["timezone"] == "America/New_York"
    assert body["hours"] == WEEKDAYS_9_TO_5
    assert body["holidays"] == [{"date": "2026-12-25", "name": "Christmas"}]
    assert body["holiday_country"] == "US"
    assert manager_client.get(f"{URL}/{created['id']}").json()["name"] == "New York office"


def test_patch_hours_replaces_them(manager_client):
    created = create(manager_client)
    short_week = [{"weekday": 1, "start": "10:00", "end": "14:00"}]
    response = manager_client.patch(f"{URL}/{created['id']}", {"hours": short_week}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["hours"] == short_week
    assert BusinessHours.objects.filter(calendar_id=created["id"]).count() == 1


def test_patch_clears_the_holiday_country_with_null(manager_client):
    created = create(manager_client, holiday_country="US", holiday_subdivision="NY")
    response = manager_client.patch(
        f"{URL}/{created['id']}",
        {"holiday_country": None, "holiday_subdivision": None},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["holiday_country"] is None
    assert response.json()["holiday_subdivision"] is None


def test_delete_an_unused_calendar(manager_client):
    created = create(manager_client)
    response = manager_client.delete(f"{URL}/{created['id']}")
    assert response.status_code == 204
    assert manager_client.get(f"{URL}/{created['id']}").status_code == 404
    assert not BusinessCalendar.objects.filter(pk=created["id"]).exists()


def test_delete_a_calendar_used_by_a_policy_is_a_conflict(manager_client, organization):
    created = create(manager_client)
    policy_save(
        organization=organization,
        data={"name": "Gold", "first_response_minutes": 60, "calendar": created["id"]},
        actor=None,
    )
    response = manager_client.delete(f"{URL}/{created['id']}")
    assert response.status_code == 409
    body = response.json()
    assert body["detail"]
    assert body["error"]["code"] == "CONFLICT"
    assert BusinessCalendar.objects.filter(pk=created["id"]).exists()


# --- Validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"hours": [{"weekday": 0, "start": "17:00", "end": "09:00"}]}, "hours"),
        ({"hours": [{"weekday": 0, "start": "09:00", "end": "09:00"}]}, "hours"),
        (
            {
                "hours": [
                    {"weekday": 2, "start": "09:00", "end": "13:00"},
                    {"weekday": 2, "start": "12:00", "end": "17:00"},
                ]
            },
            "hours",
        ),
        ({"hours": [{"weekday": 7, "start": "09:00", "end": "17:00"}]}, "hours"),
        ({"hours": [{"weekday": 0, "start": "9am", "end": "17:00"}]}, "hours"),
        ({"hours": [{"weekday": 0, "start": "09:00", "end": "24:30"}]}, "hours"),
        ({"hours": [], "always_open": False}, "hours"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"holiday_country": "US", "holiday_subdivision": "ZZ"}, "holiday_subdivision"),
        ({"holiday_subdivision": "NY"}, "holiday_subdivision"),
        (
            {
                "holidays": [
                    {"date": "2026-12-25", "name": "Christmas"},
                    {"date": "2026-12-25", "name": "Again"},
                ]
            },
            "holidays",
        ),
        ({"holidays": [{"date": "2026-13-40", "name": "Never"}]}, "holidays"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_calendar_is_a_400_naming_the_field_and_writes_nothing(manager_client, changes, field):
    response = manager_client.post(URL, ny_office(**changes), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert field in body["errors"], body
    assert body["detail"]
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert not BusinessCalendar.objects.exists()
    assert not BusinessHours.objects.exists()
    assert not Holiday.objects.exists()


def test_touching_intervals_on_one_day_are_allowed(manager_client):
    hours = [
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 0, "start": "12:00", "end": "17:00"},
    ]
    assert create(manager_client, hours=hours)["hours"] == hours


def test_always_open_needs_no_hours(manager_client):
    body = create(manager_client, hours=[], always_open=True)
    assert body["always_open"] is True


def test_a_rejected_patch_changes_nothing(manager_client):
    created = create(manager_client, holidays=[{"date": "2026-11-26", "name": "Thanksgiving"}])
    for change in (
        {"timezone": "Nowhere/City"},
        {"hours": [{"weekday": 0, "start": "10:00", "end": "09:00"}]},
        {"name": "Renamed", "holiday_country": "XX"},
    ):
        response = manager_client.patch(f"{URL}/{created['id']}", change, format="json")
        assert response.status_code == 400, (change, response.json())
    after = manager_client.get(f"{URL}/{created['id']}").json()
    assert after == created


def test_duplicate_name_is_a_conflict(manager_client):
    create(manager_client, name="NY office")
    response = manager_client.post(URL, ny_office(name="NY office"), format="json")
    assert response.status_code == 409
    assert "name" in response.json()["errors"]
    assert BusinessCalendar.objects.count() == 1


def test_renaming_onto_another_calendars_name_is_a_conflict(manager_client):
    create(manager_client, name="NY office")
    london = create(manager_client, name="London", timezone="Europe/London")
    response = manager_client.patch(f"{URL}/{london['id']}", {"name": "NY office"}, format="json")
    assert response.status_code == 409
    assert manager_client.get(f"{URL}/{london['id']}").json()["name"] == "London"


def test_same_name_in_another_organization_is_fine(manager_client, other_manager_client):
    create(manager_client, name="Main")
    create(other_manager_client, name="Main")


# --- Roles and tenants ---------------------------------------------------------------------


@pytest.mark.parametrize("client_fixture", ["agent_client", "key_client"])
def test_agents_and_api_keys_read_but_do_not_write(request, manager_client, client_fixture):
    client = request.getfixturevalue(client_fixture)
    created = create(manager_client)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}/{created['id']}").json()["name"] == "NY office"
    assert due(client, created["id"], local(2026, 11, 20, 16, 30), 60).status_code == 200

    assert client.post(URL, ny_office(name="Mine"), format="json").status_code == 403
    patch = client.patch(f"{URL}/{created['id']}", {"name": "Hijacked"}, format="json")
    assert patch.status_code == 403
    assert patch.json()["error"]["code"] == "FORBIDDEN"
    assert client.delete(f"{URL}/{created['id']}").status_code == 403
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["NY office"]


def test_anonymous_callers_are_refused(api_client, manager_client):
    created = create(manager_client)
    assert api_client.get(URL).status_code in (401, 403)
    assert api_client.get(f"{URL}/{created['id']}").status_code in (401, 403)


def test_another_organizations_calendar_is_not_found(manager_client, other_manager_client):
    theirs = create(other_manager_client, name="Globex HQ")
    path = f"{URL}/{theirs['id']}"
    assert manager_client.get(path).status_code == 404
    assert manager_client.patch(path, {"name": "Stolen"}, format="json").status_code == 404
    assert manager_client.delete(path).status_code == 404
    assert due(manager_client, theirs["id"], local(2026, 11, 20, 16, 30), 60).status_code == 404
    assert manager_client.get(URL).json()["calendars"] == []
    assert BusinessCalendar.objects.get(pk=theirs["id"]).name == "Globex HQ"


def test_unknown_calendar_is_not_found(manager_client):
    response = manager_client.get(f"{URL}/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


# --- Deadline explanation -------------------------------------------------------------------


def test_due_over_a_weekend(manager_client):
    calendar = create(manager_client)
    response = due(manager_client, calendar["id"], local(2026, 11, 20, 16, 30), 60)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert instant(body["due_at"]) == local(2026, 11, 23, 9, 30)
    assert instant(body["due_at"]) == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    assert [i["minutes"] for i in body["intervals"]] == [30, 30]
    first, second = body["intervals"]
    assert instant(first["start"]) == local(2026, 11, 20, 16, 30)
    assert instant(first["end"]) == local(2026, 11, 20, 17, 0)
    assert instant(second["start"]) == local(2026, 11, 23, 9, 0)
    assert instant(second["end"]) == local(2026, 11, 23, 9, 30)
    assert body["skipped"] == [
        {"date": "2026-11-21", "reason": "weekend"},
        {"date": "2026-11-22", "reason": "weekend"},
    ]


def test_due_accepts_a_utc_start(manager_client):
    calendar = create(manager_client)
    response = manager_client.get(
        f"{URL}/{calendar['id']}/due", {"start": "2026-11-20T21:30:00Z", "minutes": "60"}
    )
    assert response.status_code == 200, response.json()
    assert instant(response.json()["due_at"]) == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)


def test_due_skips_an_explicit_holiday(manager_client):
    calendar = create(manager_client, holidays=[{"date": "2026-11-26", "name": "Thanksgiving"}])
    body = due(manager_client, calendar["id"], local(2026, 11, 25, 16, 0), 120).json()
    assert instant(body["due_at"]) == local(2026, 11, 27, 10, 0)
    assert [i["minutes"] for i in body["intervals"]] == [60, 60]
    assert body["skipped"] == [{"date": "2026-11-26", "reason": "holiday", "name": "Thanksgiving"}]


def test_due_skips_a_public_holiday_of_the_country(manager_client):
    calendar = create(manager_client, holiday_country="US")
    body = due(manager_client, calendar["id"], local(2026, 11, 25, 16, 0), 120).json()
    assert instant(body["due_at"]) == local(2026, 11, 27, 10, 0)
    assert len(body["skipped"]) == 1
    skipped = body["skipped"][0]
    assert skipped["date"] == "2026-11-26"
    assert skipped["reason"] == "holiday"
    assert "Thanksgiving" in skipped["name"]


def test_due_without_holidays_counts_thanksgiving(manager_client):
    calendar = create(manager_client)
    body = due(manager_client, calendar["id"], local(2026, 11, 25, 16, 0), 120).json()
    assert instant(body["due_at"]) == local(2026, 11, 26, 10, 0)
    assert body["skipped"] == []


def test_budget_ending_at_closing_time_is_due_at_closing(manager_client):
    calendar = create(manager_client)
    body = due(manager_client, calendar["id"], local(2026, 11, 20, 16, 0), 60).json()
    assert instant(body["due_at"]) == local(2026, 11, 20, 17, 0)
    assert [i["minutes"] for i in body["intervals"]] == [60]
    assert body["skipped"] == []

    body = due(manager_client, calendar["id"], local(2026, 11, 19, 9, 0), 8 * 60).json()
    assert instant(body["due_at"]) == local(2026, 11, 19, 17, 0)


def test_budget_ending_at_a_midnight_closing_skips_no_day(manager_client):
    calendar = create(
        manager_client,
        hours=[
            {"weekday": 4, "start": "20:00", "end": "24:00"},
            {"weekday": 0, "start": "09:00", "end": "17:00"},
        ],
    )
    body = due(manager_client, calendar["id"], local(2026, 11, 20, 23, 0), 60).json()
    assert instant(body["due_at"]) == local(2026, 11, 21, 0, 0)  # Friday's closing
    assert [i["minutes"] for i in body["intervals"]] == [60]
    # Nothing was skipped: the hour was counted on Friday evening.
    assert body["skipped"] == []


def test_due_across_the_end_of_daylight_saving_time(manager_client):
    calendar = create(manager_client)
    body = due(manager_client, calendar["id"], local(2026, 10, 30, 16, 0), 180).json()
    assert instant(body["due_at"]) == local(2026, 11, 2, 11, 0)
    assert instant(body["due_at"]) == datetime(2026, 11, 2, 16, 0, tzinfo=UTC)
    assert [i["minutes"] for i in body["intervals"]] == [60, 120]
    assert [s["date"] for s in body["skipped"]] == ["2026-10-31", "2026-11-01"]


def test_due_starting_before_opening_counts_from_opening(manager_client):
    calendar = create(manager_client)
    body = due(manager_client, calendar["id"], local(2026, 11, 17, 7, 0), 30).json()
    assert instant(body["due_at"]) == local(2026, 11, 17, 9, 30)


def test_due_with_several_intervals_a_day(manager_client):
    calendar = create(
        manager_client,
        hours=[
            {"weekday": d, "start": s, "end": e}
            for d in range(5)
            for s, e in (("09:00", "12:00"), ("13:00", "17:00"))
        ],
    )
    body = due(manager_client, calendar["id"], local(2026, 11, 17, 11, 0), 120).json()
    assert instant(body["due_at"]) == local(2026, 11, 17, 14, 0)
    assert [i["minutes"] for i in body["intervals"]] == [60, 60]


def test_due_on_an_always_open_calendar_adds_plain_minutes(manager_client):
    calendar = create(manager_client, always_open=True, hours=[])
    start = local(2026, 11, 20, 16, 30)  # a Friday afternoon
    body = due(manager_client, calendar["id"], start, 3 * 24 * 60).json()
    assert instant(body["due_at"]) == local(2026, 11, 23, 16, 30)
    assert body["skipped"] == []
    assert sum(i["minutes"] for i in body["intervals"]) == 3 * 24 * 60


def test_due_reflects_a_calendar_change(manager_client):
    calendar = create(manager_client)
    manager_client.patch(
        f"{URL}/{calendar['id']}",
        {"holidays": [{"date": "2026-11-23", "name": "Office closed"}]},
        format="json",
    )
    body = due(manager_client, calendar["id"], local(2026, 11, 20, 16, 30), 60).json()
    assert instant(body["due_at"]) == local(2026, 11, 24, 9, 30)
    assert body["skipped"][-1] == {
        "date": "2026-11-23",
        "reason": "holiday",
        "name": "Office closed",
    }


def test_due_on_a_weekday_without_hours_is_closed(manager_client):
    hours = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in (0, 1, 3, 4)]
    calendar = create(manager_client, hours=hours)
    body = due(manager_client, calendar["id"], local(2026, 11, 17, 16, 0), 120).json()
    assert instant(body["due_at"]) == local(2026, 11, 19, 10, 0)
    assert body["skipped"] == [{"date": "2026-11-18", "reason": "closed"}]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"minutes": "60"}, "start"),
        ({"start": "2026-11-20T16:30:00-05:00"}, "minutes"),
        ({"start": "next friday", "minutes": "60"}, "start"),
        ({"start": "2026-11-20T16:30:00-05:00", "minutes": "sixty"}, "minutes"),
        ({"start": "2026-11-20T16:30:00-05:00", "minutes": "-5"}, "minutes"),
        ({}, "start"),
    ],
)
def test_due_with_missing_or_bad_parameters_is_a_400(manager_client, params, field):
    calendar = create(manager_client)
    response = manager_client.get(f"{URL}/{calendar['id']}/due", params)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["detail"]
    assert field in body["errors"], body


def test_due_of_a_calendar_saved_with_the_service(manager, organization, agent_client):
    calendar = calendar_save(
        organization=organization,
        data=ny_office(name="Service-made"),
        actor=manager,
    )
    body = due(agent_client, calendar.pk, local(2026, 11, 20, 16, 30), 60).json()
    assert instant(body["due_at"]) == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
