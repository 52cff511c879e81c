#!/usr/bin/env python
"""Benchmark harness: hot paths on a loaded PostgreSQL database.

    python bench/run.py                # measures the database in DATABASE_URL
    python bench/run.py --quick        # fewer repetitions

Loads nothing itself (see `make bench` / `make bench-quick`, which run seed_bench first).
Measures (a) in-process through Django's test client and (b) through a real gunicorn
server over 127.0.0.1 with concurrent clients. For each measurement: p50/p95 latency,
requests per second, SQL queries per request and, for list queries, the same SQL timed
directly in PostgreSQL (the floor) with its EXPLAIN ANALYZE plan. Writes
bench/results/latest.json and prints a table.
"""

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quimbi_support.settings")

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
from tickets.models import Message, Ticket  # noqa: E402
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

    def measure(self, name, fn, *, floor=False, repeat=None, expect=(200, 201)):
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


def gunicorn_load(key: str, path: str, *, clients=16, seconds=10, workers=3) -> dict:
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(
        [
            str(gunicorn),
            "quimbi_support.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1"},
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        latencies, errors, stop = [], [0], time.monotonic() + seconds
        lock = threading.Lock()

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine = []
            while time.monotonic() < stop:
                started = time.perf_counter()
                conn.request("GET", path, headers={"X-API-Key": key})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[0] += 1
                mine.append((time.perf_counter() - started) * 1000)
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "name": f"gunicorn_ticket_list_{clients}_clients",
        "p50_ms": round(pct(latencies, 50), 2),
        "p95_ms": round(pct(latencies, 95), 2),
        "rps": round(len(latencies) / elapsed, 1),
        "queries": None,
        "floor_ms": None,
        "workers": workers,
        "errors": errors[0],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gunicorn-seconds", type=int, default=10)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
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
    api = Client(HTTP_X_API_KEY=key)
    bench = Bench(repeat=15 if args.quick else 40)

    manager = Agent.objects.filter(organization=org, role="manager").first()
    agent = Agent.objects.filter(organization=org, role="agent").first()
    base = "/api/v1/tickets?limit=50"
    bench.measure("ticket_list", lambda: api.get(base), floor=True)
    bench.measure(
        "ticket_list_filtered",
        lambda: api.get(f"{base}&status=open,in_progress&assigned_to={agent.pk}"),
        floor=True,
    )
    bench.measure("ticket_list_smart", lambda: api.get(f"{base}&smart_order=true"), floor=True)
    bench.measure("ticket_list_search", lambda: api.get(f"{base}&q=refund"), floor=True)
    deep = max(tickets // 50 // 2, 1)
    bench.measure(
        "ticket_list_deep_page", lambda: api.get(f"{base}&page={deep}"), floor=True, repeat=10
    )
    # A cursor deep in the list: walk there once, then measure fetching that page.
    middle = (
        Ticket.objects.filter(organization=org)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[tickets // 2 : tickets // 2 + 1]
    )
    from tickets.pagination import cursor_encode

    deep_cursor = cursor_encode(list(middle[0])) if middle else ""
    bench.measure(
        "ticket_list_deep_cursor", lambda: api.get(f"{base}&cursor={deep_cursor}"), floor=True
    )

    # A ticket with 50 messages.
    ticket = Ticket.objects.filter(organization=org, status="open").order_by("-created_at").first()
    for i in range(max(0, 50 - ticket.message_count)):
        message_add(
            ticket=ticket,
            content=f"Follow-up {i}: still waiting on the refund.",
            from_agent=i % 2 == 1,
            actor=None,
        )
    bench.measure("ticket_detail", lambda: api.get(f"/api/v1/tickets/{ticket.pk}"), floor=True)
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
        due = list(
            SLAClock.objects.filter(is_open=True, status__in=["active", "breached"])
            .order_by("id")
            .values_list("id", flat=True)[:1000]
        )
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
        SLAClock.objects.filter(id__in=due).update(
            status="active", breached_at=None, due_at=now + timedelta(days=1)
        )
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
    started = time.perf_counter()
    rescored = scores_refresh(organization_id=org.pk, limit=100_000)
    elapsed = (time.perf_counter() - started) * 1000
    bench.results.append(
        {
            "name": "rescore",
            "p50_ms": round(elapsed, 1),
            "p95_ms": round(elapsed, 1),
            "rps": None,
            "queries": None,
            "floor_ms": None,
            "tickets": rescored,
        }
    )
    print(
        f"rescore                      {elapsed / 1000:.2f} s for {rescored:,} tickets", flush=True
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

    bench.results.append(
        gunicorn_load(key, base, seconds=args.gunicorn_seconds, workers=args.gunicorn_workers)
    )
    print(f"gunicorn 16 clients          {bench.results[-1]}", flush=True)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "dataset": {"tickets": tickets, "messages": messages},
                "machine": machine(),
                "results": bench.results,
                "plans": bench.plans,
            },
            indent=2,
            default=str,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
