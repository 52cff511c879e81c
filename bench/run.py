#!/usr/bin/env python
"""Benchmark harness: hot paths on a loaded PostgreSQL database.

    python bench/run.py                # measures the database in DATABASE_URL
    python bench/run.py --quick        # fewer repetitions
    python bench/run.py --only event_pipeline --pipeline-changes 10000
    python bench/run.py --only route,analytics_overview,analytics_agents,dashboard

Loads nothing itself (see `make bench` / `make bench-quick`, which run seed_bench first).
Measures (a) in-process through Django's test client, (b) through a real gunicorn
server over 127.0.0.1 with concurrent clients, (c) the event pipeline: ticket changes
committed through the services while one real Celery worker (solo pool, the embedded
filesystem broker) runs every handler, and (d) agents at work (issue 13): routing one
ticket by skills, the analytics API over 90 days and the manager dashboard. For each
measurement: p50/p95 latency, requests per second, SQL queries per request and, for
list and analytics queries, the same SQL timed directly in PostgreSQL (the floor) with
its EXPLAIN ANALYZE plan. Writes bench/results/latest.json and prints a table.
"""

import argparse
import atexit
import dataclasses
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quimbi_support.settings")
PIPELINE_WORKER = "--pipeline-worker"  # argv of the event_pipeline's worker process
if PIPELINE_WORKER not in sys.argv:
    # The embedded broker (kombu's filesystem transport) lives under VAR_DIR: give the
    # benchmark a folder of its own, so its messages never reach a developer's `make run`
    # worker and theirs never reach the benchmark's. The worker inherits it.
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="quimbi-bench-")
    atexit.register(shutil.rmtree, os.environ["VAR_DIR"], ignore_errors=True)

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from agents.models import Agent, Organization  # noqa: E402
from agents.services import api_key_create  # noqa: E402
from rules.services import scores_refresh  # noqa: E402
from sla.models import SLAClock  # noqa: E402
from sla.scan import sla_scan  # noqa: E402
from tickets.models import Message, Ticket, TicketEvent  # noqa: E402
from tickets.services import message_add  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "latest.json"


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Bench:
    def __init__(self, repeat: int):
        self.repeat = repeat
        self.results: list[dict] = []
        self.plans: dict[str, str] = {}

    def measure(self, name, fn, *, floor=False, repeat=None, expect=(200, 201), slowest=0):
        repeat = repeat or self.repeat
        for _ in range(2):  # warm caches
            fn()
        times, counts, last = [], [], None
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = fn()
                times.append((time.perf_counter() - started) * 1000)
            status = getattr(response, "status_code", 200)
            if status not in expect:
                raise SystemExit(
                    f"{name}: HTTP {status}: {getattr(response, 'content', b'')[:300]}"
                )
            counts.append(len(ctx.captured_queries))
            last = ctx.captured_queries
        row = {
            "name": name,
            "p50_ms": round(pct(times, 50), 2),
            "p95_ms": round(pct(times, 95), 2),
            "rps": round(1000 / statistics.mean(times), 1),
            "queries": int(statistics.median(counts)),
            "floor_ms": None,
        }
        if floor:
            row["floor_ms"], self.plans[name] = self.floor(last)
        if slowest:
            row["slowest"] = [
                {"ms": round(float(q["time"]) * 1000, 2), "sql": q["sql"][:400]}
                for q in sorted(last, key=lambda q: -float(q["time"]))[:slowest]
            ]
        self.results.append(row)
        print(
            f"{name:<28} p50 {row['p50_ms']:>8.2f} ms  p95 {row['p95_ms']:>8.2f} ms  "
            f"{row['rps']:>8.1f} rps  {row['queries']:>3} q"
            + (f"  floor {row['floor_ms']:.2f} ms" if row["floor_ms"] is not None else ""),
            flush=True,
        )
        return row

    def floor(self, queries) -> tuple[float, str]:
        """The same SELECTs run straight in PostgreSQL: best of 5, plus the plan of every
        SELECT (slowest first)."""
        timed = sorted(
            (q for q in queries if q["sql"].lstrip().upper().startswith("SELECT")),
            key=lambda q: -float(q["time"]),
        )
        selects = [q["sql"] for q in timed]
        best = None
        with connection.cursor() as cursor:
            for _ in range(5):
                started = time.perf_counter()
                for sql in selects:
                    cursor.execute(sql)
                    cursor.fetchall()
                elapsed = (time.perf_counter() - started) * 1000
                best = elapsed if best is None else min(best, elapsed)
            plans = []
            for sql in selects:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plans.append("\n".join(r[0] for r in cursor.fetchall()))
        return round(best or 0.0, 2), "\n\n".join(plans)


def workforce(org) -> dict:
    """The dataset's workforce and its traces (issue 13)."""
    from agents.models import Team
    from tickets.models import Assignment, Satisfaction

    return {
        "agents": Agent.objects.filter(organization=org).count(),
        "teams": Team.objects.filter(organization=org).count(),
        "assignments": Assignment.objects.count(),
        "csat_ratings": Satisfaction.objects.count(),
    }


def machine() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split()[1]
    except OSError:
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_kb": mem,
        "postgresql": pg,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ticket_with_50_messages(org) -> Ticket:
    """The detail entries' ticket: the newest open one, brought to 50 messages once."""
    ticket = Ticket.objects.filter(organization=org, status="open").order_by("-created_at").first()
    for i in range(max(0, 50 - ticket.message_count)):
        message_add(
            ticket=ticket,
            content=f"Follow-up {i}: still waiting on the refund.",
            from_agent=i % 2 == 1,
            actor=None,
        )
    return ticket


