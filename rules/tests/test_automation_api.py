"""Automation rules over the API and in the admin: managers write, everyone reads,
another organization's rule is a 404, errors name the path, and dry runs and replays
write nothing."""

import uuid
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from rules.models import AutomationRule, RuleRun

pytestmark = pytest.mark.django_db

URL = "/api/v1/automations"
EXAMPLE = {
    "name": "Refunds are urgent",
    "active": True,
    "position": 10,
    "stop_processing": False,
    "trigger": "ticket.created",
    "conditions": {
        "all": [{"field": "subject", "operator": "contains", "value": "refund"}],
        "any": [
            {"field": "channel", "operator": "is", "value": "email"},
            {"field": "customer.tier", "operator": "is", "value": "vip"},
        ],
    },
    "actions": [
        {"type": "set_priority", "value": "high"},
        {"type": "add_tags", "value": ["refund"]},
    ],
}


def _rule(organization, **fields) -> AutomationRule:
    data = {**EXAMPLE, **fields}
    return AutomationRule.objects.create(organization=organization, **data)


def _row_counts() -> dict:
    return {m._meta.label: m._base_manager.count() for m in apps.get_models()}


def test_a_manager_creates_the_issues_example_and_everyone_reads_it(manager_client, agent_client):
    created = manager_client.post(URL, EXAMPLE, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "Refunds are urgent" and body["trigger"] == "ticket.created"
    assert body["conditions"]["any"][1]["field"] == "customer.tier"
    assert [a["type"] for a in body["actions"]] == ["set_priority", "add_tags"]

    listed = agent_client.get(URL).json()
    assert [r["id"] for r in listed["automations"]] == [body["id"]]
    assert listed["pagination"]["total"] == 1
    assert agent_client.get(f"{URL}/{body['id']}").json()["position"] == 10
    refused = agent_client.post(URL, {**EXAMPLE, "name": "mine"}, format="json")
    assert refused.status_code == 403


def test_position_defaults_after_the_last_rule_and_the_list_runs_in_order(
    manager_client, organization
):
    _rule(organization, name="second", position=20)
    _rule(organization, name="first", position=5)
    created = manager_client.post(
        URL, {k: v for k, v in EXAMPLE.items() if k != "position"}, format="json"
    ).json()
    assert created["position"] == 30
    names = [r["name"] for r in manager_client.get(URL).json()["automations"]]
    assert names == ["first", "second", "Refunds are urgent"]
    only_time = manager_client.get(URL, {"trigger": "time"}).json()["automations"]
    assert only_time == []
    AutomationRule.objects.filter(name="first").update(active=False)
    active = manager_client.get(URL, {"active": "true"}).json()["automations"]
    assert [r["name"] for r in active] == ["second", "Refunds are urgent"]
    inactive = manager_client.get(URL, {"active": "false"}).json()["automations"]
    assert [r["name"] for r in inactive] == ["first"]
    assert manager_client.get(URL, {"active": "maybe"}).status_code == 400


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            {"conditions": {"all": [{"field": "subject", "operator": "resembles", "value": "x"}]}},
            "conditions.all[0].operator",
        ),
        (
            {"conditions": {"all": [{"field": "mood", "operator": "is", "value": "x"}]}},
            "conditions.all[0].field",
        ),
        ({"actions": [{"type": "launch_rocket", "value": 1}]}, "actions[0].type"),
        ({"actions": [{"type": {}, "value": None}]}, "actions[0].type"),
        ({"actions": [{"type": "set_priority", "value": "whenever"}]}, "actions[0].value"),
        (
            {"actions": [{"type": "assign_agent", "value": str(uuid.uuid4())}]},
            "actions[0].value",
        ),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_path_and_saves_nothing(manager_client, change, path):
    answer = manager_client.post(URL, {**EXAMPLE, **change}, format="json")
    assert answer.status_code == 400, answer.content
    assert path in answer.json()["errors"], answer.json()
    assert not AutomationRule.objects.exists()


def test_envelope_errors(manager_client, organization):
    unknown = manager_client.post(URL, {**EXAMPLE, "colour": "red"}, format="json")
    assert unknown.status_code == 400 and "colour" in unknown.json()["errors"]
    trigger = manager_client.post(URL, {**EXAMPLE, "trigger": "full_moon"}, format="json")
    assert trigger.status_code == 400 and "trigger" in trigger.json()["errors"]
    actions = manager_client.post(URL, {**EXAMPLE, "actions": {"type": "x"}}, format="json")
    assert actions.status_code == 400 and "actions" in actions.json()["errors"]
    _rule(organization)
    duplicate = manager_client.post(URL, EXAMPLE, format="json")
    assert duplicate.status_code == 409
    assert AutomationRule.objects.count() == 1


