"""Integration accounts over the API: write-only secrets, validation, sync and runs, and
the ticket list's source / external_id filters on imported tickets."""

import pytest
from django.test import override_settings

from integrations.models import IntegrationAccount, SyncRun
from integrations.secrets import secret_open
from integrations.tasks import provider_sync_run_task
from integrations.tests.fake_providers import FakeZendesk

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/integrations/accounts"


def _zendesk_body(fake, **overrides):
    return {
        "provider": "zendesk",
        "name": "Zendesk EU",
        "subdomain": "quimbi-demo",
        "base_url": fake.base_url,
        "email": fake.email,
        "api_token": fake.api_token,
        "webhook_secret": "hook-secret",
        "rate_limit_per_minute": 100000,
        **overrides,
    }


def test_secrets_are_write_only_and_stored_sealed(manager_client, organization):
    with FakeZendesk() as fake:
        response = manager_client.post(URL, _zendesk_body(fake), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert "api_token" not in body and "webhook_secret" not in body
    assert body["has_api_secret"] and body["has_webhook_secret"]
    assert fake.api_token not in response.content.decode()
    assert body["webhook_url"] == f"/api/v1/integrations/zendesk/webhook/{body['id']}"
    account = IntegrationAccount.objects.get(pk=body["id"])
    assert fake.api_token not in account.api_secret  # sealed, not plain
    assert secret_open(account.api_secret) == fake.api_token
    listed = manager_client.get(URL).json()
    assert [a["id"] for a in listed["accounts"]] == [body["id"]]
    assert fake.api_token not in str(listed)
    # A PATCH without the secret keeps it; with one, replaces it.
    patched = manager_client.patch(f"{URL}/{body['id']}", {"name": "ZD"}, format="json")
    assert patched.status_code == 200 and patched.json()["name"] == "ZD"
    account.refresh_from_db()
    assert secret_open(account.api_secret) == fake.api_token


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"provider": "freshdesk"}, "provider"),
        ({"subdomain": "", "base_url": ""}, "subdomain"),
        ({"email": ""}, "email"),
        ({"api_token": None}, "api_token"),
        ({"api_key": "x"}, "api_key"),
        ({"sync_interval_minutes": 0}, "sync_interval_minutes"),
        ({"base_url": "http://169.254.169.254/latest"}, "base_url"),
        ({"ignore_senders": ["not-an-email"]}, "ignore_senders"),
    ],
)
def test_bad_accounts_are_a_400_naming_the_field(manager_client, change, field):
    with FakeZendesk() as fake:
        body = {k: v for k, v in {**_zendesk_body(fake), **change}.items() if v is not None}
        response = manager_client.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert not IntegrationAccount.objects.exists()


def test_a_second_account_with_the_same_name_is_a_409(manager_client):
    with FakeZendesk() as fake:
        assert manager_client.post(URL, _zendesk_body(fake), format="json").status_code == 201
        again = manager_client.post(URL, _zendesk_body(fake), format="json")
    assert again.status_code == 409


@override_settings(PROVIDER_BACKOFF_SECONDS=0.01)
def test_sync_queues_a_run_that_imports_and_the_filters_find_it(manager_client):
    with FakeZendesk() as fake:
        fake.load_fixtures()
        account_id = manager_client.post(URL, _zendesk_body(fake), format="json").json()["id"]
        queued = manager_client.post(f"{URL}/{account_id}/sync", {"full": True}, format="json")
        assert queued.status_code == 202, queued.content
        run = queued.json()
        assert run["status"] == "running" and run["full"]
        # While it runs, another is refused.
        busy = manager_client.post(f"{URL}/{account_id}/sync", {}, format="json")
        assert busy.status_code == 409
        assert provider_sync_run_task(run["id"]) == "ok"
    runs = manager_client.get(f"{URL}/{account_id}/runs").json()["runs"]
    assert runs[0]["status"] == "ok" and runs[0]["created"] > 0
    account = manager_client.get(f"{URL}/{account_id}").json()
    assert account["last_sync_status"] == "ok" and account["tickets_imported"] == runs[0]["created"]
    found = manager_client.get("/api/v1/tickets?source=zendesk&external_id=48211").json()
    assert len(found["tickets"]) == 1
    ticket = manager_client.get(f"/api/v1/tickets/{found['tickets'][0]['id']}").json()
    assert ticket["external_id"] == "48211"
    assert manager_client.get("/api/v1/tickets?source=gorgias").json()["tickets"] == []
    assert SyncRun.objects.count() == 1


def test_a_sync_with_the_broker_down_fails_visibly(manager_client, monkeypatch):
    from integrations.providers import scheduling

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(scheduling.current_app, "send_task", refuse)
    with FakeZendesk() as fake:
        account_id = manager_client.post(URL, _zendesk_body(fake), format="json").json()["id"]
    run = manager_client.post(f"{URL}/{account_id}/sync", {}, format="json").json()
    assert run["status"] == "failed" and "broker" in run["errors"][0]
    # The lock is released: the next sync can start.
    monkeypatch.undo()
    assert manager_client.post(f"{URL}/{account_id}/sync", {}, format="json").status_code == 202


def test_the_beat_starts_due_accounts_once(organization, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.providers import scheduling
    from integrations.secrets import secret_seal

    sent = []
    monkeypatch.setattr(
        scheduling.current_app, "send_task", lambda name, kwargs: sent.append(kwargs["run_id"])
    )

    def account(name, **fields):
        return IntegrationAccount.objects.create(
            organization=organization,
            provider="zendesk",
            name=name,
            subdomain="acme",
            email="ops@acme.test",
            api_secret=secret_seal("t"),
            **fields,
        )

    never = account("never synced")
    due = account("due", last_sync_at=timezone.now() - timedelta(minutes=6))
    account("recent", last_sync_at=timezone.now() - timedelta(minutes=1))
    account("disabled", enabled=False)
    assert scheduling.syncs_start_due() == 2
    started = set(SyncRun.objects.values_list("account_id", flat=True))
    assert started == {never.pk, due.pk} and len(sent) == 2
    # Their runs hold the lock: the next beat starts nothing for them.
    assert scheduling.syncs_start_due() == 0
    assert SyncRun.objects.count() == 2


def test_the_account_and_run_lists_cost_the_same_whatever_their_length(
    manager_client, organization, django_assert_max_num_queries
):
    from integrations.secrets import secret_seal

    accounts = [
        IntegrationAccount.objects.create(
            organization=organization,
            provider="zendesk",
            name=f"Z{i}",
            subdomain="acme",
            email="ops@acme.test",
            api_secret=secret_seal("t"),
        )
        for i in range(30)
    ]
    SyncRun.objects.bulk_create(
        SyncRun(organization=organization, account=accounts[0], status="ok") for _ in range(30)
    )
    with django_assert_max_num_queries(8):
        assert len(manager_client.get(f"{URL}?limit=50").json()["accounts"]) == 30
    with django_assert_max_num_queries(9):
        assert len(manager_client.get(f"{URL}/{accounts[0].pk}/runs").json()["runs"]) == 30
