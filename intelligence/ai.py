"""AI drafts and recommendations for tickets (Quimbi generation), with fallbacks.

- A draft is reused while the conversation is unchanged (same message count) and the
  tone is the same, so opening a ticket twice costs one generation call.
- When Quimbi is unavailable, the draft is a fallback built from the ticket and the
  customer's name (`source: fallback`): an agent can always reply.
- Recommendations keep each action's `completed` flag by index; a regeneration carries
  the flags over for actions with the same text.
"""

import logging

from django.utils import timezone

from agents.exceptions import NotFound
from intelligence import fallback_draft as fallback
from intelligence.client import QuimbiError, client_for
from intelligence.models import CustomerIntelligence, TicketDraft, TicketRecommendation
from intelligence.profile import customer_profile
from intelligence.selectors import intelligence_get_for_customer
from tickets.models import Message, Ticket

logger = logging.getLogger("intelligence.ai")

DEFAULT_TONE, DEFAULT_LENGTH = "professional_friendly", "medium"
REQUEST_CLIENT = {"read_timeout": 3.0, "retries": 0}  # on a request path: one short try


def _conversation(ticket: Ticket) -> list[dict]:
    return list(
        Message.objects.filter(ticket=ticket, is_internal=False)
        .order_by("created_at")
        .values("from_agent", "content")[:50]
    )


def fallback_draft(
    ticket: Ticket, *, tone: str = DEFAULT_TONE, length: str = DEFAULT_LENGTH
) -> str:
    latest = (
        Message.objects.filter(ticket=ticket, is_internal=False, from_agent=False)
        .order_by("-created_at", "-id")
        .values_list("content", flat=True)
        .first()
    )
    return fallback.compose(
        customer_name=ticket.customer.name,
        subject=ticket.subject,
        latest_customer_message=latest or "",
        tone=tone,
        length=length,
        channel=ticket.channel,
    )


def draft_get(
    *,
    ticket: Ticket,
    tone: str | None = None,
    length: str | None = None,
    regenerate: bool = False,
    options: dict | None = None,
) -> TicketDraft:
    """The ticket's draft. Without a tone or length, the ones last chosen for this
    ticket. Never raises for what fails below it: any failure gives a fallback draft."""
    latest = TicketDraft.objects.filter(ticket=ticket).first()
    tone = tone or (latest.tone if latest else DEFAULT_TONE)
    length = length or (latest.length if latest and latest.length else DEFAULT_LENGTH)
    if (
        not regenerate
        and latest is not None
        and latest.conversation_version == ticket.message_count
        and (latest.tone, latest.length) == (tone, length)
        and latest.source == "quimbi"
    ):
        return latest
    try:
        answer = client_for(ticket.organization_id, **REQUEST_CLIENT).generate_message(
            customer_id=ticket.customer.external_id,
            profile=customer_profile(
                ticket.customer, intelligence_get_for_customer(customer=ticket.customer)
            ),
            conversation=_conversation(ticket),
            channel=ticket.channel,
            tone=tone,
            length=length,
        )
        content = answer.get("message")
        if not isinstance(content, str) or not content.strip():
            raise QuimbiError("empty draft")
        applied = answer.get("personalization_applied")
        if applied is None and isinstance(answer.get("personalizations"), dict):
            applied = [k for k, v in answer["personalizations"].items() if v]
        source = "quimbi"
    except QuimbiError as exc:
        logger.info("draft fallback for ticket %s: %s", ticket.pk, exc)
        content, applied, source = fallback_draft(ticket, tone=tone, length=length), [], "fallback"
    except Exception:  # a draft must never fail the agent: log it, and fall back
        logger.exception("draft generation failed for ticket %s; using the fallback", ticket.pk)
        content, applied, source = fallback_draft(ticket, tone=tone, length=length), [], "fallback"
    return TicketDraft.objects.create(
        ticket=ticket,
        content=content,
        tone=tone,
        length=length,
        source=source,
        personalization=applied if isinstance(applied, list) else [],
        conversation_version=ticket.message_count,
    )


def draft_data(draft: TicketDraft) -> dict:
    return {
        "ticket_id": draft.ticket_id,
        "draft": draft.content,
        "tone": draft.tone,
        "length": draft.length,
        "personalization_applied": draft.personalization,
        "generated_at": draft.created_at,
        "source": draft.source,
    }


def estimated_impact(impact: dict, row: CustomerIntelligence | None) -> dict:
    """The frontend's `estimated_impact`, two numbers always: Quimbi's own estimate when
    it gave one, else derived from the kept intelligence (revenue at risk = LTV x churn
    risk; retention = 1 - churn risk), else no revenue at risk and even odds."""
    churn = row.churn_score if row is not None else None
    ltv = row.lifetime_value if row is not None else None

    def number(value, fallback):
        return float(value) if isinstance(value, int | float) else fallback

    derived_retention = round(1 - churn, 2) if churn is not None else 0.5
    derived_revenue = round(ltv * churn, 2) if ltv is not None and churn is not None else 0.0
    return {
        "retention_probability": number(impact.get("retention_probability"), derived_retention),
        "revenue_at_risk": number(impact.get("revenue_at_risk"), derived_revenue),
    }


