"""Ticket text search: PostgreSQL full-text search on the GIN-indexed expression of
migration 0003, or a substring fallback elsewhere (SQLite)."""

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.models import Func, Q, QuerySet


class TicketSearchVector(Func):
    """`to_tsvector('english', search_text)`, exactly the indexed expression."""

    function = "to_tsvector"
    template = "%(function)s('english'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()


def ticket_search(queryset: QuerySet, text: str) -> QuerySet:
    text = " ".join(text.split())[:200]
    if not text:
        return queryset
    if connection.vendor == "postgresql":
        return queryset.annotate(_search=TicketSearchVector("search_text")).filter(
            _search=SearchQuery(text, config="english", search_type="websearch")
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
