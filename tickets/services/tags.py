"""Tags: resolved by name, created on first use."""

from collections.abc import Iterable

from agents.exceptions import DomainError
from tickets.models import Tag
from tickets.services.common import TAG_MAX_LENGTH


def tags_resolve(*, organization_id, names: Iterable[str]) -> list[Tag]:
    """Tags by name (trimmed, lower-cased), created if new, in one or two queries."""
    cleaned = []
    for name in names:
        if not isinstance(name, str):
            raise DomainError("Tags are strings.", field="tags")
        tag = name.strip().lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX_LENGTH:
            raise DomainError(f"Tag {tag[:20]!r}… is longer than {TAG_MAX_LENGTH}.", field="tags")
        if tag not in cleaned:
            cleaned.append(tag)
    if not cleaned:
        return []
    existing = {
        t.name: t for t in Tag.objects.filter(organization_id=organization_id, name__in=cleaned)
    }
    missing = [Tag(organization_id=organization_id, name=n) for n in cleaned if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {
            t.name: t for t in Tag.objects.filter(organization_id=organization_id, name__in=cleaned)
        }
    return [existing[n] for n in cleaned]
