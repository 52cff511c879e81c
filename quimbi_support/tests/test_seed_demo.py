import io

import pytest
from django.core.management import call_command
from django.test import Client

from agents.models import Agent
from tickets.models import Customer, Message, Ticket, TicketEvent


@pytest.mark.django_db
def test_seed_demo_is_complete_and_idempotent(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "s3cret-demo")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "s3cret-demo" in out.getvalue()
    counts = (
        Agent.objects.count(),
        Customer.objects.count(),
        Ticket.objects.count(),
        Message.objects.count(),
        TicketEvent.objects.count(),
    )
    assert counts[1] == 50 and counts[2] == 200
    assert set(Ticket.objects.values_list("status", flat=True)) == {
        "open",
        "in_progress",
        "pending",
        "resolved",
        "closed",
    }
    assert set(Ticket.objects.values_list("channel", flat=True)) == {
        "email",
        "chat",
        "sms",
        "phone",
        "form",
    }
    assert set(Ticket.objects.values_list("priority", flat=True)) == {
        "low",
        "normal",
        "high",
        "urgent",
    }
    assert Ticket.objects.filter(message_count__gte=3).count() > 50  # real conversations
    assert Message.objects.filter(is_internal=True).exists()
    from rules.models import Rule

    assert Rule.objects.count() >= 5
    # The queue is ranked at once, and rules show up in breakdowns.
    assert not Ticket.objects.filter(status="open", smart_score=0).exists()
    ruled = [
        t
        for t in Ticket.objects.filter(status="open")
        if any(c["name"].startswith("rule:") for c in t.score_breakdown["components"])
    ]
    assert ruled

    call_command("seed_demo", stdout=io.StringIO())
    assert counts == (
        Agent.objects.count(),
        Customer.objects.count(),
        Ticket.objects.count(),
        Message.objects.count(),
        TicketEvent.objects.count(),
    )

    for email in ("admin@demo.example", "manager@demo.example", "agent@demo.example"):
        client = Client()
        login = client.post(
            "/admin/login/?next=/admin/", {"username": email, "password": "s3cret-demo"}
        )
        assert login.status_code == 302, email
        assert client.get("/admin/tickets/ticket/").status_code == 200