ACTION_RANKS = {"urgent": 1, "critical": 1, "high": 1, "medium": 2, "normal": 2, "low": 3}


def action_rank(priority) -> int:
    """The frontend orders actions by an integer priority (1 first); Quimbi may say
    "high"/"medium"/"low" or give the number itself."""
    if isinstance(priority, int) and not isinstance(priority, bool) and priority >= 1:
        return priority
    return ACTION_RANKS.get(str(priority).lower(), 2)


def _normalise_actions(answer: dict, row: CustomerIntelligence | None = None) -> dict:
    actions = answer.get("actions")
    if not isinstance(actions, list):  # the shape the platform's code serves
        actions = (
            answer.get("recommended_actions")
            if isinstance(answer.get("recommended_actions"), list)
            else []
        )
    items = []
    impact = {}
    for action in actions:
        if not isinstance(action, dict):
            continue
        items.append(
            {
                "action": str(action.get("action", ""))[:300],
                "completed": False,
                "priority": action_rank(action.get("priority")),
                "priority_label": action.get("priority")
                if isinstance(action.get("priority"), str)
                else None,
                "reasoning": str(action.get("reasoning") or action.get("details") or ""),
            }
        )
        if isinstance(action.get("estimated_impact"), dict) and not impact:
            impact = action["estimated_impact"]
    priority = (
        answer.get("priority")
        if answer.get("priority") in ("urgent", "high", "normal")
        else "normal"
    )
    return {
        "priority": priority,
        "actions": items,
        "talking_points": answer.get("talking_points") or [],
        "warnings": answer.get("warnings") or [],
        "estimated_impact": estimated_impact(impact, row),
    }


def recommendation_get(*, ticket: Ticket, regenerate: bool = False) -> TicketRecommendation:
    """The ticket's recommendation: kept while the conversation is unchanged; raises
    QuimbiError when none is kept and Quimbi is unavailable."""
    latest = TicketRecommendation.objects.filter(ticket=ticket).first()
    if (
        latest is not None
        and not regenerate
        and (latest.conversation_version == ticket.message_count)
    ):
        return latest
    row = intelligence_get_for_customer(customer=ticket.customer)
    try:
        answer = client_for(ticket.organization_id, **REQUEST_CLIENT).generate_actions(
            customer_id=ticket.customer.external_id,
            profile=customer_profile(ticket.customer, row),
            ticket={
                "subject": ticket.subject,
                "priority": ticket.priority,
                "channel": ticket.channel,
            },
        )
    except QuimbiError:
        if latest is not None:
            return latest  # stale but useful
        raise
    except Exception as exc:
        logger.exception("recommendation failed for ticket %s", ticket.pk)
        if latest is not None:
            return latest
        raise QuimbiError("Recommendations failed; try again later.") from exc
    data = _normalise_actions(answer, row)
    if latest is not None:  # keep what the agent already did
        done = {a["action"] for a in latest.data.get("actions", []) if a.get("completed")}
        for action in data["actions"]:
            action["completed"] = action["action"] in done
    return TicketRecommendation.objects.create(
        ticket=ticket, data=data, conversation_version=ticket.message_count
    )


def recommendation_data(recommendation: TicketRecommendation) -> dict:
    """What the frontend gets: the kept answer, with `estimated_impact` always numbers
    (rows kept before that rule may hold nulls)."""
    data = dict(recommendation.data)
    data["actions"] = [
        {
            **a,
            "priority": action_rank(a.get("priority")),
            "reasoning": str(a.get("reasoning") or ""),
        }
        for a in data.get("actions", [])
    ]
    impact = data.get("estimated_impact") or {}
    if not all(
        isinstance(impact.get(k), int | float) for k in ("retention_probability", "revenue_at_risk")
    ):
        customer = recommendation.ticket.customer
        data["estimated_impact"] = estimated_impact(
            impact, intelligence_get_for_customer(customer=customer)
        )
    return data


def recommendation_action_complete(
    *, recommendation: TicketRecommendation, index: int, completed: bool
) -> TicketRecommendation:
    actions = recommendation.data.get("actions", [])
    if not 0 <= index < len(actions):
        raise NotFound(f"No action {index}; this recommendation has {len(actions)}.")
    actions[index]["completed"] = completed
    actions[index]["completed_at"] = timezone.now().isoformat() if completed else None
    recommendation.save(update_fields=["data"])
    return recommendation