def test_patch_revalidates_the_whole_rule_and_delete_removes_it(manager_client, organization):
    rule = _rule(organization)
    renamed = manager_client.patch(f"{URL}/{rule.pk}", {"name": "Refund rush"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Refund rush"
    bad = manager_client.patch(
        f"{URL}/{rule.pk}",
        {"actions": [{"type": "set_status", "value": "exploded"}]},
        format="json",
    )
    assert bad.status_code == 400 and "actions[0].value" in bad.json()["errors"]
    rule.refresh_from_db()
    assert rule.actions == EXAMPLE["actions"]
    assert manager_client.delete(f"{URL}/{rule.pk}").status_code == 204
    assert not AutomationRule.objects.exists()


def test_another_organizations_rule_is_a_404_everywhere(other_manager_client, organization):
    rule = _rule(organization)
    for method, path in [
        ("get", f"{URL}/{rule.pk}"),
        ("patch", f"{URL}/{rule.pk}"),
        ("delete", f"{URL}/{rule.pk}"),
        ("get", f"{URL}/{rule.pk}/runs"),
        ("post", f"{URL}/{rule.pk}/dry-run"),
    ]:
        answer = getattr(other_manager_client, method)(path, {}, format="json")
        assert answer.status_code == 404, (method, path, answer.status_code)
    assert other_manager_client.get(URL).json()["automations"] == []
    assert AutomationRule.objects.filter(pk=rule.pk, name=EXAMPLE["name"]).exists()


def test_runs_are_listed_newest_first(agent_client, organization, make_ticket):
    rule = _rule(organization)
    ticket = make_ticket(subject="refund please")
    for outcome in ("applied", "failed"):
        RuleRun.objects.create(
            organization=organization,
            rule=rule,
            ticket=ticket,
            trigger=rule.trigger,
            outcome=outcome,
            actions=[{"type": "set_priority", "value": "high"}],
            error="boom" if outcome == "failed" else "",
        )
    runs = agent_client.get(f"{URL}/{rule.pk}/runs").json()
    assert [r["outcome"] for r in runs["runs"]] == ["failed", "applied"]
    assert runs["runs"][0]["error"] == "boom" and runs["runs"][0]["ticket_id"] == str(ticket.pk)
    failed = agent_client.get(f"{URL}/{rule.pk}/runs", {"outcome": "failed"}).json()
    assert len(failed["runs"]) == 1


def test_lists_take_a_bounded_number_of_queries(
    manager_client, organization, make_ticket, django_assert_max_num_queries
):
    ticket = make_ticket()
    for i in range(30):
        rule = _rule(organization, name=f"rule {i}", position=i)
        RuleRun.objects.create(
            organization=organization,
            rule=rule,
            ticket=ticket,
            trigger="ticket.created",
            outcome="applied",
        )
    with django_assert_max_num_queries(6):
        assert len(manager_client.get(URL, {"limit": 30}).json()["automations"]) == 30
    with django_assert_max_num_queries(7):
        manager_client.get(f"{URL}/{rule.pk}/runs")


def test_a_dry_run_lists_what_the_rule_would_do_and_writes_nothing(
    manager_client, organization, make_ticket
):
    rule = _rule(
        organization,
        trigger="time",
        conditions={"all": [{"field": "subject", "operator": "contains", "value": "refund"}]},
        actions=[{"type": "set_priority", "value": "urgent"}],
    )
    hit = make_ticket(subject="Refund for order 12")
    make_ticket(subject="Where is my parcel")
    before = _row_counts()
    answer = manager_client.post(f"{URL}/{rule.pk}/dry-run", {}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert [t["ticket_id"] for t in body["tickets"]] == [str(hit.pk)]
    assert body["matching_tickets"] == 1
    assert body["tickets"][0]["actions"]  # what it would do
    assert _row_counts() == before
    hit.refresh_from_db()
    assert hit.priority != "urgent"


def test_a_replay_answers_what_an_unsaved_rule_would_have_done_and_writes_nothing(
    manager_client, make_ticket
):
    refund = make_ticket(subject="Refund request")
    make_ticket(subject="Hello there")
    before = _row_counts()
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    body = {k: v for k, v in EXAMPLE.items() if k != "name"}
    body["conditions"] = {"all": [{"field": "subject", "operator": "contains", "value": "refund"}]}
    answer = manager_client.post(f"{URL}/dry-run", {**body, "since": since}, format="json")
    assert answer.status_code == 200, answer.content
    replay = answer.json()
    assert replay["events_scanned"] == 2
    assert [h["ticket_id"] for h in replay["hits"]] == [str(refund.pk)]
    assert replay["hits"][0]["event"] == "ticket.created"
    assert _row_counts() == before
    assert not AutomationRule.objects.exists()
    bad = manager_client.post(
        f"{URL}/dry-run",
        {**body, "since": since, "actions": [{"type": "nope"}]},
        format="json",
    )
    assert bad.status_code == 400 and "actions[0].type" in bad.json()["errors"]


def test_the_admin_form_names_the_bad_path_and_saves_a_good_rule(manager_client, organization):
    add = "/admin/rules/automationrule/add/"
    assert manager_client.get(add).status_code == 200
    form = {
        "name": "Refunds",
        "description": "",
        "active": "on",
        "position": "10",
        "trigger": "ticket.created",
        "conditions": '{"all": [{"field": "subject", "operator": "resembles", "value": "x"}]}',
        "actions": '[{"type": "set_priority", "value": "high"}]',
    }
    refused = manager_client.post(add, form)
    assert refused.status_code == 200
    assert "conditions.all[0].operator" in refused.content.decode()
    assert not AutomationRule.objects.exists()
    form["conditions"] = '{"all": [{"field": "subject", "operator": "contains", "value": "x"}]}'
    saved = manager_client.post(add, form)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    rule = AutomationRule.objects.get()
    assert rule.organization == organization and rule.actions[0]["value"] == "high"
    page = manager_client.get(f"/admin/rules/automationrule/{rule.pk}/change/")
    assert page.status_code == 200 and "Recent runs" in page.content.decode()
