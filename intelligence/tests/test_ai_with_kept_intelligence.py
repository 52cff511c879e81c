"""The AI endpoints once a customer's intelligence is kept (its profile carries
datetimes), against the Quimbi stand-in in both answer shapes, down, and hanging; and
the fallback draft: tone, length, the latest customer message, one SMS."""

import socket

import pytest

from intelligence import fallback_draft
from intelligence.services import intelligence_refresh
from tickets.services import message_add

pytestmark = pytest.mark.django_db
GEN = "/api/generation/message"


@pytest.fixture
def kept(quimbi, customer):
    """The customer's intelligence fetched once and kept (fetched_at is a datetime)."""
    intelligence_refresh(customer=customer)
    return customer


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _urls(ticket):
    base = f"/api/ai/tickets/{ticket.pk}"
    return {
        "draft": f"{base}/draft-response",
        "regenerate": f"{base}/draft-response/regenerate",
        "recommendation": f"{base}/recommendation",
    }


@pytest.mark.parametrize("flavor", ["published", "code"])
def test_ai_endpoints_answer_with_kept_intelligence(quimbi, kept, key_client, make_ticket, flavor):
    quimbi.flavor = flavor
    ticket = make_ticket()
    urls = _urls(ticket)

    draft = key_client.get(urls["draft"])
    regenerated = key_client.post(urls["regenerate"], {"tone": "formal"}, format="json")
    recommendation = key_client.get(urls["recommendation"])

    assert draft.status_code == 200 and draft.json()["source"] == "quimbi"
    assert regenerated.status_code == 200 and regenerated.json()["source"] == "quimbi"
    assert recommendation.status_code == 200
    assert recommendation.json()["actions"][0]["action"] == "Offer express shipping"
    # The kept profile went to Quimbi, its datetime as ISO 8601 text.
    _, body, _ = next(r for r in quimbi.requests if r[0] == GEN)
    assert body["customer_profile"]["fetched_at"].startswith("20")


def test_drafts_fall_back_when_quimbi_goes_down(quimbi, kept, key_client, make_ticket, settings):
    ticket = make_ticket()
    settings.QUIMBI_BASE_URL = f"http://127.0.0.1:{_closed_port()}"
    urls = _urls(ticket)

    draft = key_client.get(urls["draft"])
    regenerated = key_client.post(urls["regenerate"], {"tone": "empathetic"}, format="json")

    assert draft.status_code == 200 and draft.json()["source"] == "fallback"
    assert regenerated.status_code == 200 and regenerated.json()["source"] == "fallback"
    assert regenerated.json()["tone"] == "empathetic"
    assert key_client.get(urls["recommendation"]).status_code == 503


def test_drafts_fall_back_when_quimbi_hangs(quimbi, kept, key_client, make_ticket):
    ticket = make_ticket()
    quimbi.hang = True
    response = key_client.get(_urls(ticket)["draft"])
    assert response.status_code == 200 and response.json()["source"] == "fallback"


def test_a_failure_of_any_kind_below_the_draft_is_a_fallback(
    quimbi, kept, key_client, make_ticket, monkeypatch
):
    def broken(*args, **kwargs):
        raise TypeError("something unexpected")

    monkeypatch.setattr("intelligence.client.QuimbiClient.generate_message", broken)
    response = key_client.get(_urls(make_ticket())["draft"])
    assert response.status_code == 200 and response.json()["source"] == "fallback"


# --- the fallback draft ---------------------------------------------------------------


def test_regenerating_the_fallback_in_another_tone_changes_the_text(key_client, make_ticket):
    ticket = make_ticket()
    urls = _urls(ticket)
    friendly = key_client.get(urls["draft"]).json()
    formal = key_client.post(urls["regenerate"], {"tone": "formal"}, format="json").json()

    assert formal["source"] == "fallback" and formal["tone"] == "formal"
    assert formal["draft"] != friendly["draft"]
    assert formal["draft"].startswith("Dear Ada,")
    # The next GET keeps the tone last chosen.
    again = key_client.get(urls["draft"]).json()
    assert again["tone"] == "formal" and again["draft"] == formal["draft"]


def test_the_fallback_honours_the_length(key_client, make_ticket):
    urls = _urls(make_ticket())
    short = key_client.post(urls["regenerate"], {"length": "short"}, format="json").json()
    long = key_client.post(urls["regenerate"], {"length": "long"}, format="json").json()
    assert len(short["draft"]) < len(long["draft"])
    assert short["length"] == "short" and long["length"] == "long"


def test_the_fallback_answers_the_latest_customer_message(key_client, make_ticket):
    ticket = make_ticket(subject="Where is my order?")
    message_add(ticket=ticket, content="We shipped it.", from_agent=True, actor=None)
    message_add(
        ticket=ticket,
        content="The tracking link says the parcel was returned. Can you resend?",
        from_agent=False,
        actor=None,
    )
    draft = key_client.get(_urls(ticket)["draft"]).json()["draft"]
    assert "parcel was returned" in draft
    assert "It has not arrived yet" not in draft


@pytest.mark.parametrize("tone", sorted(fallback_draft.TONES))
@pytest.mark.parametrize("length", ["short", "medium", "long"])
def test_an_sms_fallback_fits_in_one_sms(key_client, make_ticket, tone, length):
    ticket = make_ticket(channel="sms", subject="x" * 150)
    message_add(ticket=ticket, content="word " * 80, from_agent=False, actor=None)
    response = key_client.post(
        _urls(ticket)["regenerate"], {"tone": tone, "length": length}, format="json"
    )
    draft = response.json()["draft"]
    assert len(draft) <= 160, (len(draft), draft)
    assert draft.startswith(("Hi", "Hello", "Hey", "Dear"))
