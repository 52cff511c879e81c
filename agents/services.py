"""Every write to agents, organizations and credentials."""

import secrets
from datetime import datetime

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents import roles
from agents.exceptions import Conflict, DomainError
from agents.keys import key_display_prefix, key_generate, key_hash
from agents.models import Agent, AgentToken, ApiKey, Organization, Skill, Team
from agents.signals import agent_availability_changed


def agent_role_sync(*, agent: Agent) -> None:
    """Make the agent's role group its only role group (custom groups are kept)."""
    role_groups = Group.objects.filter(name__in=roles.GROUP_NAMES.values())
    agent.groups.remove(*[g for g in role_groups if g.name != roles.role_group_name(agent.role)])
    group = next((g for g in role_groups if g.name == roles.role_group_name(agent.role)), None)
    if group is None:  # the data migration creates them; recreate if someone deleted one
        group, _ = Group.objects.get_or_create(name=roles.role_group_name(agent.role))
    agent.groups.add(group)


@transaction.atomic
def agent_create(
    *,
    organization: Organization | None,
    email: str,
    password: str | None,
    name: str = "",
    role: str = roles.AGENT,
    actor: Agent | None,
    **fields,
) -> Agent:
    """Create an agent with a usable password (or none) and put it in its role's group."""
    if role not in roles.ROLE_RANK:
        raise DomainError(f"Unknown role {role!r}; use one of {sorted(roles.ROLE_RANK)}.")
    email = email.strip().lower()
    if Agent.objects.filter(email__iexact=email).exists():
        raise Conflict(f"An agent with email {email} already exists.", field="email")
    agent = Agent(organization=organization, email=email, name=name, role=role, **fields)
    agent.set_password(password)
    agent._history_user = actor
    try:
        agent.save()
    except IntegrityError as exc:
        raise Conflict(f"Could not create agent {email}: {exc}") from exc
    agent_role_sync(agent=agent)
    return agent


@transaction.atomic
def organization_create(
    *, slug: str, name: str, admin_email: str, admin_name: str = "", timezone: str = "UTC"
) -> tuple[Organization, Agent, str]:
    """A new tenant and its first admin, with a generated password (returned once)."""
    slug = slug.strip().lower()
    try:
        validate_slug(slug)
    except ValidationError:
        raise DomainError(
            f"{slug!r} is not a valid slug: use letters, digits, '-' and '_'.", field="slug"
        ) from None
    try:
        validate_email(admin_email.strip())
    except ValidationError:
        raise DomainError(f"{admin_email!r} is not an email address.", field="admin") from None
    if not name.strip():
        raise DomainError("The organization needs a name.", field="name")
    if Organization.objects.filter(slug=slug).exists():
        raise Conflict(f"An organization with slug {slug!r} already exists.", field="slug")
    organization = Organization(slug=slug, name=name.strip(), timezone=timezone)
    try:
        organization.full_clean()
    except ValidationError as exc:
        raise DomainError("; ".join(exc.messages)) from None
    organization.save()
    password = secrets.token_urlsafe(18)
    agent = agent_create(
        organization=organization,
        email=admin_email,
        password=password,
        name=admin_name,
        role=roles.ADMIN,
        actor=None,
    )
    return organization, agent, password


@transaction.atomic
def api_key_create(
    *, organization: Organization, name: str, role: str = roles.AGENT, actor: Agent | None
) -> tuple[ApiKey, str]:
    """Create an API key; returns the row and the raw key, which is never stored."""
    if role not in (roles.AGENT, roles.MANAGER):
        raise DomainError("An API key's role is 'agent' or 'manager'.", field="role")
    if not name.strip():
        raise DomainError("An API key needs a name.", field="name")
    raw = key_generate("qsk")
    key = ApiKey.objects.create(
        organization=organization,
        name=name.strip(),
        role=role,
        prefix=key_display_prefix(raw),
        key_hash=key_hash(raw),
        created_by=actor,
    )
    return key, raw


