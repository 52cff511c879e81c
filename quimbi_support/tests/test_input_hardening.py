"""Hostile input is a 4xx, never a 500: NUL bytes, out-of-range dates; and every error
under /api/ is JSON in the documented shape (issue 11, item 6)."""

import json
from datetime import datetime
from uuid import uuid4

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from agents.api.views import WhoAmIView
from rules.models import Rule
from tickets.models import Ticket
from tickets.pagination import cursor_encode

pytestmark = pytest.mark.django_db


def assert_api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["error"]["code"] == code
    assert body["error"]["message"] == body["detail"]
    assert isinstance(body["error"]["details"], dict)
    return body


# --- NUL bytes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/customers/%00",  # was a 500 on PostgreSQL (text cannot hold NUL)
        "/api/v1/customers/ada%00",
        "/api/v1/tickets?q=%00",
        "/api/v1/tickets?q=where%00is",
        "/api/v1/tickets?%00=1",
        "/api/v1/tickets/%00",
        "/api/customers/%00",  # the unversioned tree too
        "/api/v1/no-such-route%00",
    ],
)
def test_nul_in_path_or_query_is_a_json_400(key_client, customer, url):
    body = assert_api_error(key_client.get(url), 400, "VALIDATION_ERROR")
    assert "NUL" in body["detail"]


def test_nul_escape_in_a_json_body_is_a_400_and_nothing_is_written(manager_client):
    # "\u0000" decodes to NUL; the rule's conditions are stored as JSON, which PostgreSQL's
    # jsonb refuses (a 500 there, stored as is on SQLite).
    raw = '{"name": "VIP", "type": "vip", "conditions": {"tiers": ["gold\\u0000"]}}'
    response = manager_client.post("/api/v1/rules", raw, content_type="application/json")
    body = assert_api_error(response, 400, "VALIDATION_ERROR")
    assert "body" in body["detail"]
    assert not Rule.objects.exists()


def test_an_escaped_backslash_before_u0000_is_text_not_nul(manager_client):
    # `\\u0000` in JSON is a backslash followed by "u0000": six harmless characters.
    raw = '{"name": "VIP", "type": "vip", "conditions": {"tiers": ["C:\\\\u0000"]}}'
    response = manager_client.post("/api/v1/rules", raw, content_type="application/json")
    assert response.status_code == 201, response.content
    assert Rule.objects.get().conditions == {"tiers": ["C:\\u0000"]}


def test_raw_nul_in_a_json_body_is_a_400(key_client):
    raw = json.dumps({"customer_id": "c1", "subject": "hi"}).encode().replace(b"hi", b"h\x00i")
    response = key_client.post("/api/v1/tickets", raw, content_type="application/json")
    assert "NUL" in assert_api_error(response, 400, "VALIDATION_ERROR")["detail"]
    assert not Ticket.objects.exists()


def test_nul_in_a_form_body_is_a_400(key_client):
    response = key_client.post(
        "/api/v1/tickets",
        "customer_id=c1&subject=h%00i",
        content_type="application/x-www-form-urlencoded",
    )
    assert "NUL" in assert_api_error(response, 400, "VALIDATION_ERROR")["detail"]
    assert not Ticket.objects.exists()


def test_multipart_uploads_may_carry_nul_in_files_but_not_in_fields(key_client):
    upload = SimpleUploadedFile("dump.bin", b"\x00\x01\x02binary", "application/octet-stream")
    response = key_client.post(
        "/api/v1/tickets",
        {"customer_id": "c1", "subject": "With a file", "attachment": upload},
        format="multipart",
    )
    # The file went through to the view (which may refuse a field it does not know).
    assert response.status_code in (201, 400) and b"NUL" not in response.content
    # Form fields checked in the middleware are still there for the view.
    response = key_client.post(
        "/api/v1/tickets", {"customer_id": "c1", "subject": "Form"}, format="multipart"
    )
    assert response.status_code == 201, response.content
    response = key_client.post(
        "/api/v1/tickets", {"customer_id": "c1", "subject": "h\x00i"}, format="multipart"
    )
    assert "NUL" in assert_api_error(response, 400, "VALIDATION_ERROR")["detail"]
    assert not Ticket.objects.exclude(subject__in=["Form", "With a file"]).exists()


@pytest.mark.parametrize(
    "url", ["/admin/tickets/ticket/?q=%00", "/admin/tickets/ticket/%00/change/"]
)
def test_nul_outside_the_api_is_a_plain_400(manager_client, url):
    response = manager_client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


