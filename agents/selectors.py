"""Read queries for agents and credentials."""

from agents.keys import key_hash
from agents.models import Agent, AgentToken, ApiKey


def api_key_get_active(*, raw: str) -> ApiKey | None:
    return (
        ApiKey.objects.select_related("organization")
        .filter(key_hash=key_hash(raw), revoked_at__isnull=True)
        .first()
    )


def agent_token_get_active(*, raw: str) -> AgentToken | None:
    return (
        AgentToken.objects.select_related("agent", "agent__organization")
        .filter(key_hash=key_hash(raw), revoked_at__isnull=True, agent__is_active=True)
        .first()
    )


def agent_list_for_organization(*, organization_id) -> "list[Agent]":
    return Agent.objects.filter(organization_id=organization_id, is_active=True).order_by("name")
