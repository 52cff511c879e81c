"""Read queries for tickets, messages, customers and events, scoped to an organization:
including the inbox page (filters, ordering, keyset cursor, bounded count, topic alerts)
and the agent or team an edit names."""

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Case, Count, F, IntegerField, QuerySet, Value, When

from agents.exceptions import DomainError, NotFound
from agents.models import Agent, Team
from tickets.filters import (
    CustomerFilterSet,
    TicketEventFilterSet,
    TicketFilterSet,
    filterset_apply,
)
from tickets.ids import uuid_parse
from tickets.models import Customer, Message, Satisfaction, Ticket, TicketEvent
from tickets.pagination import (
    KEYSET_ORDERINGS,
    bounded_count,
    cursor_decode,
    cursor_encode,
    filter_count_cap,
    keyset_after,
    keyset_values,
    queue_count,
)
from tickets.search import topic_alert_condition

__all__ = [
    "TicketPage",
    "assignee_resolve",
    "customer_get_for_organization",
    "customer_list_for_organization",
    "satisfaction_history",
    "team_resolve",
    "ticket_events",
    "ticket_get_for_organization",
    "ticket_list_for_organization",
    "ticket_messages",
    "ticket_page_for_organization",
    "uuid_parse",
]

NULLABLE_SORTS = {"sla_due_at", "last_message_at"}
# The filters of the inbox queues (organization x status x assignee x team): their counts
# are cached for a few seconds (pagination.queue_count); any other filter is counted
# bounded on each request.
QUEUE_FILTERS = {"status", "assigned_to", "team"}
# Columns a list page never shows, left in the database unless the page is rescored.
LIST_DEFERRED = ("search_text", "score_breakdown", "customer__external_refs")
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


def ticket_list_for_organization(*, organization_id) -> QuerySet[Ticket]:
    return (
        Ticket.objects.filter(organization_id=organization_id)
        .select_related("customer")
        .prefetch_related("tags")
    )


# What a list page shows (tickets.api.representations.ticket_list_item and the list's
# enrichers), read with values() when the page is not rescored.
LIST_COLUMNS = (
    "id",
    "subject",
    "status",
    "priority",
    "channel",
    "created_at",
    "updated_at",
    "assignee_id",
    "team_id",
    "tag_names",
    "message_count",
    "last_message_preview",
    "last_message_at",
    "last_message_from_agent",
    "smart_score",
    "escalation_level",
    "first_response_at",
    "sla_status",
    "sla_due_at",
    "customer_id",
    "customer__external_id",
    "customer__name",
)


class CustomerRef:
    __slots__ = ("external_id", "name")

    def __init__(self, external_id, name):
        self.external_id, self.name = external_id, name


class TicketRow:
    """A list page's ticket as plain attributes from a values() row: the columns of
    LIST_COLUMNS (and the page's annotations), `pk` and `customer` (external_id, name),
    so the list's representation reads it as it reads a Ticket."""

    def __init__(self, row: dict):
        self.customer = CustomerRef(row.pop("customer__external_id"), row.pop("customer__name"))
        self.__dict__.update(row)
        self.pk = row["id"]


@dataclass
class TicketPage:
    """One page of the inbox and what its envelope reports."""

    tickets: list  # TicketRow, or Ticket when the page is rescored
    total: int  # see pagination.queue_count / bounded_count; total_is_estimate past a cap
    total_is_estimate: bool
    matches: int  # tickets matching the topic alerts, over the whole filtered list
    has_more: bool
    next_cursor: str | None
    filters_applied: dict


def _ordering(sort: str, order: str, smart: bool) -> list:
    if smart:
        return ["-smart_score", "-created_at", "-id"]
    field = "priority_rank" if sort == "priority" else sort
    if field in NULLABLE_SORTS:  # tickets without a value go last, either way
        first = F(field).desc(nulls_last=True) if order == "desc" else F(field).asc(nulls_last=True)
    else:  # plain ordering, so PostgreSQL walks the matching index
        first = f"-{field}" if order == "desc" else field
    if order == "desc":
        return [first, "-created_at", "-id"]
    return [first, "created_at", "id"]