def hot_paths(bench: Bench, args, *, org, key: str, tickets: int) -> None:
    """The request paths, the SLA scan, the bulk rescore, the admin and gunicorn."""
    api = Client(HTTP_X_API_KEY=key)
    manager = Agent.objects.filter(organization=org, role="manager").first()
    agent = Agent.objects.filter(organization=org, role="agent").first()
    base = "/api/v1/tickets?limit=50"
    smart = "t.smart_score DESC, t.created_at DESC, t.id DESC"
    row = bench.measure("ticket_list", lambda: api.get(base), floor=True)
    with_min_floor(row, min_floor_list(org))
    row = bench.measure(
        "ticket_list_filtered",
        lambda: api.get(f"{base}&status=open,in_progress&assigned_to={agent.pk}"),
        floor=True,
    )
    with_min_floor(
        row,
        min_floor_list(
            org, "t.status IN ('open', 'in_progress') AND t.assignee_id = %s", params=[agent.pk]
        ),
    )
    row = bench.measure(
        "ticket_list_smart", lambda: api.get(f"{base}&smart_order=true"), floor=True
    )
    with_min_floor(row, min_floor_list(org, order=smart))
    row = bench.measure("ticket_list_search", lambda: api.get(f"{base}&q=refund"), floor=True)
    with_min_floor(
        row,
        min_floor_list(org, "t.search_vector @@ websearch_to_tsquery('english', 'refund')"),
    )
    deep = max(tickets // 50 // 2, 1)
    row = bench.measure(
        "ticket_list_deep_page", lambda: api.get(f"{base}&page={deep}"), floor=True, repeat=10
    )
    with_min_floor(row, min_floor_list(org, offset=(deep - 1) * 50))
    # A cursor deep in the list: walk there once, then measure fetching that page.
    middle = (
        Ticket.objects.filter(organization=org)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[tickets // 2 : tickets // 2 + 1]
    )
    from tickets.pagination import cursor_encode

    deep_cursor = cursor_encode(list(middle[0])) if middle else ""
    row = bench.measure(
        "ticket_list_deep_cursor", lambda: api.get(f"{base}&cursor={deep_cursor}"), floor=True
    )
    if middle:
        at, pk = middle[0]
        with_min_floor(
            row,
            min_floor_list(
                org, "t.created_at <= %s AND (t.created_at < %s OR t.id < %s)", params=[at, at, pk]
            ),
        )

    ticket = ticket_with_50_messages(org)
    row = bench.measure(
        "ticket_detail", lambda: api.get(f"/api/v1/tickets/{ticket.pk}"), floor=True
    )
    with_min_floor(row, min_floor(MIN_FLOOR_DETAIL, [org.pk, ticket.pk]))
    target = Ticket.objects.filter(organization=org, status="open").order_by("created_at").first()
    bench.measure(
        "message_create",
        lambda: api.post(
            f"/api/v1/tickets/{target.pk}/messages",
            {"content": "Any news on my order?", "from_agent": False},
            content_type="application/json",
        ),
    )
    flip = {"p": "high"}

    def patch():
        flip["p"] = "normal" if flip["p"] == "high" else "high"
        return api.patch(
            f"/api/v1/tickets/{target.pk}", {"priority": flip["p"]}, content_type="application/json"
        )

    bench.measure("ticket_patch", patch)
    ids = [
        str(pk)
        for pk in Ticket.objects.filter(organization=org, status="open").values_list(
            "pk", flat=True
        )[:50]
    ]
    bench.measure(
        "prioritize",
        lambda: api.post(
            "/api/v1/tickets/prioritize", {"ticket_ids": ids}, content_type="application/json"
        ),
    )

    # SLA scan with 1,000 newly due clocks.
    def scan_with_1000_due():
        now = timezone.now()
        # Only the 1,000 are newly due: any other overdue active clock is marked first.
        sla_scan(now=now - timedelta(seconds=60))
        fields = ("status", "breached_at", "at_risk_at", "due_at", "at_risk_due_at")
        original = list(
            SLAClock.objects.filter(is_open=True, status__in=["active", "breached"])
            .order_by("id")
            .values("id", *fields)[:1000]
        )
        due = [row["id"] for row in original]
        SLAClock.objects.filter(id__in=due).update(
            status="active",
            breached_at=None,
            at_risk_at=None,
            due_at=now - timedelta(seconds=1),
            at_risk_due_at=now - timedelta(seconds=2),
        )
        started = time.perf_counter()
        result = sla_scan(now=now)
        elapsed = (time.perf_counter() - started) * 1000
        # Put the clocks back as they were (a made-up deadline would be "recomputed" by
        # the next reconcile of their tickets, e.g. in event_pipeline).
        SLAClock.objects.bulk_update([SLAClock(**row) for row in original], fields)
        from sla.models import SLAEvent

        SLAEvent.objects.filter(clock_id__in=due).delete()
        return elapsed, result

    scans = [scan_with_1000_due() for _ in range(3 if args.quick else 5)]
    times = [s[0] for s in scans]
    bench.results.append(
        {
            "name": "sla_scan",
            "p50_ms": round(pct(times, 50), 1),
            "p95_ms": round(pct(times, 95), 1),
            "rps": None,
            "queries": None,
            "floor_ms": None,
            "newly_due": scans[0][1]["breached"],
        }
    )
    print(f"sla_scan (1,000 due)         p50 {pct(times, 50):.1f} ms  ({scans[0][1]})", flush=True)

    # Bulk rescore of (up to) 100,000 open tickets after a rule change.
    from rules.models import Rule

    Rule.objects.update_or_create(
        organization=org,
        name="Bench: planters",
        defaults={"type": "custom", "keywords": ["planter"], "boost_amount": 2.5},
    )
    from tickets import lifecycle

    # scores_refresh returns how many scores it wrote (those that moved): count the
    # tickets it scores separately.
    scored = min(
        Ticket.objects.filter(organization=org, status__in=lifecycle.ACTIVE_STATUSES).count(),
        100_000,
    )
    started = time.perf_counter()
    written = scores_refresh(organization_id=org.pk, limit=100_000)
    elapsed = (time.perf_counter() - started) * 1000
    bench.results.append(
        {
            "name": "rescore",
            "p50_ms": round(elapsed, 1),
            "p95_ms": round(elapsed, 1),
            "rps": None,
            "queries": None,
            "floor_ms": None,
            "tickets": scored,
            "written": written,
        }
    )
    print(
        f"rescore                      {elapsed / 1000:.2f} s for {scored:,} tickets "
        f"({written:,} scores written)",
        flush=True,
    )

    admin = Client()
    admin.force_login(manager)
    bench.measure("admin_changelist", lambda: admin.get("/admin/tickets/ticket/"), repeat=15)
    bench.measure(
        "admin_changelist_filtered",
        lambda: admin.get("/admin/tickets/ticket/?status__exact=open"),
        repeat=15,
    )
    bench.measure(
        "admin_changelist_search", lambda: admin.get("/admin/tickets/ticket/?q=refund"), repeat=15
    )
    now = timezone.now()
    bench.measure(
        "admin_changelist_date",
        lambda: admin.get(
            f"/admin/tickets/ticket/?created_at__year={now.year}&created_at__month={now.month}"
        ),
        repeat=15,
    )
    bench.measure(
        "admin_ticket_page",
        lambda: admin.get(f"/admin/tickets/ticket/{ticket.pk}/change/"),
        repeat=15,
    )

    with Gunicorn() as server:  # the documented production settings (gunicorn.conf.py)
        headers = {"X-API-Key": key}
        http_load(server.port, "warm-up", base, headers=headers, seconds=2)
        row = http_load(
            server.port, "gunicorn_ticket_list_16_clients", base, headers=headers,
            seconds=args.gunicorn_seconds,
        )  # fmt: skip
        bench.results.append(row)


# --- Agents at work (issue 13): routing, analytics, the manager dashboard -------------

AT_WORK = ("route", "analytics_overview", "analytics_agents", "dashboard")
ANALYTICS_DAYS = 90


def _route_target(org):
    """An unassigned active ticket waiting in a team that routes by skills around the
    clock (no calendar, so the outcome does not depend on the hour), which needs a skill
    (its channel) and which one of the team's members can take: the full skills path,
    ending in an assignment. Tried in a rolled-back transaction."""
    from django.db import transaction

    from routing.models import TeamRouting
    from routing.services import ASSIGNED, ticket_route

    teams = TeamRouting.objects.filter(
        organization=org, strategy="skills", calendar__isnull=True
    ).values_list("team_id", flat=True)
    candidates = Ticket.objects.filter(
        organization=org,
        team_id__in=list(teams),
        assignee__isnull=True,
        status__in=["open", "in_progress"],
        channel__in=["chat", "phone", "sms"],
    ).order_by("-created_at")[:50]
    for ticket in candidates:
        with transaction.atomic():
            result = ticket_route(ticket=ticket, trigger="on_demand")
            transaction.set_rollback(True)
        if result.outcome == ASSIGNED and result.explanation.get("required_skills"):
            return ticket, result.explanation
    raise SystemExit("route: no unassigned ticket in a skills team that a member can take.")


def agents_at_work(bench: Bench, args, *, org, key: str, names) -> None:
    """`route`: one ticket routed by the skills strategy, in-process, inside a
    transaction rolled back after each routing (the data stays as loaded); the analytics
    API's `overview` and `agents` over the last 90 days with a manager API key; the
    manager dashboard (`/admin/dashboard/`, default period) logged in as a manager."""
    from django.db import transaction

    from routing.services import ticket_route

    if "route" in names:
        ticket, explanation = _route_target(org)
        outcomes: dict[str, int] = defaultdict(int)

        def route():
            with transaction.atomic():
                result = ticket_route(ticket=ticket, trigger="on_demand")
                transaction.set_rollback(True)
            outcomes[result.outcome] += 1
            return result

        row = bench.measure("route", route, slowest=3)
        row.update(
            team=explanation["team"]["name"],
            channel=ticket.channel,
            required_skills=explanation["required_skills"],
            candidates=len(explanation["candidates"]),
            eligible=sum(1 for c in explanation["candidates"] if c["eligible"]),
            outcomes=dict(outcomes),
        )
        print(
            f"  route: {row['team']}, {row['channel']}, needs {row['required_skills']}, "
            f"{row['eligible']}/{row['candidates']} eligible, outcomes {dict(outcomes)}"
        )

    tz = ZoneInfo(org.timezone or "UTC")
    end = timezone.now().astimezone(tz).date()
    start = end - timedelta(days=ANALYTICS_DAYS - 1)
    period = f"start_date={start.isoformat()}&end_date={end.isoformat()}"
    api = Client(HTTP_X_API_KEY=key)
    repeat = args.analytics_repeat or (10 if args.quick else 20)
    if "analytics_overview" in names:
        bench.measure(
            "analytics_overview",
            lambda: api.get(f"/api/v1/analytics/overview?{period}"),
            floor=True,
            repeat=repeat,
            slowest=5,
        )
    if "analytics_agents" in names:
        bench.measure(
            "analytics_agents",
            lambda: api.get(f"/api/v1/analytics/agents?{period}"),
            floor=True,
            repeat=repeat,
            slowest=5,
        )
    if "dashboard" in names:
        manager = Agent.objects.filter(organization=org, role="manager").first()
        admin = Client()
        admin.force_login(manager)
        bench.measure("dashboard", lambda: admin.get("/admin/dashboard/"), repeat=repeat, slowest=5)


# --- Automations (issue 14): event rules on a message, the time-rule scan -------------

AUTOMATION = ("automation_events", "automation_time_scan")
EVENT_RULES, TIME_RULES = 50, 20


def _event_rules(org) -> list:
    """50 active message.customer rules of the usual kinds (keywords in the message,
    with a priority, tier or channel), none of which matches the benchmark's message:
    the cost of looking at every rule."""
    from rules.models import AutomationRule

    fields = [
        ("priority", "in", ["high", "urgent"]),
        ("customer.tier", "is", "vip"),
        ("channel", "is", "chat"),
        ("customer.churn_risk", "gt", 0.7),
        ("hours_since_created", "gt", 48),
    ]
    return [
        AutomationRule(
            organization=org,
            name=f"bench event rule {i}",
            trigger="message.customer",
            position=i,
            conditions={
                "all": [{"field": "body", "operator": "contains", "value": f"zz-word-{i}"}],
                "any": [
                    {"field": f, "operator": op, "value": v} for f, op, v in fields[: 1 + i % 5]
                ],
            },
            actions=[{"type": "add_tags", "value": [f"auto-{i}"]}],
        )
        for i in range(EVENT_RULES)
    ]


def _time_rules(org) -> list:
    """20 time rules as a team writes them: an hours threshold (each of the four
    anchors) with a status, priority or assignment condition."""
    from rules.models import AutomationRule

    anchors = [
        "hours_since_created",
        "hours_since_updated",
        "hours_since_customer_message",
        "hours_since_agent_reply",
    ]
    narrowers = [
        {"field": "status", "operator": "is", "value": "open"},
        {"field": "status", "operator": "is", "value": "pending"},
        {"field": "priority", "operator": "in", "value": ["high", "urgent"]},
        {"field": "assignee", "operator": "is_not_set", "value": None},
        {"field": "sla.status", "operator": "is", "value": "breached"},
    ]
    return [
        AutomationRule(
            organization=org,
            name=f"bench time rule {i}",
            trigger="time",
            position=i,
            conditions={
                "all": [
                    {"field": anchors[i % 4], "operator": "gt", "value": 4 + 4 * i},
                    narrowers[i % 5],
                ]
            },
            actions=[{"type": "add_tags", "value": ["stale"]}],
        )
        for i in range(TIME_RULES)
    ]


def automations(bench: Bench, args, *, org, names) -> None:
    """`automation_events`: a customer message added and its automation handler run
    (in-process, rolled back), with 50 active rules against none; the row's
    `overhead_ms` is the difference of the p50s. `automation_time_scan`: one beat's
    scan of 20 time rules over the organization's active tickets in the steady state
    (the tickets already due were acted on by earlier beats: their runs are inserted
    first, set-based), rolled back."""
    from django.db import transaction

    from rules.automation.engine import rules_run_for_event, time_rule_due, time_rules_scan
    from rules.models import AutomationRule, RuleRun

    if "automation_events" in names:
        ticket = (
            Ticket.objects.filter(organization=org, status__in=["open", "in_progress"])
            .order_by("-created_at")
            .first()
        )

        def message_and_rules():
            with transaction.atomic():
                message = message_add(
                    ticket=ticket, content="Where is my parcel?", from_agent=False, actor=None
                )
                event = TicketEvent.objects.filter(
                    ticket=ticket, kind="message.created", payload__message_id=str(message.pk)
                ).get()
                rules_run_for_event(event)
                transaction.set_rollback(True)

        base = bench.measure("automation_events_no_rules", message_and_rules, slowest=3)
        with transaction.atomic():
            AutomationRule.objects.bulk_create(_event_rules(org))
            row = bench.measure("automation_events", message_and_rules, slowest=3)
            transaction.set_rollback(True)
        row["rules"] = EVENT_RULES
        row["overhead_ms"] = round(row["p50_ms"] - base["p50_ms"], 2)
        print(f"  automation_events: {EVENT_RULES} rules cost {row['overhead_ms']} ms at p50")

    if "automation_time_scan" in names:
        with transaction.atomic():
            rules = AutomationRule.objects.bulk_create(_time_rules(org))
            started = time.perf_counter()
            claimed = 0
            for rule in rules:
                due = time_rule_due(rule).values_list("pk", "period_at")
                runs = [
                    RuleRun(
                        organization_id=org.pk,
                        rule=rule,
                        ticket_id=pk,
                        trigger="time",
                        period_key=at.isoformat(),
                        outcome="applied",
                    )
                    for pk, at in due.iterator(chunk_size=5000)
                ]
                RuleRun.objects.bulk_create(runs, batch_size=5000)
                claimed += len(runs)
            backlog = time.perf_counter() - started
            print(f"  automation_time_scan: {claimed:,} earlier runs set up in {backlog:.1f} s")
            # As the earlier beats left them: every rule scanned up to the previous beat
            # (30 s ago) and fully scanned within AUTOMATION_FULL_SCAN_MINUTES, except the
            # one whose turn it is: each measured beat pays for one rule's full scan too,
            # as every beat does in the steady state of 20 rules rotating.
            beat = timezone.now() - timedelta(seconds=30)
            AutomationRule.objects.filter(pk__in=[r.pk for r in rules]).update(
                scanned_until=beat, full_scan_at=beat
            )
            turn = iter(range(10_000))

            def one_beat():
                stale = rules[next(turn) % len(rules)]
                AutomationRule.objects.filter(pk=stale.pk).update(
                    full_scan_at=timezone.now() - timedelta(days=1)
                )
                time_rules_scan()

            row = bench.measure("automation_time_scan", one_beat, repeat=5, slowest=5)
            row.update(rules=TIME_RULES, earlier_runs=claimed, full_scans_per_beat=1)
            transaction.set_rollback(True)


# --- Outbound webhooks (issue 14): fan-out through the embedded worker ---------------

FANOUT_EVENTS, FANOUT_ENDPOINTS = 1_000, 3


class _Receiver:
    """A local webhook receiver (its own thread): answers 204 and notes each message's
    arrival time."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        arrivals = self.arrivals = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrivals.append((time.monotonic(), self.headers.get("webhook-id")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def webhook_fanout(org) -> dict | None:
    """1,000 ticket changes (priority updates through the service, each its own commit)
    to 3 local endpoints subscribed to `ticket.updated`, delivered by ONE embedded worker
    (`celery worker --pool=solo`, the filesystem broker, as `make run` starts it; its
    sender threads post to the endpoints). Measured: from the first commit to the last
    of the 3,000 deliveries received."""
    from django.conf import settings

    from integrations.models import WebhookEndpoint
    from integrations.services import webhook_endpoint_create
    from tickets.services import ticket_update

    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        print("webhook_fanout: skipped (it measures the embedded filesystem broker)")
        return None
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receivers are on 127.0.0.1
    receivers = [_Receiver() for _ in range(FANOUT_ENDPOINTS)]
    endpoints = [
        webhook_endpoint_create(
            organization=org,
            data={"url": r.url, "events": ["ticket.updated"], "description": "bench"},
            actor=None,
        )
        for r in receivers
    ]
    tickets = list(
        Ticket.objects.filter(organization=org, status__in=["open", "in_progress"])
        .order_by("-created_at")
        .values_list("pk", "priority")[:FANOUT_EVENTS]
    )
    work = Path(os.environ["VAR_DIR"])
    log_path = work / "fanout-worker.log"
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "quimbi_support",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, "WEBHOOK_ALLOW_PRIVATE_URLS": "true"},
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(8)  # the worker starts and idles
        started = time.monotonic()
        for pk, priority in tickets:
            ticket = Ticket.objects.get(pk=pk)
            ticket_update(
                ticket=ticket, priority="low" if priority != "low" else "high", actor=None
            )
        committed = time.monotonic() - started
        expected = len(tickets) * FANOUT_ENDPOINTS
        deadline = time.monotonic() + 300
        while sum(len(r.arrivals) for r in receivers) < expected:
            if time.monotonic() > deadline or worker.poll() is not None:
                break
            time.sleep(0.2)
        received = sum(len(r.arrivals) for r in receivers)
        last = max((a for r in receivers for a, _ in r.arrivals), default=started)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        for r in receivers:
            r.server.shutdown()
        WebhookEndpoint.objects.filter(pk__in=[e.pk for e in endpoints]).delete()
    row = {
        "name": "webhook_fanout",
        "events": len(tickets),
        "endpoints": FANOUT_ENDPOINTS,
        "deliveries_expected": expected,
        "deliveries_received": received,
        "commits_s": round(committed, 2),
        "all_delivered_s": round(last - started, 2) if received == expected else None,
        "per_endpoint": [len(r.arrivals) for r in receivers],
    }
    print(f"webhook_fanout: {row}", flush=True)
    if received != expected:
        print(log_path.read_text()[-3000:])
    return row


# --- Zendesk import (issue 15): from the local stand-in ------------------------------

IMPORT_TICKETS, IMPORT_COMMENTS = 10_000, 5


def import_zendesk(org) -> dict:
    """10,000 Zendesk tickets with 5 comments each (2,000 requesters, 20 agents) served
    by the local stand-in (integrations/tests/fake_providers.py, the documented
    endpoints over real HTTP), imported end to end by `sync_account` into a fresh
    organization: the export pages, the comments fetched concurrently, the users, the
    upserts. Then the same import again (nothing changed: 0 rows). `upsert_rows_per_s`
    times the write stage alone (page_upsert), rows = tickets + messages written. All
    rolled back."""
    from django.conf import settings
    from django.db import transaction

    from agents.models import Organization
    from integrations.models import IntegrationAccount
    from integrations.providers import sync as sync_module
    from integrations.secrets import secret_seal
    from integrations.tests.fake_providers import FakeZendesk

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the stand-in is on 127.0.0.1
    fake = FakeZendesk()
    agents = [FakeZendesk.make_user(9_000_000 + i, role="agent", email=f"agent{i}@zd.test")
              for i in range(20)]  # fmt: skip
    customers = [FakeZendesk.make_user(8_000_000 + i, email=f"c{i}@example.com")
                 for i in range(2_000)]  # fmt: skip
    for n in range(IMPORT_TICKETS):
        ticket_id = 1_000_000 + n
        requester = customers[n % len(customers)]["id"]
        agent = agents[n % len(agents)]["id"]
        at = f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z"
        comments = [
            FakeZendesk.make_comment(
                ticket_id * 10 + c,
                agent if c % 2 else requester,
                public=c != 3,
                body=f"Message {c} about order #{n} " + "lorem ipsum dolor sit amet " * 6,
                created_at=at,
            )
            for c in range(IMPORT_COMMENTS)
        ]
        fake.add_ticket(
            FakeZendesk.make_ticket(ticket_id, requester_id=requester, assignee_id=agent,
                                    status=("open", "pending", "solved")[n % 3],
                                    tags=["import", f"t{n % 7}"], created_at=at, updated_at=at),
            comments=comments,
            users=[],
        )  # fmt: skip
    for user in (*agents, *customers):
        fake.users[user["id"]] = user

    upsert_seconds, upsert_rows = [0.0], [0]
    original = sync_module.page_upsert

    def timed(account, tickets):
        started = time.perf_counter()
        counts = original(account, tickets)
        upsert_seconds[0] += time.perf_counter() - started
        upsert_rows[0] += counts.created + counts.updated + counts.messages_created
        return counts

    sync_module.page_upsert = timed
    # Every run of this entry inserts 60,000 rows and rolls them back, leaving dead index
    # entries that autovacuum would clear in a live database: clear them first.
    with connection.cursor() as cursor:
        for table in ("tickets_ticket", "tickets_message", "tickets_ticket_tags"):
            cursor.execute(f"VACUUM {table}")
    row = {"name": "import_zendesk", "tickets": IMPORT_TICKETS, "comments_each": IMPORT_COMMENTS}
    try:
        with transaction.atomic():
            # The whole entry is rolled back, so nothing commits: the foreign keys, checked
            # at commit (deferred), are checked at each statement's end instead, so their
            # cost is measured in the stage that causes it, as a real import pays it.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            slug = f"import-{time.time():.0f}"
            target = Organization.objects.create(name="Import bench", slug=slug)
            account = IntegrationAccount.objects.create(
                organization=target, provider="zendesk", name="bench", subdomain="bench",
                base_url=fake.base_url, email=fake.email, api_secret=secret_seal(fake.api_token),
                rate_limit_per_minute=10**5,  # the stand-in has no plan limit
            )  # fmt: skip
            started = time.perf_counter()
            first = sync_module.sync_account(account, full=True)
            first_s = time.perf_counter() - started
            first_upsert = upsert_seconds[0]
            rows = upsert_rows[0]
            requests_first = len(fake.requests)
            upsert_seconds[0], upsert_rows[0] = 0.0, 0
            started = time.perf_counter()
            second = sync_module.sync_account(account, full=True)
            second_s = time.perf_counter() - started
            row.update(
                status=[first.status, second.status],
                first_s=round(first_s, 2),
                tickets_per_s=round(first.created / first_s, 1),
                created=first.created,
                messages=first.messages_created,
                requests=requests_first,
                upsert_s=round(first_upsert, 2),
                upsert_rows=rows,
                upsert_rows_per_s=round(rows / first_upsert) if first_upsert else None,
                rerun_s=round(second_s, 2),
                rerun_speedup=round(first_s / second_s, 1),
                rerun_rows_written=second.created + second.updated + second.messages_created,
                rerun_requests=len(fake.requests) - requests_first,
            )
            transaction.set_rollback(True)
    finally:
        sync_module.page_upsert = original
        fake.close()
    print(f"import_zendesk: {row}", flush=True)
    return row


# --- Email and SMS intake (issue 16) --------------------------------------------------

CHANNELS = ("email_inbound", "sms_inbound")


def _bench_email(n: int, thread_on: str) -> bytes:
    """A ~20 KB multipart message (text and HTML alternatives, a small PDF attachment)
    replying to `thread_on`."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Ada Buyer <ada.bench@example.com>"
    message["To"] = "support@bench.test"
    message["Subject"] = "Re: Where is my order?"
    message["Message-ID"] = f"<bench-{n}-{time.time_ns()}@example.com>"
    message["In-Reply-To"] = thread_on
    message["References"] = thread_on
    text = "Any news about my parcel? " * 300
    message.set_content(text)
    message.add_alternative(f"<p>{text}</p>", subtype="html")
    message.add_attachment(
        b"%PDF-1.4 " + b"0" * 2000, maintype="application", subtype="pdf", filename="label.pdf"
    )
    return message.as_bytes()


def channels_intake(bench: Bench, org, names) -> None:
    """`email_inbound`: the raw message POSTed to the inbound URL with its secret,
    threaded onto an existing ticket by In-Reply-To (parse, dedupe receipt, customer,
    thread lookup, the attachment stored, message_add with its event); `sms_inbound`:
    Twilio's form POST, signature verified, threaded by the sender's number. In-process
    through Django's test client, each request rolled back."""
    from urllib.parse import urlencode

    from django.conf import settings
    from django.db import transaction

    from integrations.channels.accounts import channel_create
    from integrations.channels.sms_in import twilio_signature
    from tickets.services import customer_get_or_create, ticket_create

    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="bench-media-")
    client = Client()
    counter = iter(range(10**9))
    with transaction.atomic():
        email, secret = channel_create(
            organization=org,
            data={
                "kind": "email",
                "name": f"bench {time.time_ns()}",
                "address": "support@bench.test",
            },
            actor=None,
        )
        sms, _ = channel_create(
            organization=org,
            data={
                "kind": "sms",
                "name": f"bench sms {time.time_ns()}",
                "phone_number": "+15550001111",
                "account_sid": "AC" + "0" * 32,
                "auth_token": "bench-token",
            },
            actor=None,
        )
        customer = customer_get_or_create(
            organization=org, external_id="bench-mail", email="ada.bench@example.com",
            phone="+15559990000",
        )  # fmt: skip
        ticket = ticket_create(
            organization=org, customer=customer, subject="Where is my order?",
            initial_message="It has not arrived.", actor=None,
        )  # fmt: skip
        first = ticket.messages.get()
        first.external_id = "<bench-first@example.com>"
        first.save(update_fields=["external_id"])
        sms_ticket = ticket_create(
            organization=org, customer=customer, subject="SMS", channel="sms", actor=None
        )
        email_url = f"/api/v1/integrations/email/inbound/{email.pk}"
        sms_url = f"/api/v1/integrations/sms/twilio/{sms.pk}"

        def one_email():
            raw = _bench_email(next(counter), "<bench-first@example.com>")
            with transaction.atomic():
                response = client.post(
                    email_url, data=raw, content_type="message/rfc822",
                    HTTP_X_CHANNEL_SECRET=secret,
                )  # fmt: skip
                transaction.set_rollback(True)
            if response.status_code == 202 and response.json()["ticket_id"] != str(ticket.pk):
                raise SystemExit("email_inbound: not threaded onto the existing ticket")
            return response

        def one_sms():
            params = {
                "From": "+15559990000",
                "To": "+15550001111",
                "Body": "Is it shipped yet?",
                "MessageSid": f"SM{next(counter):032d}",
            }
            signature = twilio_signature("bench-token", f"http://testserver{sms_url}", params)
            with transaction.atomic():
                response = client.post(
                    sms_url, data=urlencode(params),
                    content_type="application/x-www-form-urlencoded",
                    HTTP_X_TWILIO_SIGNATURE=signature,
                )  # fmt: skip
                transaction.set_rollback(True)
            return response

        if "email_inbound" in names:
            row = bench.measure("email_inbound", one_email, expect=(202,))
            row["bytes"] = len(_bench_email(0, "<x@y>"))
        if "sms_inbound" in names:
            bench.measure("sms_inbound", one_sms, expect=(200,))
        del sms_ticket
        transaction.set_rollback(True)


# --- The event pipeline ---------------------------------------------------------------


def pipeline_worker(stats_path: str) -> None:
    """The event_pipeline's worker: a real Celery worker, solo pool, as `make run` starts
    it (`celery -A quimbi_support worker --pool=solo --without-mingle --without-gossip`),
    that also counts its SQL statements the way CaptureQueriesContext does (BEGIN,
    COMMIT and savepoints included) and its time, per task and per handler, and writes
    them to `stats_path` when it stops (warm shutdown, on SIGTERM)."""
    from celery import signals

    from quimbi_support.celery import app
    from tickets import events

    handlers: dict[str, dict] = defaultdict(lambda: {"calls": 0, "seconds": 0.0, "queries": 0})
    tasks: dict[str, dict] = defaultdict(lambda: {"calls": 0, "seconds": 0.0, "queries": 0})
    statements: dict[str, int] = defaultdict(int)  # by first word: SELECT, BEGIN, ...
    spans: list[tuple[float, float]] = []  # (start instant, seconds) of every task
    running: dict = {"started": None, "at": None}

    def timed(name, func):
        def run(event):
            before, started = len(connection.queries_log), time.perf_counter()
            try:
                return func(event)
            finally:
                row = handlers[name]
                row["calls"] += 1
                row["seconds"] += time.perf_counter() - started
                row["queries"] += len(connection.queries_log) - before

        return run

    for name, spec in list(events._specs.items()):
        events._specs[name] = dataclasses.replace(spec, func=timed(name, spec.func))

    @signals.task_prerun.connect(weak=False)
    def prerun(**kwargs):
        connection.force_debug_cursor = True  # the solo pool runs tasks in this thread
        connection.queries_log.clear()
        running["started"], running["at"] = time.perf_counter(), time.time()

    @signals.task_postrun.connect(weak=False)
    def postrun(task=None, **kwargs):
        row, seconds = tasks[task.name], time.perf_counter() - running["started"]
        row["calls"] += 1
        row["seconds"] += seconds
        row["queries"] += len(connection.queries_log)
        for query in connection.queries_log:
            statements[query["sql"].split(None, 1)[0].upper()] += 1
        spans.append((running["at"], seconds))

    @signals.worker_ready.connect(weak=False)
    def ready(**kwargs):
        Path(stats_path + ".ready").touch()

    @signals.worker_shutdown.connect(weak=False)
    def shutdown(**kwargs):
        Path(stats_path).write_text(
            json.dumps(
                {
                    "handlers": handlers,
                    "tasks": tasks,
                    "statements": statements,
                    "spans": spans,
                }
            )
        )

    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
            f"--hostname=bench-pipeline-{os.getpid()}@%h",
        ]
    )


