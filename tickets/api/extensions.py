"""Slots through which apps to the left of `tickets` (rules, sla, intelligence) add to
the ticket API without `tickets` importing them. Each app fills its slot in
`AppConfig.ready()`; an empty slot means the feature is not installed."""

from collections.abc import Callable

from tickets.models import Ticket

# rescore(tickets, organization_id): recompute the given tickets' scores in place with the
# organization's current rules (the list's `apply_rules=true`).
_rescorers: list[Callable[[list[Ticket], object], None]] = []
# enrich(ticket, data): add keys to a ticket detail answer (e.g. the SLA block).
_detail_enrichers: list[Callable[[Ticket, dict], None]] = []


# enrich_list(tickets, items): add keys to list items, one batch per page (e.g. `sla`).
_list_enrichers: list[Callable[[list[Ticket], list[dict]], None]] = []


def list_enricher_register(fn: Callable[[list[Ticket], list[dict]], None]) -> None:
    if fn not in _list_enrichers:
        _list_enrichers.append(fn)


def ticket_list_enrich(tickets: list[Ticket], items: list[dict]) -> None:
    for fn in _list_enrichers:
        fn(tickets, items)


# list_related(): extra select_related paths for the ticket list's page query (e.g. the
# customer's kept intelligence, read by the scorer without a query per ticket).
_list_related: list[str] = []


def list_related_register(path: str) -> None:
    if path not in _list_related:
        _list_related.append(path)


def list_related() -> list[str]:
    return list(_list_related)


# detail_related(): extra select_related paths for the ticket detail's query (e.g. the
# customer's kept intelligence, which the detail shows: one join instead of a query).
_detail_related: list[str] = []


def detail_related_register(path: str) -> None:
    if path not in _detail_related:
        _detail_related.append(path)


def detail_related() -> list[str]:
    return list(_detail_related)


# detail_annotations(): extra columns for the ticket detail's query, computed in SQL (e.g.
# the newest AI recommendation: a correlated subquery instead of a query of its own).
_detail_annotations: list[Callable[[], dict]] = []


def detail_annotations_register(fn: Callable[[], dict]) -> None:
    if fn not in _detail_annotations:
        _detail_annotations.append(fn)


def detail_annotations() -> dict:
    columns: dict = {}
    for fn in _detail_annotations:
        columns.update(fn())
    return columns


def rescorer_register(fn: Callable[[list[Ticket], object], None]) -> None:
    if fn not in _rescorers:
        _rescorers.append(fn)


def detail_enricher_register(fn: Callable[[Ticket, dict], None]) -> None:
    if fn not in _detail_enrichers:
        _detail_enrichers.append(fn)


def tickets_rescore(tickets: list[Ticket], organization_id) -> None:
    for fn in _rescorers:
        fn(tickets, organization_id)


def ticket_detail_enrich(ticket: Ticket, data: dict) -> None:
    for fn in _detail_enrichers:
        fn(ticket, data)