# Compiled page statements on PostgreSQL, per process: {inputs: (sql, params, columns)}.
_PAGE_STATEMENTS: dict = {}
PAGE_STATEMENTS_MAX = 512


def _page_rows(
    page_qs: Callable[[], QuerySet], statement_key: tuple | None, offset: int, limit: int
) -> list:
    """The page's rows (TicketRow) of LIST_COLUMNS and the page's annotations; `page_qs`
    builds the page's queryset.

    On PostgreSQL the statement is compiled once per `statement_key` (everything the SQL
    is made of: the organization, the filter values, the caller where `me` is one, the
    ordering and the slice) and run as it is afterwards, without building the queryset:
    building and compiling the ORM query cost more than PostgreSQL's execution of it.
    None: compiled each time."""
    statement = _PAGE_STATEMENTS.get(statement_key) if statement_key is not None else None
    if statement is None:
        queryset = page_qs()
        names = [*LIST_COLUMNS, *queryset.query.annotations]
        db = connections[queryset.db]
        values = queryset.values(*names)[offset : offset + limit + 1]
        if statement_key is None or db.vendor != "postgresql":
            return [TicketRow(row) for row in values]
        sql, params = values.query.sql_with_params()
        if len(_PAGE_STATEMENTS) >= PAGE_STATEMENTS_MAX:
            _PAGE_STATEMENTS.clear()
        statement = _PAGE_STATEMENTS[statement_key] = (sql, params, names)
    sql, params, names = statement
    # The database this read goes to now (the replica in replica_reads(), unless inside a
    # transaction), not where the statement was first compiled: the SQL is the same.
    with connections[router.db_for_read(Ticket)].cursor() as cur:
        cur.execute(sql, params)
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in rows:  # the one JSON column: Django reads jsonb as text and parses it
        if isinstance(row["tag_names"], str):
            row["tag_names"] = json.loads(row["tag_names"])
    return [TicketRow(row) for row in rows]


# What each set of filter parameters cleans to, per process: {(parameters, the caller is
# an agent): applied}. Cleaning reads the parameters alone (and, for `me`, whether the
# caller is an agent), never the database; so a page whose count and statement are
# cached builds no filter set and no queryset at all.
_FILTERS_APPLIED: dict = {}
FILTERS_APPLIED_MAX = 512


def _filters_applied(organization_id, filters: Mapping, user) -> tuple[dict, Callable]:
    """(the filters applied, a function that builds the filtered queryset once, on first
    call). A bad value is a DomainError naming the parameter, as filterset_apply's."""
    built: list = []

    def filtered() -> QuerySet:
        if not built:
            built.extend(
                filterset_apply(
                    TicketFilterSet,
                    filters,
                    ticket_list_for_organization(organization_id=organization_id).prefetch_related(
                        None
                    ),
                    user=user,
                )  # fmt: skip
            )
        return built[0]

    lists = filters.lists() if hasattr(filters, "lists") else ((k, [v]) for k, v in filters.items())
    names = TicketFilterSet.base_filters
    key = (
        tuple(sorted((k, tuple(v)) for k, v in lists if k in names)),
        getattr(user, "pk", None) is not None,
    )
    applied = _FILTERS_APPLIED.get(key)
    if applied is None:
        filtered()
        applied = built[1]
        if len(_FILTERS_APPLIED) >= FILTERS_APPLIED_MAX:
            _FILTERS_APPLIED.clear()
        _FILTERS_APPLIED[key] = applied
    return dict(applied), filtered


def _filter_inputs(organization_id, applied: dict, user) -> tuple:
    """What a filtered list's SQL is made of: the organization, the cleaned filter values
    (repr: exact), and the caller when `assigned_to=me` is one. It names an inbox queue's
    count (pagination.queue_count) and, with the ordering and slice, a page's statement."""
    values = tuple(sorted((name, repr(value)) for name, value in applied.items()))
    me = str(applied.get("assigned_to", "")).strip() == "me"
    return (str(organization_id), values, getattr(user, "pk", None) if me else None)