class PipelineChanges:
    """Ticket changes through the services, each committed on its own (as a request
    would). The mix, by position: 4/10 priority changes, 3/10 customer messages, 2/10
    agent replies (which also set the ticket pending: two events), 1/10 reassignments;
    every 50th a customer tier change instead (the customer's open tickets are re-matched
    and rescored), every 500th an SLA scan that finds 10 newly breached clocks among the
    changed tickets (and any other clock due by then). One active ticket per change while
    there are enough."""

    def __init__(self, org, size: int):
        self.actor = Agent.objects.filter(organization=org, role="agent").order_by("email").first()
        self.agents = list(Agent.objects.filter(organization=org, is_active=True).order_by("email"))
        self.pool = list(
            Ticket.objects.filter(organization=org, status__in=["open", "in_progress"]).order_by(
                "id"
            )[:size]
        )
        if not self.pool:
            raise SystemExit("event_pipeline: no active ticket to change.")
        self.i = 0
        self.kinds: dict[str, int] = defaultdict(int)

    def one(self) -> float:
        """Make the next change; returns the instant it was committed (and enqueued)."""
        from tickets.models import Customer
        from tickets.services import customer_update, ticket_assign, ticket_update

        i, actor = self.i, self.actor
        ticket = self.pool[i % len(self.pool)]
        self.i += 1
        if i % 500 == 499:
            now = timezone.now()
            due = list(
                SLAClock.objects.filter(
                    ticket__in=[t.pk for t in self.pool[:i]], is_open=True, status="active"
                )
                .order_by("id")
                .values_list("id", flat=True)[:10]
            )
            SLAClock.objects.filter(id__in=due).update(
                due_at=now - timedelta(seconds=1), at_risk_due_at=now - timedelta(seconds=2)
            )
            sla_scan(now=now)
            kind = "sla_scan"
        elif i % 50 == 24:
            customer = Customer.objects.get(pk=ticket.customer_id)
            tier = "premium" if customer.tier == "standard" else "standard"
            customer_update(customer=customer, actor=actor, tier=tier)
            kind = "customer_tier"
        elif i % 10 < 4:
            priority = "high" if ticket.priority != "high" else "normal"
            ticket_update(ticket=ticket, actor=actor, priority=priority)
            ticket.priority = priority
            kind = "priority"
        elif i % 10 < 7:
            message_add(
                ticket=ticket,
                content=f"Any news on order #{i}? The tracking has not moved.",
                from_agent=False,
                actor=None,
                actor_label="customer",
            )
            kind = "customer_message"
        elif i % 10 < 9:
            message_add(
                ticket=ticket,
                content="Thanks for waiting: the carrier confirmed a new delivery date.",
                from_agent=True,
                author_agent=actor,
                actor=actor,
            )
            kind = "agent_reply"
        else:
            others = [a for a in self.agents if a.pk != ticket.assignee_id]
            ticket.assignee = others[i % len(others)]
            ticket_assign(ticket=ticket, assignee=ticket.assignee, actor=actor)
            kind = "reassign"
        self.kinds[kind] += 1
        return time.time()


