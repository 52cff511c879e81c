"""Who is calling when the caller is an organization API key rather than an agent."""

from dataclasses import dataclass

from agents import roles
from agents.models import ApiKey


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """Stands in for `request.user` on `X-API-Key` requests.

    It acts for the organization with the key's role; services record it as
    actor=None with the label `api_key:<name>` (it is not an Agent).
    """

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_superuser = False
    is_staff = False
    pk = None
    id = None

    @property
    def organization(self):
        return self.api_key.organization

    @property
    def organization_id(self):
        return self.api_key.organization_id

    @property
    def role(self) -> str:
        return self.api_key.role

    @property
    def is_manager(self) -> bool:
        return self.api_key.role in (roles.MANAGER, roles.ADMIN)

    @property
    def label(self) -> str:
        return f"api_key:{self.api_key.name}"

    def __str__(self) -> str:
        return self.label


def caller_actor(user) -> tuple:
    """(actor, actor_label) for services: the Agent, or None plus the API key's label."""
    if isinstance(user, ApiKeyPrincipal):
        return None, user.label
    return user, ""