def api_key_revoke(*, api_key: ApiKey, actor: Agent | None) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def agent_token_create(*, agent: Agent, name: str = "") -> tuple[AgentToken, str]:
    """Issue a personal token; returns the row and the raw token, shown once."""
    raw = key_generate("qat")
    token = AgentToken.objects.create(
        agent=agent, name=name, prefix=key_display_prefix(raw), key_hash=key_hash(raw)
    )
    return token, raw


def agent_token_revoke(*, token: AgentToken) -> AgentToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


#: Seconds between two writes of a credential's last_used_at.
CREDENTIAL_TOUCH_SECONDS = 300
# When this process last wrote each credential's last_used_at, by (model label, pk). A
# credential served from the cache (agents/credential_cache.py) carries the last_used_at
# it was cached with, which may be older than five minutes while the row is not: without
# this note every cached request would write again. Cleared whole when it grows large.
_touched_at: dict[tuple[str, object], datetime] = {}
_TOUCHED_AT_MAX = 10_000


def credential_touch(*, credential: ApiKey | AgentToken) -> None:
    """Record use at most every five minutes (per process), so authentication rarely
    costs a write, whether the credential was read from the database or the cache."""
    now = timezone.now()
    note = (credential._meta.label, credential.pk)
    times = [t for t in (credential.last_used_at, _touched_at.get(note)) if t is not None]
    if times and (now - max(times)).total_seconds() <= CREDENTIAL_TOUCH_SECONDS:
        return
    type(credential).objects.filter(pk=credential.pk).update(last_used_at=now)
    credential.last_used_at = now
    if len(_touched_at) >= _TOUCHED_AT_MAX:
        _touched_at.clear()
    _touched_at[note] = now


@transaction.atomic
def agent_availability_set(*, agent: Agent, availability: str, actor: Agent | None) -> Agent:
    """Set whether the agent takes work now (available, away, offline)."""
    if availability not in Agent.Availability.values:
        raise DomainError(
            f"Unknown availability {availability!r}; allowed values: "
            f"{', '.join(Agent.Availability.values)}.",
            field="availability",
        )
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    previous = agent.availability
    if previous != availability:
        agent.availability = availability
        agent._history_user = actor
        agent._change_reason = "availability"
        agent.save(update_fields=["availability"])
        agent_availability_changed.send(
            sender=Agent, agent=agent, previous=previous, current=availability, actor=actor
        )
    return agent


# --- Agent management (the API's invite and edit) --------------------------------------


#: DomainError.code of a rank rule: the API answers 403 with the detail.
FORBIDDEN = "forbidden"


def role_grantable(*, caller_role: str, role: str) -> bool:
    """Whether a caller of `caller_role` may give `role` (nobody grants above their own)."""
    return roles.ROLE_RANK.get(role, 99) <= roles.ROLE_RANK.get(caller_role, -1)


def _rows_of_organization(model, organization_id, ids, *, field: str, what: str) -> list:
    """The organization's rows with these ids, or a DomainError naming `field`."""
    wanted = list(dict.fromkeys(ids or []))
    rows = list(model.objects.filter(organization_id=organization_id, pk__in=wanted))
    missing = [str(pk) for pk in wanted if pk not in {row.pk for row in rows}]
    if missing:
        raise DomainError(f"No {what} {', '.join(missing[:5])} in this organization.", field=field)
    return rows


def _capacity_check(capacity) -> None:
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= 500:
        raise DomainError("capacity is a whole number from 0 to 500.", field="capacity")