def _pipeline_phase(producer: PipelineChanges, *, changes: int, rate: float | None, drain_timeout):
    """Commit `changes` changes (at `rate` per second, or as fast as one thread can),
    wait until the worker has handled every event they caused, and measure."""
    from django.db.models import Max

    from tickets.models import TicketEvent

    marker = TicketEvent.objects.aggregate(m=Max("id"))["m"] or 0
    kinds_before = dict(producer.kinds)
    commits = []
    started = time.time()
    for n in range(changes):
        if rate:
            time.sleep(max(0.0, started + n / rate - time.time()))
        before = time.time()
        commits.append((before, producer.one()))
    events = TicketEvent.objects.filter(id__gt=marker)
    # Until every event is handled, or nothing moves for 30 s (a delivery waiting out a
    # retry's backoff: the beat's re-dispatch, which does not run here, would pick it up).
    deadline, stalled_at, left_before = time.monotonic() + drain_timeout, None, None
    while True:
        left = events.filter(handled_at__isnull=True).count()
        if left == 0 or time.monotonic() > deadline:
            break
        if left != left_before:
            left_before, stalled_at = left, time.monotonic()
        elif time.monotonic() - stalled_at > 30:
            break
        time.sleep(0.2)
    rows = list(events.values_list("kind", "created_at", "handled_at"))
    lags = [(h - c).total_seconds() * 1000 for _, c, h in rows if h is not None]
    if not lags:
        return {"events": len(rows), "handled": 0}
    first_commit = commits[0][1]
    last_done = max(h for _, _, h in rows if h is not None).timestamp()
    by_kind: dict[str, int] = defaultdict(int)
    for kind, _, _ in rows:
        by_kind[kind] += 1
    return {
        "changes": changes,
        "rate": rate,
        "change_mix": {k: v - kinds_before.get(k, 0) for k, v in producer.kinds.items()},
        "events": len(rows),
        "events_by_kind": dict(by_kind),
        "handled": len(lags),
        "marker": marker,
        "first_commit_at": first_commit,
        "last_done_at": last_done,
        "commit_seconds": round(commits[-1][1] - first_commit, 2),
        "change_ms_p50": round(pct([(b - a) * 1000 for a, b in commits], 50), 2),
        "seconds": round(last_done - first_commit, 2),  # first commit to last done
        "events_per_s": round(len(lags) / (last_done - first_commit), 1),
        "lag_p50_ms": round(pct(lags, 50), 1),
        "lag_p95_ms": round(pct(lags, 95), 1),
        "lag_max_ms": round(max(lags), 1),
    }