# --- Out-of-range dates -------------------------------------------------------------------


@pytest.fixture
def calendar_id(manager_client):
    body = {"name": "New York office", "timezone": "America/New_York", "always_open": True}
    response = manager_client.post("/api/v1/sla/calendars", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.parametrize(
    "start",
    [
        "9999-12-31T23:00:00Z",  # the deadline lands in year 10000
        "0001-01-01T00:00:00Z",  # year 0 in New York
    ],
)
def test_calendar_due_out_of_range_is_a_400_naming_start(manager_client, calendar_id, start):
    response = manager_client.get(
        f"/api/v1/sla/calendars/{calendar_id}/due", {"start": start, "minutes": "600"}
    )
    body = assert_api_error(response, 400, "VALIDATION_ERROR")
    assert "start" in body["error"]["details"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("created_after", "9999-12-31T23:59:59-05:00"),
        ("created_before", "0001-01-01T00:00:00+05:00"),
        ("updated_after", "9999-12-31T23:59:59-00:30"),
    ],
)
def test_ticket_date_filters_out_of_range_are_a_400_naming_the_field(key_client, field, value):
    response = key_client.get("/api/v1/tickets", {field: value})
    body = assert_api_error(response, 400, "VALIDATION_ERROR")
    assert field in body["error"]["details"]


def test_ticket_date_filters_at_the_edges_of_the_range_still_work(key_client, make_ticket):
    make_ticket()
    response = key_client.get(
        "/api/v1/tickets",
        {"created_after": "0001-01-01T00:00:00Z", "created_before": "9999-12-31T23:59:59Z"},
    )
    assert response.status_code == 200
    assert len(response.json()["tickets"]) == 1


def test_an_out_of_range_date_in_a_list_cursor_is_not_a_500(key_client, make_ticket):
    # The cursor is opaque but client-held, so it can be forged. PostgreSQL takes year
    # 10000 (an empty page); SQLite's adapter overflows, which must be a 400.
    make_ticket()
    forged = cursor_encode([datetime.fromisoformat("9999-12-31T23:59:59-05:00"), str(uuid4())])
    response = key_client.get("/api/v1/tickets", {"cursor": forged})
    if response.status_code != 200:
        assert_api_error(response, 400, "VALIDATION_ERROR")


# --- Every error under /api/ is JSON ------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/nonexistent", "/api/nonexistent/deeper/", "/api/v1/tickets/a/b/c/d"]
)
def test_unknown_api_routes_are_a_json_404_with_debug_off(key_client, settings, url):
    settings.DEBUG = False
    assert_api_error(key_client.get(url), 404, "NOT_FOUND")


def test_unknown_admin_routes_stay_html(manager_client):
    response = manager_client.get("/admin/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_wrong_method_is_a_json_405(key_client):
    response = key_client.delete("/api/v1/auth/whoami")
    assert_api_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response["Allow"]


@pytest.fixture
def client_keeping_500s(api_key):
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_API_KEY=api_key)
    return client


def test_an_unexpected_exception_in_an_api_view_is_a_json_500(monkeypatch, client_keeping_500s):
    def broken(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(WhoAmIView, "get", broken)
    body = assert_api_error(client_keeping_500s.get("/api/v1/auth/whoami"), 500, "INTERNAL_ERROR")
    assert "a bug" not in json.dumps(body)  # nothing of the internals leaks


def test_an_unexpected_exception_in_the_admin_stays_an_html_500(monkeypatch, manager):
    from django.contrib.admin import AdminSite

    def broken(self, request, app_label=None):
        raise RuntimeError("a bug")

    monkeypatch.setattr(AdminSite, "get_app_list", broken)
    client = APIClient(raise_request_exception=False)
    client.force_login(manager)
    response = client.get("/admin/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_errors_django_answers_itself_are_json_under_the_api(key_client, settings):
    # Too many query parameters: Django's SuspiciousOperation, rendered by handler400.
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    query = "&".join(f"p{i}=1" for i in range(10))
    assert_api_error(key_client.get(f"/api/v1/tickets?{query}"), 400, "VALIDATION_ERROR")
    # A host name that is not served.
    assert_api_error(
        key_client.get("/api/v1/tickets", HTTP_HOST="evil.example"), 400, "VALIDATION_ERROR"
    )