def ticket_page_for_organization(
    *,
    organization_id,
    user=None,
    filters: Mapping,
    sort: str = "created_at",
    order: str = "desc",
    smart_order: bool = False,
    page: int = 1,
    limit: int = 50,
    cursor: str | None = None,
    topic_words: list[str] | None = None,
    select_related: Iterable[str] = (),
    rescore: Callable[[list[Ticket]], None] | None = None,
) -> TicketPage:
    """A page of the organization's tickets: `filters` (TicketFilterSet's parameters),
    ordered by `sort`/`order` or the smart score, from `page` or after `cursor` (a keyset
    position, for the orderings in KEYSET_ORDERINGS).

    `user` is the caller (`assigned_to=me`); `topic_words` flag matching tickets
    (`matches_topic_alert`) and are counted; `select_related` adds paths to the page query
    (apps' list extensions); `rescore` recomputes the page's scores in place, and the
    page is then kept in their order when ranked by score. A cursor with another ordering
    is a DomainError naming `cursor`. Queries: the count, the page, its tags.
    """
    applied, filtered = _filters_applied(organization_id, filters, user)
    topic = topic_alert_condition(topic_words) if topic_words else None

    def annotated() -> QuerySet:
        queryset = filtered()
        if sort == "priority" and not smart_order:
            queryset = queryset.annotate(
                priority_rank=Case(
                    *[When(priority=k, then=Value(v)) for k, v in PRIORITY_RANK.items()],
                    output_field=IntegerField(),
                )
            )
        if topic:
            queryset = queryset.annotate(
                matches_topic_alert=Case(When(topic, then=Value(True)), default=Value(False))
            )
        return queryset

    # The envelope's count (see tickets/pagination.py): an inbox queue's from the cache,
    # refreshed every few seconds; any other filtering's bounded at API_FILTER_COUNT_CAP
    # rows (an estimate beyond), with the topic-alert matches, in one query.
    if topic is None and set(applied) <= QUEUE_FILTERS:
        (total, estimated), matches = (
            queue_count(annotated, ("tickets", *_filter_inputs(organization_id, applied, user))),
            0,
        )
    else:
        total, matches, estimated = bounded_count(annotated(), topic, cap=filter_count_cap())
    keyset = KEYSET_ORDERINGS.get(("smart", "desc") if smart_order else (sort, order))
    offset = (page - 1) * limit
    position = None
    if cursor:
        if keyset is None:
            raise DomainError(
                "cursor works with sort=created_at, updated_at or smart_score, or "
                "smart_order=true.",
                field="cursor",
            )
        position = cursor_decode(cursor, keyset)
        offset = 0
    related = list(select_related)

    def page_qs() -> QuerySet:
        queryset = annotated()
        if position is not None:
            queryset = keyset_after(queryset, keyset, position)
        if related:
            queryset = queryset.select_related(*related)
        return queryset.order_by(*_ordering(sort, order, smart_order))

    if rescore is None and not related:
        # Plain rows of what the page shows: no model instances, no search text.
        statement = None
        if not cursor and topic is None:  # same inputs, same statement: compiled once
            inputs = _filter_inputs(organization_id, applied, user)
            statement = (*inputs, sort, order, smart_order, offset, limit)
        rows = _page_rows(page_qs, statement, offset, limit)
    else:  # model instances, for the scorer (which reads the search text, for one)
        queryset = page_qs()
        if rescore is None:
            queryset = queryset.defer(*LIST_DEFERRED)
        rows = list(queryset[offset : offset + limit + 1])
    tickets, has_more = rows[:limit], len(rows) > limit
    # The position after the last row, even on the last page: a client following the
    # change feed (sort=updated_at&order=asc) keeps it and asks again later.
    next_cursor = None
    if keyset:
        next_cursor = (
            cursor_encode(keyset_values(tickets[-1], keyset)) if tickets else cursor
        ) or None
    if rescore is not None and tickets:
        rescore(tickets)
        # The page shows fresh scores: keep it in their order when ranking by score
        # (ties newest first, as in the database ordering).
        if smart_order or sort == "smart_score":
            descending = smart_order or order == "desc"
            tickets.sort(key=lambda t: (t.smart_score, t.created_at), reverse=descending)
    return TicketPage(
        tickets=tickets,
        total=total,
        total_is_estimate=estimated,
        matches=matches,
        has_more=has_more,
        next_cursor=next_cursor,
        filters_applied=applied,
    )


