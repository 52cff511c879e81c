"""Running an import: full or incremental, page by page, for one account.

The lock: a run is a `SyncRun` row, and at most one per account may be `running` (a
partial unique constraint), so a beat and a manual sync never import at once; a run
whose heartbeat stopped SYNC_STALE_MINUTES ago (a killed process) is marked abandoned
and no longer holds it. Each page is written and its cursor committed in one
transaction, so an interrupted run resumes at the first page not written, never
skipping one. Messages are fetched only for tickets that are new or changed, several at
a time (PROVIDER_COMMENT_FETCH_CONCURRENCY threads), within the account's request
budget; 429s wait their Retry-After.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from agents.exceptions import DomainError
from integrations.models import IntegrationAccount, SyncRun
from integrations.providers import gorgias, zendesk
from integrations.providers.http import NotFound, ProviderError
from integrations.providers.records import ExtTicket, parse_time
from integrations.providers.upsert import Counts, page_upsert, tickets_to_fetch
from integrations.secrets import SecretUnreadable, secret_open
from integrations.ssrf import url_check

logger = logging.getLogger(__name__)
# Gorgias has no "updated since" filter: an incremental run walks newest first and stops
# this far before the last watermark (clock skew, late commits on their side).
GORGIAS_OVERLAP = timedelta(minutes=5)


class SyncBusy(Exception):
    """Another run holds the account's lock."""


def _release_stale(account) -> None:
    stale = timezone.now() - timedelta(minutes=settings.SYNC_STALE_MINUTES)
    SyncRun.objects.filter(
        account=account, status=SyncRun.Status.RUNNING, heartbeat_at__lt=stale
    ).update(
        status=SyncRun.Status.ABANDONED,
        finished_at=timezone.now(),
    )


def run_start(account, *, full: bool, trigger: str) -> SyncRun:
    """The run row, which is the account's lock; SyncBusy when one is running."""
    _release_stale(account)
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                organization_id=account.organization_id,
                account=account,
                full=full,
                trigger=trigger,
                cursor_start=account.sync_cursor,
            )
    except IntegrityError as exc:
        raise SyncBusy(f"A sync of {account} is already running.") from exc
    IntegrationAccount.objects.filter(pk=account.pk).update(
        last_sync_status=IntegrationAccount.SyncStatus.RUNNING
    )
    return run


def sync_account(account, *, full: bool = False, trigger: str = "manual", progress=None) -> SyncRun:
    """Run one sync to its end (or first unrecoverable error) and return its row."""
    run = run_start(account, full=full, trigger=trigger)
    return sync_execute(account, run, progress=progress)


def sync_execute(account, run: SyncRun, progress=None) -> SyncRun:
    counts = Counts()
    status, error = SyncRun.Status.OK, ""
    try:
        secret = secret_open(account.api_secret)
        if account.base_url:
            url_check(account.base_url)  # again at run time: DNS may have changed
        if account.provider == "zendesk":
            _zendesk(account, run, secret, counts, progress)
        else:
            _gorgias(account, run, secret, counts, progress)
    except (ProviderError, SecretUnreadable, DomainError) as exc:
        status, error = SyncRun.Status.FAILED, str(exc)
        logger.warning("sync of %s stopped: %s", account, exc)
    except Exception as exc:
        status, error = SyncRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
        logger.exception("sync of %s failed", account)
    now = timezone.now()
    errors = [*counts.notes[:200]]
    if error:
        errors.append(error)
    run.status, run.finished_at, run.heartbeat_at = status, now, now
    run.errors = errors
    run.cursor_end = IntegrationAccount.objects.values_list("sync_cursor", flat=True).get(
        pk=account.pk
    )
    _count_into(run, counts)
    run.save()
    IntegrationAccount.objects.filter(pk=account.pk).update(
        last_sync_at=now,
        last_sync_status=(
            IntegrationAccount.SyncStatus.OK
            if status == SyncRun.Status.OK
            else IntegrationAccount.SyncStatus.FAILED
        ),
        last_sync_error=error[:2000],
    )
    return run


def _count_into(run: SyncRun, counts: Counts) -> None:
    run.created, run.updated, run.skipped = counts.created, counts.updated, counts.skipped
    run.failed, run.messages_created = counts.failed, counts.messages_created


def _commit_page(account, run, tickets: list[ExtTicket], cursor: str, counts: Counts, progress):
    """Write the page and move the cursor past it, in one transaction."""
    with transaction.atomic():
        page = page_upsert(account, tickets)
        IntegrationAccount.objects.filter(pk=account.pk).update(sync_cursor=cursor)
        counts.add(page)
        run.pages += 1
        run.heartbeat_at = timezone.now()
        _count_into(run, counts)
        run.save(
            update_fields=[
                "pages",
                "heartbeat_at",
                "created",
                "updated",
                "skipped",
                "failed",
                "messages_created",
            ]
        )
        if page.created or page.messages_created:
            IntegrationAccount.objects.filter(pk=account.pk).update(
                tickets_imported=F("tickets_imported") + page.created,
                messages_imported=F("messages_imported") + page.messages_created,
            )
    account.sync_cursor = cursor
    if progress:
        progress(run, len(tickets))


