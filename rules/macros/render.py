"""Macro bodies: plain placeholder substitution, never a template engine.

A body may hold only these placeholders: {{customer.name}}, {{customer.first_name}},
{{ticket.number}}, {{ticket.subject}}, {{agent.name}}, {{organization.name}}. Anything
else between braces, a filter ({{ x|upper }}) or a template tag ({% ... %}) is refused
when the macro is saved. Substituted values are inserted as they are: a customer named
"{{ticket.subject}}" is not expanded again.

Fallbacks when a value is missing: customer name / first name "there" ("Hi there"),
agent name "the support team" (an automation sends it), ticket number: the first 8
characters of the ticket id (tickets have no separate human number).
"""

from __future__ import annotations

import re

from agents.exceptions import DomainError

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
PLACEHOLDERS = (
    "customer.name",
    "customer.first_name",
    "ticket.number",
    "ticket.subject",
    "agent.name",
    "organization.name",
)
TEMPLATE_SYNTAX = re.compile(r"\{%|%\}|\{#|#\}")


def placeholders_validate(body: str, *, field: str = "body") -> None:
    """A DomainError naming `field` and the first unknown placeholder or template syntax."""
    if TEMPLATE_SYNTAX.search(body or ""):
        raise DomainError(
            "Template tags and comments ({% %}, {# #}) are not allowed; "
            f"use only the placeholders {', '.join('{{' + p + '}}' for p in PLACEHOLDERS)}.",
            field=field,
        )
    for match in PLACEHOLDER.finditer(body or ""):
        if match.group(1) not in PLACEHOLDERS:
            raise DomainError(
                f"Unknown placeholder {match.group(0)}; allowed: "
                f"{', '.join('{{' + p + '}}' for p in PLACEHOLDERS)}.",
                field=field,
            )


def placeholder_values(*, ticket, agent=None) -> dict[str, str]:
    customer = ticket.customer
    name = (customer.name or "").strip()
    return {
        "customer.name": name or "there",
        "customer.first_name": name.split()[0] if name else "there",
        "ticket.number": str(ticket.pk)[:8],
        "ticket.subject": ticket.subject,
        "agent.name": (agent.get_full_name() or agent.email) if agent else "the support team",
        "organization.name": ticket.organization.name,
    }


def macro_render(*, body: str, ticket, agent=None) -> str:
    """`body` with each placeholder replaced by its value, in one pass (values are not
    scanned again)."""
    values = placeholder_values(ticket=ticket, agent=agent)
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body or "")
