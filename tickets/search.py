"""Ticket text search: PostgreSQL full-text search on the stored, GIN-indexed
`search_vector` column (migration 0009), or a substring fallback elsewhere (SQLite)."""

from django.contrib.postgres.search import SearchQuery, SearchVectorExact, SearchVectorField
from django.db import connection
from django.db.models import Expression, Q, QuerySet


class TicketSearchVector(Expression):
    """The stored `search_vector` column (PostgreSQL only, added by migration 0009:
    generated from search_text, GIN-indexed). Not a model field: nothing selects it."""

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        return f"{compiler.quote_name_unless_alias('tickets_ticket')}.search_vector", []


def ticket_search(queryset: QuerySet, text: str) -> QuerySet:
    text = " ".join(text.split())[:200]
    if not text:
        return queryset
    if connection.vendor == "postgresql":
        # A boolean expression, not an annotation: nothing extra in the SELECT list, so
        # counts and pages only evaluate it through the GIN index.
        return queryset.filter(
            SearchVectorExact(
                TicketSearchVector(),
                SearchQuery(text, config="english", search_type="websearch"),
            )
        )
    condition = Q()
    for word in text.lower().split():
        condition &= Q(search_text__contains=word)
    return queryset.filter(condition)


def topic_alert_condition(words: list[str]) -> Q:
    """Tickets whose subject or messages mention any of the words (case-insensitive)."""
    condition = Q()
    for word in words:
        condition |= Q(search_text__contains=word.lower())
    return condition


def topic_words_parse(raw: str | None) -> list[str]:
    """The list's `topic_alerts` (a comma list): trimmed, lower-cased, unique, at most 20."""
    words = [w.strip().lower() for w in (raw or "").split(",")]
    return list(dict.fromkeys(w for w in words if w))[:20]
