"""Macro bodies: plain placeholder substitution, never a template engine.

A body may hold only these placeholders: {{customer.name}}, {{customer.first_name}},
{{ticket.number}}, {{ticket.subject}}, {{agent.name}}, {{organization.name}} (spaces
inside the braces are allowed: {{ customer.name }}). Anything else between double braces,
a filter ({{ x|upper }}), a template tag or comment ({% ... %}, {# ... #}), or a stray
"{{" / "}}" (a placeholder left unclosed, "Hi {{customer.name}") is refused when the
macro is saved, so a customer never receives template syntax. Rendering is one regular
expression pass: substituted values are inserted as they are, never scanned again (a
customer named "{{ticket.subject}}" stays that literal text).

Values and their fallbacks when missing (blank):
- customer.name: the customer's name; "there" ("Hi there").
- customer.first_name: the first word of the customer's name; "there".
- ticket.number: the first 8 characters of the ticket id (tickets have no separate human
  number; the same short id the inbox shows), e.g. "3f2a9c1e".
- ticket.subject: the ticket's subject; "your request".
- agent.name: the applying agent's name, else their email; "the support team" when no
  agent applies it (an automation, an API key).
- organization.name: the organization's name; "our team".
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
FALLBACKS = {
    "customer.name": "there",
    "customer.first_name": "there",
    "ticket.subject": "your request",
    "agent.name": "the support team",
    "organization.name": "our team",
}
TEMPLATE_SYNTAX = re.compile(r"\{%|%\}|\{#|#\}")
ALLOWED = ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)


def placeholders_validate(body: str, *, field: str = "body") -> None:
    """Raise a DomainError naming `field` (and every unknown placeholder) unless `body`
    holds only the known placeholders and no other template syntax."""
    body = body or ""
    if TEMPLATE_SYNTAX.search(body):
        raise DomainError(
            f"Template tags and comments ({{% %}}, {{# #}}) are not allowed; use only {ALLOWED}.",
            field=field,
        )
    unknown = []
    for match in PLACEHOLDER.finditer(body):
        if match.group(1) not in PLACEHOLDERS and match.group(0) not in unknown:
            unknown.append(match.group(0))
    if unknown:
        raise DomainError(
            f"Unknown placeholder{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"allowed: {ALLOWED} (no filters or expressions).",
            field=field,
        )
    rest = PLACEHOLDER.sub("", body)
    if "{{" in rest or "}}" in rest:
        raise DomainError(
            f"An unclosed or stray '{{{{' or '}}}}'; placeholders are written {ALLOWED}.",
            field=field,
        )


def placeholder_values(*, ticket, agent=None) -> dict[str, str]:
    """Each placeholder's value for `ticket` (with its customer and organization) and
    the applying `agent`, blank values replaced by their FALLBACKS."""
    name = " ".join((ticket.customer.name or "").split())
    values = {
        "customer.name": name,
        "customer.first_name": name.split(" ")[0] if name else "",
        "ticket.number": str(ticket.pk)[:8],
        "ticket.subject": (ticket.subject or "").strip(),
        "agent.name": (agent.get_full_name() or "").strip() if agent is not None else "",
        "organization.name": (ticket.organization.name or "").strip(),
    }
    return {key: value or FALLBACKS.get(key, "") for key, value in values.items()}


def macro_render(*, body: str, ticket, agent=None) -> str:
    """`body` with each placeholder replaced by its value for `ticket` and `agent`
    (None: an automation), in one pass: values are never expanded again. A body is
    validated when saved; an unknown placeholder met here anyway is left as written."""
    values = placeholder_values(ticket=ticket, agent=agent)
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body or "")
