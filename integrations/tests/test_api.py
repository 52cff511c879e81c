"""The webhooks API: managers write, everyone reads, another organization's ids are
404s, strict bodies, SSRF refusals at save, and a bounded number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agents.services import api_key_create
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import webhook_endpoint_create

BASE = "/api/v1/webhooks"


def _create(client, **body):
    body = {"url": "http://127.0.0.1:9/hook", "events": ["ticket.created"], **body}
    return client.post(BASE, body, format="json")


def _endpoint(organization, url="http://127.0.0.1:9/hook"):
    return webhook_endpoint_create(
        organization=organization, data={"url": url, "events": ["ticket.created"]}, actor=None
    )


def _deliveries(endpoint, count):
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            organization_id=endpoint.organization_id,
            endpoint=endpoint,
            event_type="ticket.created",
            source_event_id=n + 1,
            message_id=f"evt_{n + 1}",
            body='{"type":"ticket.created"}',
        )
        for n in range(count)
    )


def test_create_shows_the_secret_once(manager_client):
    response = _create(manager_client, description="CRM sync")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["secret"].startswith("whsec_") and data["active"] is True
    assert data["events"] == ["ticket.created"]
    detail = manager_client.get(f"{BASE}/{data['id']}").json()
    assert "secret" not in detail and detail["description"] == "CRM sync"
    listed = manager_client.get(f"{BASE}/").json()
    assert [w["id"] for w in listed["webhooks"]] == [data["id"]]
    assert "secret" not in listed["webhooks"][0]


def test_agents_read_but_do_not_write(organization, agent_client):
    endpoint = _endpoint(organization)
    assert agent_client.get(BASE).status_code == 200
    assert agent_client.get(f"{BASE}/{endpoint.pk}/deliveries").status_code == 200
    assert _create(agent_client).status_code == 403
    assert agent_client.patch(f"{BASE}/{endpoint.pk}", {"active": False}).status_code == 403
    assert agent_client.post(f"{BASE}/{endpoint.pk}/test").status_code == 403


def test_bodies_are_strict(manager_client):
    response = _create(manager_client, secret="whsec_mine")
    assert response.status_code == 400
    assert "secret" in response.json()["errors"]
    response = _create(manager_client, events=["ticket.created", "ticket.creatd"])
    assert response.status_code == 400
    assert "events[1]" in response.json()["errors"]
    response = _create(manager_client, events=["ticket.created", 3])
    assert "events[1]" in response.json()["errors"]
    assert _create(manager_client, events=[]).status_code == 400
    response = _create(manager_client, events=["automation.*", "vip_refund"])
    assert response.status_code == 201
    assert response.json()["events"] == ["automation.*", "vip_refund"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "ftp://93.184.215.14/hook",
        "not a url",
    ],
)
def test_private_targets_are_refused_at_save(manager_client, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    response = _create(manager_client, url=url)
    assert response.status_code == 400, response.content
    assert "url" in response.json()["errors"]


def test_link_local_is_refused_even_when_private_is_allowed(manager_client, organization):
    for url in ("http://169.254.169.254/latest", "http://[fe80::1]/x"):
        response = _create(manager_client, url=url)
        assert response.status_code == 400, url
        assert "link-local" in response.json()["errors"]["url"][0]
    endpoint = _endpoint(organization)
    response = manager_client.patch(
        f"{BASE}/{endpoint.pk}", {"url": "http://169.254.169.254/"}, format="json"
    )
    assert response.status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/hook"


def test_public_address_is_accepted_without_private(manager_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    assert _create(manager_client, url="https://93.184.215.14/hook").status_code == 201


def test_patch_reenables_and_clears_the_reason(manager_client, organization):
    endpoint = _endpoint(organization)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=False, disabled_reason="Disabled automatically"
    )
    response = manager_client.patch(f"{BASE}/{endpoint.pk}", {"active": True}, format="json")
    assert response.status_code == 200
    assert response.json()["active"] is True and response.json()["disabled_reason"] == ""
    assert manager_client.delete(f"{BASE}/{endpoint.pk}").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_ping_and_replay_queue_deliveries(manager_client, organization):
    endpoint = _endpoint(organization)
    response = manager_client.post(f"{BASE}/{endpoint.pk}/test")
    assert response.status_code == 202
    ping = response.json()
    assert ping["event_type"] == "webhook.test" and ping["status"] == "pending"
    assert ping["payload"]["type"] == "webhook.test"
    response = manager_client.post(f"{BASE}/{endpoint.pk}/deliveries/{ping['id']}/replay")
    assert response.status_code == 202
    replay = response.json()
    assert replay["replay_of"] == ping["id"] and replay["message_id"] == ping["message_id"]
    listed = manager_client.get(f"{BASE}/{endpoint.pk}/deliveries").json()
    assert [d["id"] for d in listed["deliveries"]] == [replay["id"], ping["id"]]  # newest first
    assert listed["pagination"]["total"] == 2


def test_replay_to_a_disabled_endpoint_is_a_conflict(manager_client, organization):
    endpoint = _endpoint(organization)
    _deliveries(endpoint, 1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)
    delivery = WebhookDelivery.objects.get()
    response = manager_client.post(f"{BASE}/{endpoint.pk}/deliveries/{delivery.pk}/replay")
    assert response.status_code == 409


def test_other_organizations_ids_are_404(manager_client, other_organization):
    theirs = _endpoint(other_organization)
    _deliveries(theirs, 1)
    delivery = WebhookDelivery.objects.get()
    for method, path in [
        ("get", f"{BASE}/{theirs.pk}"),
        ("patch", f"{BASE}/{theirs.pk}"),
        ("delete", f"{BASE}/{theirs.pk}"),
        ("post", f"{BASE}/{theirs.pk}/test"),
        ("get", f"{BASE}/{theirs.pk}/deliveries"),
        ("post", f"{BASE}/{theirs.pk}/deliveries/{delivery.pk}/replay"),
    ]:
        response = getattr(manager_client, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path, response.content)
    assert manager_client.get(BASE).json()["webhooks"] == []
    assert WebhookDelivery.objects.count() == 1


def test_own_endpoint_but_foreign_delivery_is_404(manager_client, organization, other_organization):
    mine = _endpoint(organization)
    theirs = _endpoint(other_organization)
    _deliveries(theirs, 1)
    delivery = WebhookDelivery.objects.get()
    response = manager_client.post(f"{BASE}/{mine.pk}/deliveries/{delivery.pk}/replay")
    assert response.status_code == 404
    response = manager_client.post(f"{BASE}/{mine.pk}/deliveries/not-a-uuid/replay")
    assert response.status_code == 400


@pytest.mark.parametrize("rows", [5, 60])
def test_delivery_list_query_budget(organization, rows, django_assert_max_num_queries):
    endpoint = _endpoint(organization)
    _deliveries(endpoint, rows)
    _, raw = api_key_create(organization=organization, name="k", role="agent", actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    with django_assert_max_num_queries(6):
        response = client.get(f"{BASE}/{endpoint.pk}/deliveries?limit=100")
    assert response.status_code == 200
    assert len(response.json()["deliveries"]) == rows
    with CaptureQueriesContext(connection) as queries:
        client.get(f"{BASE}?limit=100")
    assert len(queries) <= 5


def test_create_inactive(manager_client):
    response = _create(manager_client, active=False)
    assert response.status_code == 201 and response.json()["active"] is False
