"""Importing from Zendesk and Gorgias: against local stand-ins speaking their documented
endpoints (integrations/tests/fake_providers.py), with the synthetic sample payloads."""

import pytest
from django.test import override_settings

from agents.tests.factories import AgentFactory
from integrations.models import IntegrationAccount, SyncRun
from integrations.providers.sync import SyncBusy, run_start, sync_account
from integrations.secrets import secret_seal
from integrations.tests.fake_providers import FakeGorgias, FakeZendesk
from tickets.models import Customer, Message, Ticket

pytestmark = [pytest.mark.django_db(transaction=True)]
FAST = override_settings(PROVIDER_BACKOFF_SECONDS=0.01, PROVIDER_COMMENT_FETCH_CONCURRENCY=4)


@pytest.fixture
def zendesk():
    with FakeZendesk() as fake:
        fake.load_fixtures()
        yield fake


@pytest.fixture
def gorgias():
    with FakeGorgias(bucket=None) as fake:
        fake.load_fixtures()
        yield fake


def _zendesk_account(organization, fake, **fields):
    return IntegrationAccount.objects.create(
        organization=organization,
        provider="zendesk",
        name=fields.pop("name", "Zendesk"),
        subdomain="quimbi-demo",
        base_url=fake.base_url,
        email=fake.email,
        api_secret=secret_seal(fake.api_token),
        rate_limit_per_minute=100_000,
        **fields,
    )


def _gorgias_account(organization, fake, **fields):
    return IntegrationAccount.objects.create(
        organization=organization,
        provider="gorgias",
        name=fields.pop("name", "Gorgias"),
        domain="quimbi-demo",
        base_url=fake.base_url,
        username=fake.username,
        api_secret=secret_seal(fake.api_key),
        rate_limit_per_minute=100_000,
        **fields,
    )


def _snapshot(organization):
    """Every imported row's content, to prove a re-run changes nothing."""
    tickets = list(
        Ticket.objects.filter(organization=organization)
        .order_by("external_id")
        .values_list("external_id", "status", "priority", "updated_at", "tag_names", "subject")
    )
    messages = list(
        Message.all_objects.filter(organization=organization)
        .order_by("external_id")
        .values_list("external_id", "content", "is_internal", "from_agent")
    )
    return tickets, messages, Customer.objects.filter(organization=organization).count()


@FAST
def test_zendesk_full_import_maps_tickets_comments_people_and_deletions(organization, zendesk):
    agent = AgentFactory(organization=organization, email="ingrid.sorensen@quimbi-demo.example")
    account = _zendesk_account(organization, zendesk)
    run = sync_account(account, full=True)
    assert run.status == "ok", run.errors
    tickets = {t.external_id: t for t in Ticket.objects.filter(source="zendesk")}
    # The deleted (scrubbed) ticket is not imported; 48211 is there once, as solved.
    assert "47501" not in tickets
    assert tickets["48211"].status == "resolved"
    assert tickets["47990"].status == "closed" and tickets["47990"].closed_at
    assert tickets["47990"].channel == "chat"
    assert tickets["48212"].priority == "normal" and tickets["48212"].assignee_id is None
    assert run.created == len(tickets) and run.messages_created == Message.objects.count()
    notes = Message.objects.filter(ticket=tickets["48211"], is_internal=True)
    assert notes.exists() and all(n.from_agent for n in notes)
    with_files = Message.objects.filter(ticket=tickets["48211"]).exclude(attachments=[]).first()
    assert with_files.attachments[0]["name"].endswith(".png")
    assert {"name", "content_type", "size", "url"} <= set(with_files.attachments[0])
    # Assignees are matched to agents by email.
    assert Ticket.objects.filter(source="zendesk", assignee=agent).exists()
    # Requesters: matched by email or created with the provider's id.
    assert Customer.objects.filter(external_id__startswith="zendesk:").exists()
    # No outbox events: imports trigger no automations, SLA clocks or push-back.
    assert not tickets["48211"].events.exists()
    account.refresh_from_db()
    assert account.last_sync_status == "ok" and account.sync_cursor
    assert account.tickets_imported == len(tickets)


@FAST
def test_a_rerun_writes_nothing_and_fetches_no_comments(organization, zendesk):
    account = _zendesk_account(organization, zendesk)
    sync_account(account, full=True)
    before = _snapshot(organization)
    zendesk.requests.clear()
    run = sync_account(account, full=True)
    assert run.status == "ok" and (run.created, run.updated, run.messages_created) == (0, 0, 0)
    assert run.skipped > 0
    assert _snapshot(organization) == before
    assert not [r for r in zendesk.requests if "/comments" in r[1]]


@FAST
def test_incremental_sync_picks_up_a_change_and_ignores_an_older_version(organization, zendesk):
    account = _zendesk_account(organization, zendesk)
    sync_account(account)
    zendesk.touch(48212, status="pending", tags=["vip"])
    zendesk.comments[48212].append(
        FakeZendesk.make_comment(990001, 25930117708123, body="Any news?")
    )
    run = sync_account(account)
    assert (run.created, run.updated, run.messages_created) == (0, 1, 1), run.errors
    ticket = Ticket.objects.get(source="zendesk", external_id="48212")
    assert ticket.status == "pending" and ticket.tag_names == ["vip"]
    assert ticket.messages.filter(external_id="990001", content="Any news?").exists()
    # An older version of the ticket seen later (a replayed page) changes nothing.
    from integrations.providers import zendesk as zd
    from integrations.providers.upsert import page_upsert

    stale = zd.ticket_of(
        {**zendesk.tickets[48212], "status": "open", "updated_at": "2020-01-01T00:00:00Z"}, {}
    )
    stale.messages = []
    assert page_upsert(account, [stale]).skipped == 1
    ticket.refresh_from_db()
    assert ticket.status == "pending"