def event_pipeline(
    org, *, changes: int, steady_changes: int = 200, steady_rate: float = 5.0
) -> dict | None:
    """The pipeline end to end: ONE real Celery worker (solo pool, the embedded
    filesystem broker, started first and left idle until the changes come) and, as
    requests would make them, ticket changes committed one by one through the services.

    Two phases: `steady` (`steady_changes` at `steady_rate` per second: the worker keeps
    up, so the lag is the pipeline's own latency) then `burst` (`changes` as fast as one
    thread commits them: events per second end to end, first commit to last
    `handled_at`, is the worker's throughput, and the lag includes the queue). Also the
    worker's SQL statements and time per event, per task and per handler, and a check
    that every delivery ended `done`."""
    from django.conf import settings
    from django.db.models import Count, Q

    from tickets.models import EventDelivery

    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        print("event_pipeline: skipped (it measures the embedded filesystem broker)")
        return None
    queue = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    work = Path(os.environ["VAR_DIR"])
    stats_path, log_path = work / "pipeline-worker.json", work / "pipeline-worker.log"

    # A quiet start: clocks overdue already are marked now, not by the run's scans; the
    # earlier entries' broker messages are dropped (no worker ran for them; their events
    # stay unhandled, as before, and are not part of this measurement).
    sla_scan()
    for message in queue.iterdir():
        message.unlink()
    producer = PipelineChanges(org, steady_changes + changes)

    worker = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), PIPELINE_WORKER, str(stats_path)],
        cwd=ROOT,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        ready_by = time.monotonic() + 60
        while not Path(str(stats_path) + ".ready").exists():
            if worker.poll() is not None or time.monotonic() > ready_by:
                raise SystemExit(f"event_pipeline: no worker:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        time.sleep(2)  # idle, as a worker waiting for work is
        steady = _pipeline_phase(
            producer, changes=steady_changes, rate=steady_rate, drain_timeout=120
        )
        print(f"event_pipeline steady: {steady}", flush=True)
        burst = _pipeline_phase(
            producer, changes=changes, rate=None, drain_timeout=120 + changes * 0.2
        )
        print(f"event_pipeline burst: {burst}", flush=True)
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: finishes the task at hand
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    if not stats_path.exists() or not burst.get("handled"):
        raise SystemExit(f"event_pipeline: no result:\n{log_path.read_text()[-3000:]}")
    stats = json.loads(stats_path.read_text())

    # The worker's side, over both phases (the same mix of changes).
    first = steady["marker"]
    n = steady["events"] + burst["events"]
    deliveries: dict[tuple, dict] = {
        (d["handler"], d["status"]): d
        for d in EventDelivery.objects.filter(event_id__gt=first)
        .values("handler", "status")
        .annotate(n=Count("id"), retried=Count("id", filter=Q(attempts__gt=1)))
    }
    not_done = [
        {"handler": d["handler"], "event_id": d["event_id"], "error": d["last_error"][:300]}
        for d in EventDelivery.objects.filter(event_id__gt=first)
        .exclude(status="done")
        .values("handler", "event_id", "last_error")[:20]
    ]
    dispatch = [t for name, t in stats["tasks"].items() if "event_dispatch" in name]
    busy = sum(t["seconds"] for t in dispatch)
    queries = sum(t["queries"] for t in dispatch)
    handlers = {}
    for name, h in sorted(stats["handlers"].items(), key=lambda kv: -kv[1]["seconds"]):
        mine = [(st, d) for (hn, st), d in deliveries.items() if hn == name]
        handlers[name] = {
            "deliveries": h["calls"],
            "ms_per_delivery": round(h["seconds"] * 1000 / max(h["calls"], 1), 2),
            "queries_per_delivery": round(h["queries"] / max(h["calls"], 1), 1),
            "ms_per_event": round(h["seconds"] * 1000 / n, 2),
            "queries_per_event": round(h["queries"] / n, 2),
            "share_of_worker_time": round(h["seconds"] / busy, 3),
            "done": sum(d["n"] for st, d in mine if st == "done"),
            "not_done": sum(d["n"] for st, d in mine if st != "done"),
            "retried": sum(d["retried"] for _, d in mine),
        }
    handler_seconds = sum(h["seconds"] for h in stats["handlers"].values())
    handler_queries = sum(h["queries"] for h in stats["handlers"].values())
    for phase in (steady, burst):  # the worker's busy share of the phase's wall time
        window = phase["first_commit_at"], phase["last_done_at"]
        busy_in = sum(sec for at, sec in stats["spans"] if window[0] <= at <= window[1])
        phase["worker_busy_share"] = round(busy_in / phase["seconds"], 3)
        # Under a backlog the rest is the broker (the filesystem transport lists and sorts
        # its folder for every message), acks and Celery's own work.
        phase["outside_tasks_ms_per_event"] = round(
            (phase["seconds"] - busy_in) * 1000 / phase["events"], 2
        )
    row = {
        "name": "event_pipeline",
        # The table's columns: the burst's lag (commit to done) and events per second end
        # to end; the worker's statements per event.
        "p50_ms": burst["lag_p50_ms"],
        "p95_ms": burst["lag_p95_ms"],
        "rps": burst["events_per_s"],
        "queries": round(queries / n, 1),
        "floor_ms": None,
        "steady": steady,
        "burst": burst,
        "worker": {
            "process": "celery worker --pool=solo (one process), filesystem broker",
            "events": n,
            "busy_s": round(busy, 2),
            "ms_per_event": round(busy * 1000 / n, 2),
            "capacity_events_per_s": round(n / busy, 1),
            "queries_per_event": round(queries / n, 2),
            "statements": dict(sorted(stats["statements"].items(), key=lambda kv: -kv[1])),
            "dispatcher_ms_per_event": round((busy - handler_seconds) * 1000 / n, 2),
            "dispatcher_queries_per_event": round((queries - handler_queries) / n, 2),
            "tasks": stats["tasks"],
        },
        "handlers": handlers,
        "not_done": not_done,
    }
    w = row["worker"]
    print(
        f"event_pipeline               {row['rps']:.1f} events/s end to end ({burst['events']:,} "
        f"events from {changes:,} changes in {burst['seconds']:.1f} s), lag p50 "
        f"{row['p50_ms']:.0f} ms p95 {row['p95_ms']:.0f} ms; steady {steady_rate:g} changes/s: "
        f"lag p50 {steady['lag_p50_ms']:.0f} ms p95 {steady['lag_p95_ms']:.0f} ms; worker "
        f"{w['ms_per_event']:.1f} ms and {w['queries_per_event']:.1f} queries per event "
        f"(dispatcher {w['dispatcher_ms_per_event']:.1f} ms, "
        f"{w['dispatcher_queries_per_event']:.1f} q)",
        flush=True,
    )
    for name, h in handlers.items():
        print(f"  {name:<26} {h}", flush=True)
    if not_done:
        print(f"  NOT DONE: {not_done}", flush=True)
    return row


# --- Speed (issue 17): the open queue, minimal floors, HTTP through gunicorn ----------

SPEED = ("open_queue", "http", "seed_copy")
OPEN_QUEUE = "/api/v1/tickets?status=open&limit=25"
# The one statement that produces a page of the open queue with everything it shows:
# the ticket columns, the customer (a join) and the open SLA clocks (a correlated
# aggregate). Hand-written; the app's own SQL is measured against it (min_floor_ms).
MIN_FLOOR_LIST = """
SELECT page.*,
       (SELECT json_agg(json_build_object('metric', k.metric, 'status', k.status,
               'due_at', k.due_at, 'started_at', k.started_at, 'at_risk_at', k.at_risk_at,
               'target_seconds', k.target_seconds, 'policy_id', k.policy_id))
          FROM sla_slaclock k WHERE k.ticket_id = page.id AND k.is_open) AS sla
FROM (
    SELECT t.id, t.subject, t.status, t.priority, t.channel, t.created_at, t.updated_at,
           t.assignee_id, t.team_id, t.tag_names, t.message_count, t.last_message_preview,
           t.last_message_at, t.last_message_from_agent, t.smart_score, t.escalation_level,
           t.first_response_at, t.sla_status, t.sla_due_at, c.external_id, c.name
    FROM tickets_ticket t JOIN tickets_customer c ON c.id = t.customer_id
    WHERE t.organization_id = %s AND {where}
    ORDER BY {order} LIMIT {limit} OFFSET {offset}
) page
"""
# The detail: the ticket, its customer, its 50 messages and its SLA clocks in one statement.
MIN_FLOOR_DETAIL = """
SELECT t.*, c.external_id, c.name, c.email, c.tier,
       (SELECT json_agg(m ORDER BY m.created_at, m.id) FROM (
            SELECT id, content, from_agent, is_internal, author_name, author_email, channel,
                   delivery_status, attachments, created_at
            FROM tickets_message WHERE ticket_id = t.id AND archived_at IS NULL) m) AS messages,
       (SELECT json_agg(k) FROM sla_slaclock k WHERE k.ticket_id = t.id) AS sla
FROM tickets_ticket t JOIN tickets_customer c ON c.id = t.customer_id
WHERE t.organization_id = %s AND t.id = %s
"""


def min_floor_list(org, where="true", order="t.created_at DESC, t.id DESC", *, params=(),
                   limit=51, offset=0) -> float:  # fmt: skip
    sql = MIN_FLOOR_LIST.format(where=where, order=order, limit=limit, offset=offset)
    return min_floor(sql, [org.pk, *params])


def with_min_floor(row: dict, ms: float) -> None:
    """`min_floor_ms` (the hand-written statement) beside `floor_ms` (the app's own)."""
    row["min_floor_ms"] = ms
    row["p50_over_min_floor"] = round(row["p50_ms"] / max(ms, 0.01), 1)
    print(f"{row['name']:<28} min floor {ms:.2f} ms  p50/min floor {row['p50_over_min_floor']}x",
          flush=True)  # fmt: skip


def min_floor(sql: str, params) -> float:
    """Best of 5 runs of a hand-written statement, in ms."""
    best = None
    with connection.cursor() as cursor:
        for _ in range(5):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            elapsed = (time.perf_counter() - started) * 1000
            best = elapsed if best is None else min(best, elapsed)
    return round(best, 2)


SEED_TIMING = RESULTS.parent / "seed_bench.json"  # written by seed_bench


def seed_copy() -> dict:
    """`seed_copy`: seed_bench against a bare load of the same rows. The loaded database
    is dumped (pg_dump -Fc, not timed) and restored into an empty database by pg_restore
    -j 2: PostgreSQL's own bulk loader (COPY of every row, then the indexes and the
    constraints), on the same machine. seed_bench's time is the one it recorded when it
    loaded this database (bench/results/seed_bench.json)."""
    db = connection.settings_dict
    target = f"{db['NAME']}_bare_copy"
    where = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
    seeded = json.loads(SEED_TIMING.read_text()) if SEED_TIMING.exists() else None
    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / "bench.dump"
        started = time.perf_counter()
        subprocess.run(["pg_dump", *where, "-Fc", "-Z0", "-f", str(dump), db["NAME"]],
                       env=env, check=True)  # fmt: skip
        dumped = time.perf_counter() - started
        subprocess.run(["dropdb", *where, "--if-exists", target], env=env, check=True)
        subprocess.run(["createdb", *where, "-T", "template0", target], env=env, check=True)
        try:
            started = time.perf_counter()
            subprocess.run(["pg_restore", *where, "-j", "2", "--no-owner", "-d", target,
                            str(dump)], env=env, check=True)  # fmt: skip
            restored = time.perf_counter() - started
        finally:
            subprocess.run(["dropdb", *where, "--if-exists", target], env=env, check=True)
    row = {
        "name": "seed_copy",
        "bare_load_s": round(restored, 1),
        "dump_s": round(dumped, 1),
        "seed_bench_s": seeded and seeded["seconds"],
        "seed_bench_phases": seeded and seeded["phases"],
        "seed_over_bare_load": seeded and round(seeded["seconds"] / restored, 2),
        "target": "seed_bench <= 2x the bare load",
    }
    print(f"seed_copy: bare load {restored:.1f} s, seed_bench {row['seed_bench_s']} s, "
          f"{row['seed_over_bare_load']}x", flush=True)  # fmt: skip
    return row


def open_queue(bench: Bench, *, org, key: str) -> None:
    """`ticket_list_open` / `ticket_list_open_smart`: the frontend's inbox call
    (`status=open&limit=25`, by date and by smart score) in-process with an API key,
    with the app's SQL (`floor_ms`) and the minimal statement (`min_floor_ms`)."""
    api = Client(HTTP_X_API_KEY=key)
    for name, path, order in (
        ("ticket_list_open", OPEN_QUEUE, "t.created_at DESC, t.id DESC"),
        (
            "ticket_list_open_smart",
            f"{OPEN_QUEUE}&smart_order=true",
            "t.smart_score DESC, t.created_at DESC, t.id DESC",
        ),
    ):
        row = bench.measure(name, lambda path=path: api.get(path), floor=True)
        with_min_floor(row, min_floor_list(org, "t.status = 'open'", order, limit=26))


class Gunicorn:
    """The web process as production runs it: `gunicorn -c gunicorn.conf.py` (the
    documented settings), bound to a free local port."""

    def __init__(self, *extra: str):
        self.port = free_port()
        self.extra = extra

    def __enter__(self):
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.server = subprocess.Popen(
            [str(gunicorn), "quimbi_support.wsgi", "-c", str(ROOT / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", *self.extra],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,  # the access log: written, not shown
            env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1"},
        )  # fmt: skip
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        return self

    def __exit__(self, *exc):
        self.server.terminate()
        self.server.wait(timeout=10)


def http_load(port, name, path, *, headers, method="GET", body=None, clients=16, seconds=10):
    """`clients` keep-alive clients on 127.0.0.1 for `seconds`, each sending its next
    request when the last answered; requests/s, p50/p95 latency, non-2xx answers."""
    latencies, errors, stop = [], [0], time.monotonic() + seconds
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 300:
                bad += 1
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    row = {
        "name": name,
        "p50_ms": round(pct(latencies, 50), 2),
        "p95_ms": round(pct(latencies, 95), 2),
        "rps": round(len(latencies) / elapsed, 1),
        "queries": None,
        "floor_ms": None,
        "clients": clients,
        "errors": errors[0],
    }
    print(f"{name:<28} {row['rps']:>8.1f} rps  p50 {row['p50_ms']:.2f} ms  "
          f"p95 {row['p95_ms']:.2f} ms  errors {row['errors']}", flush=True)  # fmt: skip
    return row


def http_entries(bench: Bench, args, *, org, key: str) -> None:
    """Through gunicorn with the documented production settings, 16 clients each:
    `whoami_http` (authentication and middleware alone), `ticket_list_open_http`,
    `ticket_detail_http` (50 messages), `message_create_http` (an agent reply with its
    outbox event; the replies are deleted afterwards), `admin_changelist_http` and
    `admin_ticket_page_http` (a manager's session)."""
    from django.test import Client as SessionClient

    seconds = args.gunicorn_seconds
    api = {"X-API-Key": key}
    manager = Agent.objects.filter(organization=org, role="manager").first()
    browser = SessionClient()
    browser.force_login(manager)
    cookie = {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}
    ticket = ticket_with_50_messages(org)  # the same one as hot_paths' ticket_detail
    target = Ticket.objects.filter(organization=org, status="open").order_by("created_at").first()
    started_at = timezone.now()
    reply = json.dumps({"content": "Thanks, a replacement is on its way.", "from_agent": True})
    with Gunicorn():
        pass  # a first start warms the imports' file cache
    with Gunicorn() as server:
        port = server.port
        for name, path, headers in (
            ("whoami_http", "/api/v1/auth/whoami", api),
            ("ticket_list_open_http", OPEN_QUEUE, api),
            ("ticket_list_open_smart_http", f"{OPEN_QUEUE}&smart_order=true", api),
            ("ticket_detail_http", f"/api/v1/tickets/{ticket.pk}", api),
            ("admin_changelist_http", "/admin/tickets/ticket/", cookie),
            ("admin_ticket_page_http", f"/admin/tickets/ticket/{ticket.pk}/change/", cookie),
        ):
            http_load(port, "warm-up", path, headers=headers, seconds=2)
            bench.results.append(http_load(port, name, path, headers=headers, seconds=seconds))
        bench.results.append(
            http_load(
                port,
                "message_create_http",
                f"/api/v1/tickets/{target.pk}/messages",
                headers={**api, "Content-Type": "application/json"},
                method="POST",
                body=reply,
                seconds=seconds,
            )  # fmt: skip
        )
    created = Message.all_objects.filter(ticket=target, created_at__gte=started_at)
    bench.results[-1]["messages_written"] = created.count()
    TicketEvent.objects.filter(ticket=target, created_at__gte=started_at).delete()
    created.delete()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == PIPELINE_WORKER:
        return pipeline_worker(sys.argv[2])
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gunicorn-seconds", type=int, default=10)
    parser.add_argument(
        "--pipeline-changes", type=int, help="event_pipeline changes (10,000; 2,000 quick)"
    )
    parser.add_argument(
        "--analytics-repeat",
        type=int,
        help="repetitions of the analytics and dashboard entries (20; 10 quick)",
    )
    parser.add_argument(
        "--only",
        help="measure these entries alone, comma-separated: hot_paths (every request-path "
        f"entry), {', '.join(AT_WORK)}, {', '.join(AUTOMATION)}, webhook_fanout, import_zendesk, "
        "email_inbound, sms_inbound, open_queue, http, seed_copy, event_pipeline; latest.json "
        "keeps the other rows "
        "of its previous run",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench/run.py measures PostgreSQL: set DATABASE_URL.")
    org = Organization.objects.filter(slug__startswith="bench-").order_by("slug").first()
    if org is None:
        raise SystemExit("No benchmark data: run `manage.py seed_bench` first (make bench).")
    tickets = Ticket.objects.count()
    messages = Message.objects.count()
    print(f"dataset: {tickets:,} tickets, {messages:,} messages", flush=True)
    _, key = api_key_create(
        organization=org, name=f"bench {time.time():.0f}", role="manager", actor=None
    )
    everything = (
        "hot_paths",
        *AT_WORK,
        *AUTOMATION,
        "webhook_fanout",
        "import_zendesk",
        *CHANNELS,
        "event_pipeline",
        *SPEED,
    )
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else everything
    unknown = sorted(set(only) - set(everything))
    if unknown:
        parser.error(f"--only: unknown {', '.join(unknown)}; choose from {', '.join(everything)}")
    bench = Bench(repeat=15 if args.quick else 40)
    if "hot_paths" in only:
        hot_paths(bench, args, org=org, key=key, tickets=tickets)
    if "open_queue" in only:
        open_queue(bench, org=org, key=key)
    if "http" in only:
        http_entries(bench, args, org=org, key=key)
    if "seed_copy" in only:
        bench.results.append(seed_copy())
    at_work = [n for n in AT_WORK if n in only]
    if at_work:
        agents_at_work(bench, args, org=org, key=key, names=at_work)
    automation = [n for n in AUTOMATION if n in only]
    if automation:
        automations(bench, args, org=org, names=automation)
    if "webhook_fanout" in only:  # it changes 1,000 tickets' priority: near the end
        fanout = webhook_fanout(org)
        if fanout is not None:
            bench.results.append(fanout)
    if "import_zendesk" in only:
        bench.results.append(import_zendesk(org))
    channels = [n for n in CHANNELS if n in only]
    if channels:
        channels_intake(bench, org, channels)
    # Last: it adds messages and events, which the entries above must not see.
    if "event_pipeline" in only:
        changes = args.pipeline_changes or (2_000 if args.quick else 10_000)
        pipeline = event_pipeline(org, changes=changes, steady_changes=100 if args.quick else 200)
        if pipeline is not None:
            bench.results.append(pipeline)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results, plans, kept = bench.results, bench.plans, []
    if args.only and RESULTS.exists():
        # A partial run: the other entries' rows of the previous run stay (named in
        # `kept`: measured then, possibly on another dataset or machine).
        previous = json.loads(RESULTS.read_text())
        measured = {row["name"] for row in results}
        kept = [r for r in previous.get("results", []) if r["name"] not in measured]
        results = kept + results
        plans = {
            **{k: v for k, v in previous.get("plans", {}).items() if k not in measured},
            **plans,
        }
        kept = [r["name"] for r in kept]
    RESULTS.write_text(
        json.dumps(
            {
                "dataset": {"tickets": tickets, "messages": messages, **workforce(org)},
                "machine": machine(),
                "results": results,
                "kept_from_previous_run": kept,
                "plans": plans,
            },
            indent=2,
            default=str,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
