"""Plain dicts for API answers, built straight from model rows (no per-field serializer
machinery on the hot paths). Shapes follow CONTRACTS.md section 2; the OpenAPI schema is
described by the serializers in tickets/api/serializers.py."""

from tickets.models import Customer, Message, Satisfaction, Ticket, TicketEvent


def _tag_names(ticket: Ticket) -> list[str]:
    return list(ticket.tag_names or [])


def ticket_metadata(ticket: Ticket) -> dict:
    return {
        "id": ticket.pk,
        "status": ticket.status,
        "priority": ticket.priority,
        "assigned_to": ticket.assignee_id,
        "team_id": ticket.team_id,
        "tags": _tag_names(ticket),
        "updated_at": ticket.updated_at,
    }


def ticket_list_item(ticket: Ticket, *, matches_topic_alert: bool = False) -> dict:
    return {
        "id": ticket.pk,
        "customer_id": ticket.customer.external_id,
        "customer_name": ticket.customer.name,
        "channel": ticket.channel,
        "status": ticket.status,
        "priority": ticket.priority,
        "subject": ticket.subject,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "assigned_to": ticket.assignee_id,
        "team_id": ticket.team_id,
        "tags": _tag_names(ticket),
        "message_count": ticket.message_count,
        "last_message_preview": ticket.last_message_preview,
        "last_message_at": ticket.last_message_at,
        "last_message_from_agent": ticket.last_message_from_agent,
        "matches_topic_alert": matches_topic_alert,
        "smart_score": float(ticket.smart_score),
        "escalation_level": ticket.escalation_level,
        "first_response_at": ticket.first_response_at,
    }


def message_item(message: Message) -> dict:
    return {
        "id": message.pk,
        "ticket_id": message.ticket_id,
        "from_agent": message.from_agent,
        "content": message.content,
        "created_at": message.created_at,
        "author_name": message.author_name or None,
        "author_email": message.author_email or None,
        "channel": message.channel,
        "sent_to_customer": message.sent_to_customer,
        "delivery_status": message.delivery_status or None,
        "delivery_error": message.delivery_error or None,
        "attachments": message.attachments or [],
    }


def note_item(note: Message) -> dict:
    return {
        "id": note.pk,
        "ticket_id": note.ticket_id,
        "content": note.content,
        "created_at": note.created_at,
        "author_name": note.author_name,
        # The client's free label (e.g. "agent-1"); the authenticated author is separate.
        "author_id": note.author_label
        or (str(note.author_agent_id) if note.author_agent_id else ""),
        "author_agent_id": note.author_agent_id,
    }


def score_breakdown(ticket: Ticket) -> dict:
    breakdown = ticket.score_breakdown or {}
    return {
        "ticket_id": ticket.pk,
        "smart_score": float(ticket.smart_score),
        "components": breakdown.get("components", []),
        "reason": breakdown.get("reason"),
        "computed_at": breakdown.get("computed_at"),
    }


def ticket_detail(ticket: Ticket, *, messages: list[Message]) -> dict:
    public = [m for m in messages if not m.is_internal]
    notes = [m for m in messages if m.is_internal]
    return {
        **ticket_list_item(ticket),
        "customer": customer_item(ticket.customer),
        "messages": [message_item(m) for m in public],
        "notes": [note_item(n) for n in notes],
        "score_breakdown": score_breakdown(ticket),
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "source": ticket.source,
        "external_id": ticket.external_id or None,
        "satisfaction": satisfaction_item(getattr(ticket, "satisfaction", None)),
        # customer_profile and ai_recommendation are added by the intelligence app when
        # something is known; absent otherwise (the frontend then shows "no profile").
        "ai_draft_response": None,
    }


def satisfaction_item(satisfaction: Satisfaction | None) -> dict | None:
    """The customer's CSAT rating, or None when the ticket was not rated."""
    if satisfaction is None:
        return None
    return {
        "rating": satisfaction.rating,
        "comment": satisfaction.comment,
        "rated_at": satisfaction.rated_at,
    }


def customer_item(customer: Customer, *, tickets_count: int | None = None) -> dict:
    item = {
        "customer_id": customer.external_id,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "tier": customer.tier,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }
    count = tickets_count if tickets_count is not None else getattr(customer, "tickets_count", None)
    if count is not None:
        item["tickets_count"] = count
    return item


def event_item(event: TicketEvent) -> dict:
    return {
        "id": event.pk,
        "kind": event.kind,
        "ticket_id": event.ticket_id,
        "actor_id": event.actor_id,
        "actor": event.actor_label,
        "payload": event.payload,
        "created_at": event.created_at,
    }


def pagination(*, page: int, limit: int, total: int) -> dict:
    total_pages = max((total + limit - 1) // limit, 1) if total else 0
    return {
        "page": page,
        "limit": limit,
        "total": total,
        "total_pages": total_pages,
        "has_next": page < total_pages,
        "has_prev": page > 1,
    }


def paged(request, queryset, *, key: str, data, default_limit: int, max_limit: int = 200):
    """The answer of a paged list: `{key: [data(row)...], "pagination": {...}}` for the
    `page` and `limit` query parameters (a bad one is a 400 naming it; a limit above
    `max_limit` is capped). Two queries: the count and the page."""
    from rest_framework import serializers
    from rest_framework.response import Response

    class PageParams(serializers.Serializer):
        page = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
        limit = serializers.IntegerField(min_value=1, default=default_limit)

    params = PageParams(data=request.query_params)
    params.is_valid(raise_exception=True)
    page, limit = params.validated_data["page"], min(params.validated_data["limit"], max_limit)
    total = queryset.count()
    rows = queryset[(page - 1) * limit : page * limit]
    return Response(
        {
            key: [data(row) for row in rows],
            "pagination": pagination(page=page, limit=limit, total=total),
        }
    )