@transaction.atomic
def agent_invite(
    *,
    organization: Organization,
    email: str,
    name: str = "",
    role: str = roles.AGENT,
    capacity: int = 10,
    skill_ids=(),
    team_ids=(),
    caller_role: str,
    actor: Agent | None,
) -> tuple[Agent, str]:
    """Add an agent to `organization` with a generated password, returned once.

    `caller_role` is the inviting agent's (or API key's) role: nobody invites above it.
    Skills and teams must be the organization's (DomainError naming skill_ids/team_ids).
    """
    if role not in roles.ROLE_RANK:
        raise DomainError(f"Unknown role {role!r}; use one of {sorted(roles.ROLE_RANK)}.")
    if not role_grantable(caller_role=caller_role, role=role):
        raise DomainError(f"A {caller_role} cannot invite an {role}.", field="role", code=FORBIDDEN)
    _capacity_check(capacity)
    skills = _rows_of_organization(
        Skill, organization.pk, skill_ids, field="skill_ids", what="skill"
    )
    teams = _rows_of_organization(Team, organization.pk, team_ids, field="team_ids", what="team")
    password = secrets.token_urlsafe(18)
    agent = agent_create(
        organization=organization,
        email=email,
        password=password,
        name=name.strip(),
        role=role,
        capacity=capacity,
        actor=actor,
    )
    agent.skills.set(skills)
    agent.teams.set(teams)
    return agent, password


_UNSET = object()


@transaction.atomic
def agent_update(
    *,
    agent: Agent,
    caller_role: str,
    actor: Agent | None,
    name: str | object = _UNSET,
    role: str | object = _UNSET,
    capacity: int | object = _UNSET,
    availability: str | object = _UNSET,
    skill_ids=_UNSET,
    team_ids=_UNSET,
    is_active: bool | object = _UNSET,
) -> Agent:
    """Change an agent of the organization; arguments left out change nothing.

    Nobody edits an agent ranked above them, grants a role above their own, changes their
    own role or deactivates themselves (DomainError naming the field). Availability goes
    through `agent_availability_set` (routing listens); a deactivated agent goes offline.
    """
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    caller_rank = roles.ROLE_RANK.get(caller_role, -1)
    if agent.is_superuser or roles.ROLE_RANK[agent.role] > caller_rank:
        raise DomainError(
            f"A {caller_role} cannot change an {agent.role}.", field="role", code=FORBIDDEN
        )
    is_self = actor is not None and actor.pk == agent.pk
    fields = []
    if name is not _UNSET and name != agent.name:
        agent.name = str(name).strip()
        fields.append("name")
    if role is not _UNSET and role != agent.role:
        if role not in roles.ROLE_RANK:
            raise DomainError(
                f"Unknown role {role!r}; use one of {sorted(roles.ROLE_RANK)}.", field="role"
            )
        if is_self:
            raise DomainError("Nobody can change their own role.", field="role", code=FORBIDDEN)
        if not role_grantable(caller_role=caller_role, role=role):
            raise DomainError(
                f"A {caller_role} cannot make anyone an {role}.", field="role", code=FORBIDDEN
            )
        agent.role = role
        fields.append("role")
    if capacity is not _UNSET and capacity != agent.capacity:
        _capacity_check(capacity)
        agent.capacity = capacity
        fields.append("capacity")
    if is_active is not _UNSET and is_active != agent.is_active:
        if is_self and not is_active:
            raise DomainError("You cannot deactivate yourself.", field="is_active", code=FORBIDDEN)
        agent.is_active = bool(is_active)
        fields.append("is_active")
    skills = teams = None
    if skill_ids is not _UNSET:
        skills = _rows_of_organization(
            Skill, agent.organization_id, skill_ids, field="skill_ids", what="skill"
        )
    if team_ids is not _UNSET:
        teams = _rows_of_organization(
            Team, agent.organization_id, team_ids, field="team_ids", what="team"
        )
    if fields:
        agent._history_user = actor
        agent._change_reason = "updated " + ", ".join(fields)
        agent.save(update_fields=fields)
    if "role" in fields:
        agent_role_sync(agent=agent)
    if skills is not None:
        agent.skills.set(skills)
    if teams is not None:
        agent.teams.set(teams)
    if not agent.is_active:
        availability = Agent.Availability.OFFLINE  # an inactive agent takes no work
    if availability is not _UNSET:
        agent = agent_availability_set(agent=agent, availability=availability, actor=actor)
    return agent
