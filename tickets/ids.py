"""Ids from client input."""

import uuid

from agents.exceptions import DomainError


def uuid_parse(value, *, field: str, what: str) -> uuid.UUID:
    """A UUID from client input, or a 400 that says what was wrong."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise DomainError(f"{value!s:.60} is not a valid {what} id.", field=field) from None