def ticket_get_for_organization(
    *,
    organization_id,
    ticket_id,
    for_update=False,
    related: Iterable[str] = (),
    annotations: dict | None = None,
) -> Ticket:
    """The organization's ticket (NotFound otherwise), with its customer, assignee, team
    and CSAT rating joined, and `related` paths and `annotations` columns (apps' detail
    extensions)."""
    pk = uuid_parse(ticket_id, field="ticket_id", what="ticket")
    tickets = (
        # The CSAT rating rides along (a one-to-one join): the detail shows it.
        Ticket.objects.select_related("customer", "assignee", "team", "satisfaction", *related)
    )
    if annotations:
        tickets = tickets.annotate(**annotations)
    ticket = tickets.filter(organization_id=organization_id, pk=pk).first()
    if ticket is None:
        raise NotFound(f"Ticket {pk} not found.")
    return ticket


def ticket_messages(*, ticket: Ticket, internal: bool | None = None) -> QuerySet[Message]:
    messages = Message.objects.filter(ticket=ticket).order_by("created_at", "id")
    if internal is not None:
        messages = messages.filter(is_internal=internal)
    return messages


def ticket_events(*, ticket: Ticket, filters: Mapping | None = None) -> QuerySet[TicketEvent]:
    """The ticket's events, newest first; `filters` are TicketEventFilterSet's (kind,
    created_after, created_before)."""
    events = TicketEvent.objects.filter(ticket=ticket).order_by("-created_at", "-id")
    if filters is not None:
        events, _ = filterset_apply(TicketEventFilterSet, filters, events)
    return events


def assignee_resolve(*, organization_id, value: str | None, caller: Agent | None) -> Agent | None:
    """The agent a client names for `assigned_to`: None, "" or "none" is nobody, "me" is
    the calling agent (an API key is no agent), else the id of an active agent of the
    organization. Anything else is a DomainError naming `assigned_to`."""
    if value is None or value.strip() in ("", "none"):
        return None
    if value == "me":
        if not isinstance(caller, Agent):
            raise DomainError("'me' needs an agent login, not an API key.", field="assigned_to")
        return caller
    pk = uuid_parse(value, field="assigned_to", what="agent")
    agent = Agent.objects.filter(pk=pk, organization_id=organization_id, is_active=True).first()
    if agent is None:
        raise DomainError(f"No active agent {pk} in this organization.", field="assigned_to")
    return agent


def team_resolve(*, organization_id, team_id, field: str = "team") -> Team | None:
    """The organization's team with this id (None is no team), or a DomainError naming
    `field`."""
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id, organization_id=organization_id).first()
    if team is None:
        raise DomainError(f"No team {team_id} in this organization.", field=field)
    return team


def customer_list_for_organization(
    *, organization_id, filters: Mapping | None = None
) -> QuerySet[Customer]:
    """The organization's customers with their ticket counts, by name; `filters` are
    CustomerFilterSet's (tier, q)."""
    customers = (
        Customer.objects.filter(organization_id=organization_id)
        .annotate(tickets_count=Count("tickets"))
        .order_by("name", "external_id")
    )
    if filters is not None:
        customers, _ = filterset_apply(CustomerFilterSet, filters, customers)
    return customers


def customer_get_for_organization(*, organization_id, customer_id: str) -> Customer:
    customer = (
        Customer.objects.filter(organization_id=organization_id, external_id=customer_id)
        .annotate(tickets_count=Count("tickets"))
        .first()
    )
    if customer is None:
        raise NotFound(f"Customer {customer_id!s:.60} not found.")
    return customer


def satisfaction_history(*, ticket: Ticket, limit: int = 50) -> list:
    """The ticket's CSAT ratings as recorded over time, newest first (history rows, which
    carry rating, comment and rated_at); empty when it was never rated."""
    return list(
        Satisfaction.history.filter(ticket_id=ticket.pk)
        .exclude(history_type="-")
        .order_by("-history_date", "-history_id")[:limit]
    )
