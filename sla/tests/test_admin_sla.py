"""SLA in the manager's admin: the policy pages, the compliance report, and the SLA
column and filter of the ticket list; all scoped to the manager's organization."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from sla.calendars import calendar_build
from sla.models import BusinessCalendar, SLAClock, SLAPolicy
from sla.policies import calendar_save, policy_save
from sla.scan import sla_scan
from sla.tests.conftest import dispatch_all
from tickets.services import customer_get_or_create, message_add, ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def gold(organization):
    """24/7: first response within an hour."""
    return policy_save(
        organization=organization,
        data={"name": "Gold", "position": 1, "first_response_minutes": 60},
        actor=None,
    )


def report_rows(html: str) -> list[list[str]]:
    """The compliance table's body rows, cell texts."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        rows.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return rows


# --- Policy pages ---------------------------------------------------------------------------


def test_policy_changelist_and_add_page_load(manager_client, gold, organization):
    calendar_save(
        organization=organization,
        data={"name": "NY office", "timezone": "America/New_York", "always_open": True},
        actor=None,
    )
    page = manager_client.get("/admin/sla/slapolicy/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Gold" in html
    assert "/admin/sla/slapolicy/compliance/" in html  # the report is linked from the list
    add = manager_client.get("/admin/sla/slapolicy/add/")
    assert add.status_code == 200
    assert "NY office" in add.content.decode()  # the calendar choice
    assert manager_client.get(f"/admin/sla/slapolicy/{gold.pk}/change/").status_code == 200


def test_calendar_pages_load(manager_client, organization):
    calendar = calendar_save(
        organization=organization,
        data={
            "name": "NY office",
            "timezone": "America/New_York",
            "hours": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
            "holidays": [{"date": "2026-11-26", "name": "Thanksgiving"}],
        },
        actor=None,
    )
    assert "NY office" in manager_client.get("/admin/sla/businesscalendar/").content.decode()
    page = manager_client.get(f"/admin/sla/businesscalendar/{calendar.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "09:00" in html and "17:00" in html and "Thanksgiving" in html


def test_manager_of_another_organization_does_not_see_our_policies(
    other_manager_client, gold, other_organization
):
    policy_save(
        organization=other_organization,
        data={"name": "Globex standard", "resolution_minutes": 600},
        actor=None,
    )
    page = other_manager_client.get("/admin/sla/slapolicy/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Globex standard" in html
    assert "Gold" not in html
    change = other_manager_client.get(f"/admin/sla/slapolicy/{gold.pk}/change/", follow=True)
    assert "Gold" not in change.content.decode()


def test_add_policy_in_admin_goes_through_the_service(manager_client, organization):
    response = manager_client.post(
        "/admin/sla/slapolicy/add/",
        {
            "name": "Silver",
            "position": "5",
            "active": "on",
            "priorities": '["high", "urgent"]',
            "channels": "[]",
            "customer_tiers": "[]",
            "first_response_minutes": "120",
            "next_response_minutes": "",
            "resolution_minutes": "",
            "calendar": "",
            "pause_on_pending": "[]",
            "at_risk_percent": "80",
            "escalation": '[{"on": "breached"}]',
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = SLAPolicy.objects.get(name="Silver")
    assert policy.organization == organization
    assert policy.priorities == ["high", "urgent"]
    assert policy.first_response_minutes == 120
    # Saved through policy_save: the step is completed with its defaults.
    assert policy.escalation[0]["escalate"] is True and policy.escalation[0]["metric"] == "any"


# --- Compliance report ----------------------------------------------------------------------


@pytest.fixture
def met_and_breached(gold, make_ticket):
    """Two tickets under Gold: one answered in time, one never answered."""
    now = timezone.now()
    with time_machine.travel(now - timedelta(hours=3), tick=False):
        answered = make_ticket(subject="Answered in time")
        late = make_ticket(subject="Never answered")
        dispatch_all()
    with time_machine.travel(now - timedelta(hours=2, minutes=50), tick=False):
        message_add(ticket=answered, content="Here you go", from_agent=True, actor=None)
        dispatch_all()
    sla_scan()
    dispatch_all()
    answered.refresh_from_db()
    late.refresh_from_db()
    return answered, late


def test_compliance_report_counts_met_and_breached(manager_client, met_and_breached):
    statuses = sorted(SLAClock.objects.values_list("status", flat=True))
    assert statuses == ["breached", "met"]
    page = manager_client.get("/admin/sla/slapolicy/compliance/", {"days": 30})
    assert page.status_code == 200
    html = page.content.decode()
    assert "last 30 days" in html
    # Policy, metric, clocks, met, breached, still open, compliance.
    assert report_rows(html) == [["Gold", "first_response", "2", "1", "1", "1", "50%"]]


def test_compliance_report_rows_per_policy_and_metric(
    manager_client, organization, met_and_breached, make_ticket
):
    policy_save(
        organization=organization,
        data={"name": "Bronze", "position": 0, "priorities": ["low"], "resolution_minutes": 600},
        actor=None,
    )
    make_ticket(subject="Low priority", priority="low")
    dispatch_all()
    rows = report_rows(
        manager_client.get("/admin/sla/slapolicy/compliance/", {"days": 7}).content.decode()
    )
    assert rows == [
        ["Bronze", "resolution", "1", "0", "0", "1", "—"],
        ["Gold", "first_response", "2", "1", "1", "1", "50%"],
    ]


def test_compliance_report_leaves_out_older_clocks(manager_client, gold, make_ticket):
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        make_ticket(subject="Old")
        dispatch_all()
    html = manager_client.get("/admin/sla/slapolicy/compliance/", {"days": 7}).content.decode()
    assert "No SLA clocks started in this period." in html
    html = manager_client.get("/admin/sla/slapolicy/compliance/", {"days": 30}).content.decode()
    assert report_rows(html)[0][:3] == ["Gold", "first_response", "1"]


def test_compliance_report_of_another_organization_is_empty(other_manager_client, met_and_breached):
    page = other_manager_client.get("/admin/sla/slapolicy/compliance/", {"days": 30})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Gold" not in html
    assert "No SLA clocks started in this period." in html


def test_compliance_report_tolerates_a_bad_period(manager_client, met_and_breached):
    page = manager_client.get("/admin/sla/slapolicy/compliance/", {"days": "lots"})
    assert page.status_code == 200
    assert "last 30 days" in page.content.decode()


# --- The ticket list's SLA column and filter --------------------------------------------------


@pytest.fixture
def sla_tickets(organization, make_ticket, other_organization):
    """One ticket breached, one at risk, one on track, one without SLA; and a foreign
    breached ticket."""
    for org in (organization, other_organization):
        policy_save(
            organization=org,
            data={"name": "Standard", "priorities": ["normal"], "first_response_minutes": 60},
            actor=None,
        )
    now = timezone.now()
    foreign_customer = customer_get_or_create(organization=other_organization, external_id="9")
    for subject, minutes_ago in (("Late parcel", 90), ("Nearly due", 55), ("Fresh", 5)):
        with time_machine.travel(now - timedelta(minutes=minutes_ago), tick=False):
            make_ticket(subject=subject)
            if subject == "Late parcel":
                ticket_create(
                    organization=other_organization,
                    customer=foreign_customer,
                    subject="Globex breached",
                    actor=None,
                )
            dispatch_all()
    make_ticket(subject="No target here", priority="low")
    dispatch_all()
    sla_scan()
    dispatch_all()


def changelist_rows(html: str) -> dict[str, str]:
    """Ticket subject -> the text of its SLA cell."""
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S):
        subject = re.search(r'<th class="field-subject">.*?<a [^>]*>(.*?)</a>', row, flags=re.S)
        sla = re.search(r'<td class="field-sla_badge">(.*?)</td>', row, flags=re.S)
        if subject and sla:
            rows[subject.group(1).strip()] = re.sub(r"<[^>]+>", "", sla.group(1)).strip()
    return rows


def test_ticket_changelist_shows_the_sla_badge(manager_client, sla_tickets):
    page = manager_client.get("/admin/tickets/ticket/")
    assert page.status_code == 200
    rows = changelist_rows(page.content.decode())
    assert set(rows) == {"Late parcel", "Nearly due", "Fresh", "No target here"}
    assert rows["Late parcel"] == "breached"
    assert rows["Nearly due"].startswith("at risk · due ")
    assert rows["Fresh"].startswith("on track · due ")
    assert rows["No target here"] == "—"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("breached", {"Late parcel"}),
        ("at_risk", {"Nearly due"}),
        ("active", {"Fresh"}),
        ("paused", set()),
    ],
)
def test_ticket_changelist_sla_filter(manager_client, sla_tickets, value, expected):
    page = manager_client.get("/admin/tickets/ticket/", {"sla": value})
    assert page.status_code == 200
    assert set(changelist_rows(page.content.decode())) == expected


def test_ticket_changelist_sla_filter_choices(manager_client, sla_tickets):
    html = manager_client.get("/admin/tickets/ticket/").content.decode()
    for value in ("active", "at_risk", "breached", "paused"):
        assert f"?sla={value}" in html


# --- Validation in the admin ----------------------------------------------------------------

POLICY_FORM = {
    "name": "Broken",
    "position": "5",
    "active": "on",
    "priorities": '["critical"]',  # not a priority
    "channels": "[]",
    "customer_tiers": "[]",
    "first_response_minutes": "120",
    "next_response_minutes": "",
    "resolution_minutes": "",
    "calendar": "",
    "pause_on_pending": "[]",
    "at_risk_percent": "80",
    "escalation": "[]",
}


def test_invalid_policy_in_admin_is_shown_again_with_the_error(manager_client):
    response = manager_client.post("/admin/sla/slapolicy/add/", POLICY_FORM)
    assert not SLAPolicy.objects.exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert not any("successfully" in m for m in messages), messages
    assert response.status_code == 200  # the form again, with what was typed
    assert "priorities" in response.content.decode()


def calendar_form(name: str, hours: list[tuple[int, str, str]]) -> dict:
    data = {
        "name": name,
        "timezone": "America/New_York",
        "holiday_country": "",
        "holiday_subdivision": "",
        "hours-TOTAL_FORMS": str(len(hours)),
        "hours-INITIAL_FORMS": "0",
        "hours-MIN_NUM_FORMS": "0",
        "hours-MAX_NUM_FORMS": "1000",
        "holidays-TOTAL_FORMS": "0",
        "holidays-INITIAL_FORMS": "0",
        "holidays-MIN_NUM_FORMS": "0",
        "holidays-MAX_NUM_FORMS": "1000",
    }
    for i, (weekday, start, end) in enumerate(hours):
        data.update(
            {f"hours-{i}-weekday": str(weekday), f"hours-{i}-start": start, f"hours-{i}-end": end}
        )
    return data


def test_calendar_added_in_admin_is_used_for_deadlines(manager_client):
    response = manager_client.post(
        "/admin/sla/businesscalendar/add/",
        calendar_form("Mornings", [(0, "09:00", "12:00"), (1, "09:00", "12:00")]),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    calendar = BusinessCalendar.objects.get(name="Mornings")
    assert calendar.spec["intervals"] == [[0, 540, 720], [1, 540, 720]]
    monday_11 = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)  # 11:00 in NY
    due = calendar_build(calendar).add(monday_11, 2 * 3600)
    assert due == datetime(2026, 11, 17, 15, 0, tzinfo=UTC)  # Tue 10:00


def test_overlapping_intervals_are_refused_in_admin(manager_client):
    manager_client.post(
        "/admin/sla/businesscalendar/add/",
        calendar_form("Overlap", [(0, "09:00", "13:00"), (0, "12:00", "17:00")]),
    )
    assert not BusinessCalendar.objects.filter(name="Overlap").exists()


def test_a_calendar_without_hours_is_refused_in_admin(manager_client):
    manager_client.post("/admin/sla/businesscalendar/add/", calendar_form("Never open", []))
    assert not BusinessCalendar.objects.filter(name="Never open").exists()


def test_calendar_saved_in_admin_goes_through_the_service(manager_client, manager):
    """Recorded with the manager as author, like calendar_save from the API."""
    manager_client.post(
        "/admin/sla/businesscalendar/add/",
        calendar_form("Mornings", [(0, "09:00", "12:00")]),
    )
    calendar = BusinessCalendar.objects.get(name="Mornings")
    assert calendar.history.latest().history_user == manager
    change = calendar_form("Mornings", [(2, "10:00", "11:00")])
    response = manager_client.post(f"/admin/sla/businesscalendar/{calendar.pk}/change/", change)
    assert response.status_code == 302
    calendar.refresh_from_db()
    assert calendar.spec["intervals"] == [[2, 600, 660]]  # replaced, not added to
    assert list(calendar.hours.values_list("weekday", "start_minute")) == [(2, 600)]