def _fetch_all(fresh: list[ExtTicket], fetch) -> None:
    """Each fresh ticket's messages, several at a time; a ticket the provider no longer
    has (404) is taken as deleted."""
    if not fresh:
        return

    def one(ticket):
        try:
            return ticket, fetch(ticket), None
        except NotFound:
            return ticket, None, "gone"
        finally:
            close_old_connections()

    threads = max(1, settings.PROVIDER_COMMENT_FETCH_CONCURRENCY)
    with ThreadPoolExecutor(max_workers=min(threads, len(fresh))) as pool:
        for ticket, messages, gone in pool.map(one, fresh):
            if gone:
                ticket.deleted = True
            else:
                ticket.messages = messages


# --- Zendesk ----------------------------------------------------------------------------


def _zendesk(account, run, secret, counts, progress) -> None:
    http = zendesk.http_for(account, secret, threads=settings.PROVIDER_COMMENT_FETCH_CONCURRENCY)
    client = zendesk.ZendeskClient(http)
    cursor = "" if run.full else account.sync_cursor
    while True:
        page = client.export_page(cursor, start_time=0)
        users = {u["id"]: u for u in page.get("users") or []}
        raws = page.get("tickets") or []
        # Requesters and assignees the page did not sideload (include=users ignored, or
        # trimmed): fetched in one show_many call per 100.
        people = {r.get(k) for r in raws for k in ("requester_id", "assignee_id")} - {None}
        if people - set(users):
            users.update({u["id"]: u for u in client.users(people - set(users))})
        tickets = [zendesk.ticket_of(raw, users) for raw in raws]
        fresh, _ = tickets_to_fetch(account, tickets)
        comments: dict[str, list] = {}

        def fetch(ticket, comments=comments):
            comments[ticket.external_id] = client.comments(ticket.external_id)
            return []

        _fetch_all(fresh, fetch)
        authors = {c.get("author_id") for cs in comments.values() for c in cs} - set(users)
        if authors:
            users.update({u["id"]: u for u in client.users(authors)})
        for ticket in fresh:
            if not ticket.deleted:
                ticket.messages = [
                    zendesk.message_of(c, users) for c in comments.get(ticket.external_id, [])
                ]
        next_cursor = page.get("after_cursor") or cursor
        _commit_page(account, run, tickets, next_cursor, counts, progress)
        if page.get("end_of_stream") or not page.get("after_cursor"):
            return
        cursor = next_cursor


# --- Gorgias ----------------------------------------------------------------------------


def _gorgias_state(account, full: bool) -> dict:
    try:
        state = json.loads(account.sync_cursor or "{}")
    except ValueError:
        state = {}
    if full:
        state = {"watermark": state.get("watermark", "")}
    return state


def _gorgias(account, run, secret, counts, progress) -> None:
    """A full run (or the first) walks every ticket oldest change first, resumable by its
    saved list cursor; later runs walk newest first down to the watermark (the latest
    change seen, less GORGIAS_OVERLAP)."""
    http = gorgias.http_for(account, secret, threads=settings.PROVIDER_COMMENT_FETCH_CONCURRENCY)
    client = gorgias.GorgiasClient(http)
    state = _gorgias_state(account, run.full)
    watermark = state.get("watermark", "")
    walking_all = run.full or not watermark or state.get("full_cursor") is not None
    order = "updated_datetime:asc" if walking_all else "updated_datetime:desc"
    cursor = (state.get("full_cursor") or "") if walking_all else ""
    floor = None
    if not walking_all:
        floor = parse_time(watermark) - GORGIAS_OVERLAP
    newest = watermark
    while True:
        page = client.tickets_page(cursor, order)
        raws = page.get("data") or []
        tickets = [gorgias.ticket_of(raw) for raw in raws]
        if floor is not None:
            tickets = [t for t in tickets if t.updated_at >= floor]
        for t in tickets:
            if not newest or t.updated_at.isoformat() > newest:
                newest = t.updated_at.isoformat()
        fresh, _ = tickets_to_fetch(account, tickets)
        _fetch_all(fresh, lambda t: [gorgias.message_of(m) for m in client.messages(t.external_id)])
        cursor = (page.get("meta") or {}).get("next_cursor") or ""
        done = not cursor or (floor is not None and len(tickets) < len(raws))
        if walking_all:
            state = {"watermark": newest or "", "full_cursor": None if done else cursor}
        else:
            state = {"watermark": (newest if done else watermark) or ""}
        _commit_page(account, run, tickets, json.dumps(state), counts, progress)
        if done:
            return