@FAST
def test_rate_limits_and_server_errors_are_waited_out(organization, zendesk):
    account = _zendesk_account(organization, zendesk)
    zendesk.fail_next("/api/v2/incremental", 429, retry_after=1)
    zendesk.fail_next("/api/v2/tickets/48211/comments", 500, times=2)
    run = sync_account(account, full=True)
    assert run.status == "ok", run.errors
    assert Ticket.objects.filter(source="zendesk", external_id="48211").exists()


@FAST
def test_an_interrupted_import_resumes_without_skipping_a_page(organization):
    with FakeZendesk() as fake:
        for i in range(1, 8):
            fake.add_ticket(
                FakeZendesk.make_ticket(1000 + i, requester_id=5000 + i),
                comments=[FakeZendesk.make_comment(9000 + i, 5000 + i)],
                users=[FakeZendesk.make_user(5000 + i, email=f"c{i}@example.com")],
            )
        account = _zendesk_account(organization, fake)
        # Pages of 3 (the stand-in honours per_page; the client asks 1000, so patch it).
        from integrations.providers import zendesk as zd

        original = zd.ZendeskClient.export_page

        def small_pages(self, cursor, start_time=None):
            params = {"per_page": 3, "include": "users"}
            params.update({"cursor": cursor} if cursor else {"start_time": start_time or 0})
            return self.http.get("/api/v2/incremental/tickets/cursor.json", **params)

        zd.ZendeskClient.export_page = small_pages
        try:
            # The second page's comments keep failing: the run stops after page 1.
            fake.fail_next("/api/v2/tickets/1004/comments", 503, times=50)
            run = sync_account(account, full=True)
            assert run.status == "failed" and run.pages == 1
            assert Ticket.objects.filter(source="zendesk").count() == 3
            account.refresh_from_db()
            fake._fails.clear()
            run = sync_account(account)
            assert run.status == "ok", run.errors
        finally:
            zd.ZendeskClient.export_page = original
        assert sorted(
            Ticket.objects.filter(source="zendesk").values_list("external_id", flat=True)
        ) == [str(1000 + i) for i in range(1, 8)]


def test_one_sync_at_a_time_per_account(organization, zendesk):
    account = _zendesk_account(organization, zendesk)
    run_start(account, full=False, trigger="beat")
    with pytest.raises(SyncBusy):
        sync_account(account)
    # A run whose process died (no heartbeat for long) no longer holds the lock.
    SyncRun.objects.update(heartbeat_at="2020-01-01T00:00:00Z")
    with FAST:
        assert sync_account(account).status == "ok"
    assert SyncRun.objects.filter(status="abandoned").count() == 1


@FAST
def test_gorgias_full_and_incremental_import(organization, gorgias):
    account = _gorgias_account(organization, gorgias)
    run = sync_account(account)
    assert run.status == "ok", run.errors
    tickets = {t.external_id: t for t in Ticket.objects.filter(source="gorgias")}
    assert set(tickets) == {"86540101", "86540102", "86540103", "86540104", "86540105"}
    assert tickets["86540105"].status == "closed"  # spam
    assert tickets["86540102"].assignee_id is None
    note = Message.objects.get(external_id="208900002")
    assert note.is_internal and note.from_agent
    html_only = Message.objects.get(external_id="208900031")
    assert html_only.content and "<" not in html_only.content
    before = _snapshot(organization)
    run = sync_account(account)
    assert (run.created, run.updated, run.messages_created) == (0, 0, 0)
    assert _snapshot(organization) == before
    gorgias.touch(86540102, status="closed")
    run = sync_account(account)
    assert run.updated == 1, run.errors
    assert Ticket.objects.get(external_id="86540102").status == "closed"


@FAST
def test_an_account_never_writes_into_another_organization(organization, zendesk):
    from agents.tests.factories import OrganizationFactory

    other = OrganizationFactory()
    account = _zendesk_account(organization, zendesk)
    sync_account(account, full=True)
    assert not Ticket.objects.filter(organization=other).exists()
    assert not Customer.objects.filter(organization=other).exists()
    assert not Message.all_objects.filter(organization=other).exists()


@FAST
def test_requesters_and_assignees_not_sideloaded_are_fetched(organization, zendesk, monkeypatch):
    """A Zendesk (or proxy) that ignores include=users: the people come from show_many."""
    from integrations.providers import zendesk as zd

    agent = AgentFactory(organization=organization, email="ingrid.sorensen@quimbi-demo.example")

    def bare_page(self, cursor, start_time=None):
        params = {"per_page": 1000}
        params.update({"cursor": cursor} if cursor else {"start_time": start_time or 0})
        return self.http.get("/api/v2/incremental/tickets/cursor.json", **params)

    monkeypatch.setattr(zd.ZendeskClient, "export_page", bare_page)
    account = _zendesk_account(organization, zendesk)
    assert sync_account(account, full=True).status == "ok"
    ticket = Ticket.objects.get(source="zendesk", external_id="48211")
    assert ticket.customer.email and ticket.customer.name != "Unknown customer"
    assert Ticket.objects.filter(source="zendesk", assignee=agent).exists()
    assert any("show_many" in r[1] for r in zendesk.requests)
