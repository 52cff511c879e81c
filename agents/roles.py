"""Roles and the Django groups they map to.

Each role is a Django group named after it; a data migration creates the groups and
their permissions, and `agent_role_sync` keeps an agent's group equal to its role.
Later apps (rules, sla) grant their models' permissions in their own data migrations.
"""

ADMIN = "admin"
MANAGER = "manager"
AGENT = "agent"
ROLE_CHOICES = [(ADMIN, "Admin"), (MANAGER, "Manager"), (AGENT, "Agent")]

# Rank used to stop anyone from granting a role above their own.
ROLE_RANK = {AGENT: 0, MANAGER: 1, ADMIN: 2}

# Group names are the role names, capitalised for the admin's group list.
GROUP_NAMES = {ADMIN: "Admins", MANAGER: "Managers", AGENT: "Agents"}


def role_group_name(role: str) -> str:
    return GROUP_NAMES[role]
