"""`manage.py seed_bench --tickets N --messages-per-ticket M --organizations K`

Loads a realistic benchmark dataset into PostgreSQL with large server-side bulk writes
(INSERT … SELECT over generate_series): organizations, teams, agents, rules, a business
calendar and SLA policies (through the services), customers, tickets across statuses,
priorities, channels and two years of ages, their conversations, SLA clocks, and one
`ticket.created` event per ticket. As pg_restore does, the tables' keys and indexes are
dropped during the load and added back after it (each key checked against every row),
then the tables are analysed.

It refuses to touch a database holding anything but benchmark data (organizations whose
slug does not start with `bench-`), and refuses a second load unless `--reset`.
"""

import json
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

import orjson
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from agents.models import Agent, Organization, Skill, Team
from agents.services import agent_role_sync
from analytics.rollup import rollup_refresh
from routing.models import TeamRouting
from rules.models import Rule
from rules.services import SCORE_FIELDS, scores_compute_for
from sla.models import BusinessCalendar, SLAPolicy
from sla.policies import calendar_save, policy_save
from tickets import lifecycle
from tickets.models import Ticket

PREFIX = "bench-"
TABLES = [
    "tickets_ticket",
    "tickets_message",
    "tickets_customer",
    "tickets_ticketevent",
    "tickets_eventdelivery",
    "sla_slaclock",
    "tickets_assignment",
    "tickets_satisfaction",
]
SUBJECTS = [
    "Where is my order",
    "Refund request",
    "Item arrived damaged",
    "Wrong size delivered",
    "Discount code not working",
    "Charged twice",
    "Question about ingredients",
    "Change shipping address",
    "Cancel my subscription",
    "Loyalty points missing",
    "Need this before Friday",
    "Package marked delivered but not here",
]
PHRASES = [
    "I ordered last week and the tracking has not updated since Tuesday.",
    "Can you please refund my order? The jacket does not fit.",
    "The ceramic planter arrived cracked in two places.",
    "I was charged twice for the same order, please fix this.",
    "Thanks for the quick answer, that solved it.",
    "We have issued a replacement with express shipping.",
    "Could you tell me if the lavender butter contains nut oils?",
    "Your parcel was held at the regional hub because of weather delays.",
    "I need the gift set delivered before the wedding on Saturday.",
    "I have applied a fifteen percent discount to your cart.",
]

# --- The workforce (issue 13): 200 agents in 20 teams, skills, routing ---------------------
AGENTS = 200
TEAMS = [
    "Tier 1",
    "Tier 2",
    "Billing",
    "VIP",
    "Returns",
    "Shipping",
    "Wholesale",
    "Spanish desk",
    "French desk",
    "German desk",
    "Subscriptions",
    "Loyalty",
    "Social",
    "Phone desk",
    "Chat desk",
    "Escalations",
    "Onboarding",
    "Marketplace",
    "Gift cards",
    "Night shift",
]
# (name, tags, channels): a ticket with one of the tags or on one of the channels needs it.
SKILLS = [
    ("Spanish", ["es", "spanish"], []),
    ("French", ["fr", "french"], []),
    ("German", ["de", "german"], []),
    ("Phone", [], ["phone"]),
    ("Chat", [], ["chat"]),
    ("SMS", [], ["sms"]),
    ("Billing", ["billing", "refund", "charge"], []),
    ("Returns", ["return", "damaged"], []),
    ("VIP care", ["vip"], []),
    ("Wholesale", ["wholesale", "b2b"], []),
]


STRATEGIES = ["skills"] * 4 + ["least_loaded"] * 3 + ["round_robin"] * 2 + ["manual"]


def _strategy(t: int) -> str:
    """8 teams route by skills, 6 least-loaded, 4 round-robin, 2 manually."""
    return STRATEGIES[t % len(STRATEGIES)]


def _has_calendar(t: int) -> bool:
    """5 of the 20 teams work the office's hours; the others around the clock."""
    return t % 4 == 1


def _primary(i: int) -> int | None:
    """Agent i's primary team (the manager, agent 0, is in none)."""
    return None if i == 0 else i % len(TEAMS)


def _teams_of(i: int) -> list[int]:
    """Every agent in one team, every third in a second one."""
    if i == 0:
        return []
    teams = [_primary(i)]
    second = (i * 7 + 3) % len(TEAMS)
    if i % 3 == 0 and second not in teams:
        teams.append(second)
    return teams


def _skills_of(i: int) -> list[int]:
    """1 to 3 skills each, varied within a team (its members are i, i + 20, ...)."""
    n = len(SKILLS)
    first = (i + i // len(TEAMS)) % n
    skills = [first]
    if i % 2 == 0:
        skills.append((first + 3) % n)
    if i % 3 == 0:
        skills.append((first + 6) % n)
    return skills


def _availability(i: int) -> str:
    """Most agents available, about 1 in 23 away and 1 in 23 offline."""
    return {7: "away", 13: "offline"}.get(i % 23, "available")


def _capacity(i: int) -> int:
    """The dataset keeps half its tickets active (the existing entries measure that), so
    an agent holds ~1,750 open tickets: capacities of 1,700 to 2,299 leave most agents
    room and a few at capacity, as the skills strategy meets them."""
    return 1_700 + (i * 37) % 600


# Seconds per phase of the last load, recorded beside the benchmark's results.
PHASES: dict[str, float] = {}
TIMING = settings.BASE_DIR / "bench" / "results" / "seed_bench.json"


class Progress:
    def __init__(self, label: str, total: int):
        self.label, self.total, self.done, self.started = label, max(total, 1), 0, time.monotonic()
        PHASES.setdefault(label, 0.0)

    def advance(self, n: int) -> None:
        self.done += n
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 30)
        elapsed = time.monotonic() - self.started
        sys.stderr.write(
            f"\r{self.label:<18} [{bar:<30}] {share:6.1%} {self.done:>10,}/{self.total:,}"
            f"  {elapsed:6.1f}s"
        )
        sys.stderr.flush()
        PHASES[self.label] = round(elapsed, 1)
        if self.done >= self.total:
            sys.stderr.write("\n")


@contextmanager
def phase(label: str):
    started = time.monotonic()
    yield
    PHASES[label] = round(time.monotonic() - started, 1)


@contextmanager
def _terminated_as_exit():
    """SIGTERM (`kill`, a runner's timeout) raised as SystemExit while it lasts, so that the
    load's `finally` puts back the keys and indexes it dropped: a killed load used to leave
    the tables without them, and the next load, finding none to drop, rebuilt none."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# Statements that rebuild indexes and keys run this many at a time, each on a connection
# of its own: one per core here (2), as the bare load's `pg_restore -j 2` does.
WORKERS = 2


def _index_table(ddl: str) -> str:
    """The table of a CREATE INDEX statement (pg_indexes.indexdef)."""
    return ddl.split(" ON ", 1)[1].split()[0].removeprefix("ONLY ").split(".")[-1]


def _if_not_exists(ddl: str) -> str:
    for create in ("CREATE UNIQUE INDEX ", "CREATE INDEX "):
        if ddl.startswith(create) and not ddl.startswith(f"{create}IF NOT EXISTS "):
            return f"{create}IF NOT EXISTS {ddl.removeprefix(create)}"
    return ddl


def _in_parallel(
    statements: list[str],
    progress: Progress | None = None,
    setup: str = "",
    workers=WORKERS,
    params: list | None = None,
) -> None:
    """Run independent statements WORKERS at a time, each thread on its own connection
    (closed when it is done); the first failure is raised. With `params` (even []), the
    statements are parsed for placeholders (`%%` is a literal %); DDL is sent as it is."""

    def run(sql: str) -> None:
        try:
            with connections["default"].cursor() as cursor:
                if setup:
                    cursor.execute(setup)
                cursor.execute(sql, params)
        finally:
            connections["default"].close()
        if progress is not None:
            progress.advance(1)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(run, statements):
            pass


# The load's lookup tables (organizations, teams and customers by number): UNLOGGED
# tables, not TEMP ones (which only their own session sees), so that the chunks of
# tickets and messages are written WORKERS at a time, each on a connection of its own.
# Dropped when the load ends, however it ends.
LOOKUPS = ("bench_org", "bench_team", "bench_customer")
TEMPS = ("bench_sla", "bench_score")


def _chunks_in_parallel(sql: str, total: int, chunk: int, progress: Progress, per=1) -> None:
    """Run `sql` (parameters: start, stop) for each chunk of range(total), WORKERS at a
    time, each on a connection of its own; the first failure is raised."""

    def run(span: tuple[int, int]) -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute(sql, list(span))
        finally:
            connections["default"].close()
        progress.advance((span[1] - span[0]) * per)

    spans = [(start, min(start + chunk, total)) for start in range(0, total, chunk)]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for _ in pool.map(run, spans):
            pass


class Command(BaseCommand):
    help = "Load a benchmark dataset (PostgreSQL only; refuses non-benchmark databases)."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=1_000_000)
        parser.add_argument("--messages-per-ticket", type=int, default=5)
        parser.add_argument("--organizations", type=int, default=1)
        parser.add_argument("--chunk", type=int, default=100_000)
        parser.add_argument("--reset", action="store_true", help="replace an earlier load")

    def handle(self, *args, tickets, messages_per_ticket, organizations, chunk, reset, **kw):
        if connection.vendor != "postgresql":
            raise CommandError("seed_bench needs PostgreSQL (set DATABASE_URL).")
        if tickets < 1 or organizations < 1 or messages_per_ticket < 1:
            raise CommandError("--tickets, --organizations and --messages-per-ticket are >= 1.")
        foreign = Organization.objects.exclude(slug__startswith=PREFIX)
        if foreign.exists():
            raise CommandError(
                "Refusing: this database holds non-benchmark data (organizations "
                f"{', '.join(foreign.values_list('slug', flat=True)[:5])}). "
                "Use an empty database for benchmarks."
            )
        if Organization.objects.exists():
            if not reset:
                raise CommandError("A benchmark dataset is already loaded; use --reset.")
            self._reset()
        started = time.monotonic()
        orgs = [self._organization(i) for i in range(organizations)]
        keys, dropped = [], []
        with _terminated_as_exit():
            try:
                with transaction.atomic():  # all of them dropped, or none
                    keys, dropped = self._drop_keys(), self._drop_indexes()
                self._load(orgs, tickets, messages_per_ticket, chunk, dropped, keys)
            finally:
                # The shared lookup tables, and this session's TEMP tables (so that a
                # second load in one process works).
                self._sql(f"DROP TABLE IF EXISTS {', '.join(LOOKUPS + TEMPS)}")
                self._recreate_indexes(dropped)
                self._restore_keys(keys)
        # VACUUM as autovacuum would: statistics for the planner, and the visibility map
        # that lets counts run as index-only scans.
        with phase("vacuum"), connection.cursor() as cursor:
            _in_parallel([f"VACUUM ANALYZE {table}" for table in TABLES])
            # ...and statistics for the other tables the load wrote (the agents, teams,
            # rules and policies), which autovacuum would gather too, where it runs: a
            # planner that takes 200 agents for one picks nested loops over 700,000
            # tickets (the agents' report took 4 s instead of 0.45 s).
            cursor.execute("SELECT relname FROM pg_stat_user_tables WHERE n_mod_since_analyze > 0")
            for (table,) in cursor.fetchall():
                cursor.execute(f'ANALYZE "{table}"')
        # The reports' daily roll-up up to yesterday, as the hourly beat task keeps it.
        progress = Progress("analytics roll-up", len(orgs))
        for org in orgs:
            rollup_refresh(organization_id=org["org"].pk, workers=WORKERS)
            progress.advance(1)
        with phase("vacuum roll-up"), connection.cursor() as cursor:
            for table in ("analytics_dailyfigures", "analytics_responsetime"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        seconds = time.monotonic() - started
        TIMING.parent.mkdir(parents=True, exist_ok=True)
        TIMING.write_text(
            json.dumps(
                {
                    "tickets": tickets,
                    "messages": tickets * messages_per_ticket,
                    "organizations": organizations,
                    "seconds": round(seconds, 1),
                    "phases": PHASES,
                    "finished_at": timezone.now().isoformat(),
                },
                indent=2,
            )
        )
        self.stdout.write(
            f"Loaded {tickets:,} tickets and {tickets * messages_per_ticket:,} messages in "
            f"{len(orgs)} organization(s) in {seconds:.0f} s (phases: {TIMING})."
        )

    # --- set-up through the ORM (small) ---------------------------------------------
    def _reset(self):
        # The roll-up's tables too: deleting their rows one by one through the
        # organizations' CASCADE left 800,000 dead rows for the closing VACUUM (20 s).
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE tickets_ticket, tickets_message, tickets_ticketevent, "
                "tickets_eventdelivery, sla_slaclock, sla_slaevent, sla_slanotification, "
                "tickets_customer, tickets_historicalcustomer, tickets_ticket_tags, "
                "tickets_assignment, tickets_satisfaction, tickets_historicalsatisfaction, "
                "tickets_historicalticket, analytics_dailyfigures, analytics_responsetime, "
                "analytics_rollupstate CASCADE"
            )
        SLAPolicy.objects.all().delete()
        BusinessCalendar.objects.all().delete()
        Agent.objects.filter(organization__slug__startswith=PREFIX).delete()
        Organization.objects.all().delete()

    @transaction.atomic
    def _organization(self, index: int) -> dict:
        org = Organization.objects.create(
            name=f"Bench {index + 1}", slug=f"{PREFIX}{index + 1}", timezone="America/New_York"
        )
        teams = Team.objects.bulk_create(Team(organization=org, name=n) for n in TEAMS)
        password = make_password("bench12345")
        agents = Agent.objects.bulk_create(
            Agent(
                organization=org,
                email=f"agent{i}@{org.slug}.example",
                name=f"Agent {i}",
                role="manager" if i == 0 else "agent",
                availability=_availability(i),
                capacity=_capacity(i),
                password=password,
            )
            for i in range(AGENTS)
        )
        for agent in agents:  # the role's group, so the manager can open the admin
            agent_role_sync(agent=agent)
        skills = Skill.objects.bulk_create(
            Skill(organization=org, name=name, tags=tags, channels=channels)
            for name, tags, channels in SKILLS
        )
        members: dict[int, list] = {t: [] for t in range(len(TEAMS))}
        memberships, holdings = [], []
        for i, agent in enumerate(agents):
            for t in _teams_of(i):
                members[t].append(agent.pk)
                memberships.append(Agent.teams.through(agent_id=agent.pk, team_id=teams[t].pk))
            for k in _skills_of(i):
                holdings.append(Agent.skills.through(agent_id=agent.pk, skill_id=skills[k].pk))
        Agent.teams.through.objects.bulk_create(memberships)
        Agent.skills.through.objects.bulk_create(holdings)
        Rule.objects.bulk_create(
            [
                Rule(
                    organization=org,
                    name="Refund",
                    type="custom",
                    keywords=["refund"],
                    boost_amount=2.0,
                ),
                Rule(
                    organization=org,
                    name="Damaged",
                    type="custom",
                    keywords=["damaged", "cracked"],
                    boost_amount=2.0,
                ),
                Rule(
                    organization=org,
                    name="Shipping delay",
                    type="custom",
                    keywords=["tracking", "delay"],
                    boost_amount=1.5,
                ),
                Rule(
                    organization=org,
                    name="Time-sensitive",
                    type="time_sensitive",
                    keywords=["wedding", "before friday"],
                    boost_amount=3.0,
                ),
                Rule(
                    organization=org,
                    name="VIP",
                    type="vip",
                    conditions={"tiers": ["vip"]},
                    boost_amount=3.0,
                ),
            ]
        )
        calendar = calendar_save(
            organization=org,
            data={
                "name": "Office",
                "timezone": "America/New_York",
                "holiday_country": "US",
                "hours": [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(5)],
            },
            actor=None,
        )
        policy = policy_save(
            organization=org,
            data={
                "name": "Standard",
                "first_response_minutes": 240,
                "next_response_minutes": 480,
                "resolution_minutes": 2880,
                "calendar": calendar.pk,
                "pause_on_pending": ["resolution"],
            },
            actor=None,
        )
        TeamRouting.objects.bulk_create(
            TeamRouting(
                team=team,
                organization=org,
                strategy=_strategy(t),
                calendar=calendar if _has_calendar(t) else None,
                on_agent_away=("keep", "redistribute", "return_to_queue")[t % 3],
                is_default=t == 0,
            )
            for t, team in enumerate(teams)
        )
        return {
            "org": org,
            "teams": [t.pk for t in teams],
            "agents": [a.pk for a in agents],
            # The agents a team's tickets are assigned to: its primary members.
            "members": [
                [a.pk for i, a in enumerate(agents) if _primary(i) == t] for t in range(len(teams))
            ],
            "policy": policy.pk,
        }

    # --- indexes ---------------------------------------------------------------------
    def _drop_keys(self) -> list[tuple[str, str, str]]:
        """Drop the loaded tables' keys, as pg_restore loads rows before it adds them:
        each foreign key from or to them (checked row by row, a key costs one lookup per
        row, 15 million for the messages alone; added back after the load, one join),
        then their primary keys and unique constraints (an index built once from sorted
        rows, not grown by millions of random inserts). Returns (table, name, definition)
        in the order they go back: the unique ones first, which the foreign keys need."""
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype
                FROM pg_constraint
                WHERE (contype = 'f' AND (conrelid::regclass::text = ANY(%s)
                                          OR confrelid::regclass::text = ANY(%s)))
                   OR (contype IN ('p', 'u') AND conrelid::regclass::text = ANY(%s))
                """,
                [TABLES, TABLES, TABLES],
            )
            found = cursor.fetchall()
            foreign = [row[:3] for row in found if row[3] == "f"]
            unique = [row[:3] for row in found if row[3] != "f"]
            for table, name, _ in foreign + unique:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        return unique + foreign

    def _restore_keys(self, keys, label="keys", workers=WORKERS):
        """Add the keys back (those not there: a key added already is left as it is), each
        checked against every loaded row: the primary keys and unique constraints, then
        the foreign keys (which need them), `workers` at a time."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint "
                "WHERE conrelid::regclass::text = ANY(%s)",
                [sorted({table for table, _, _ in keys})],
            )
            there = set(cursor.fetchall())
        keys = [k for k in keys if (k[0], k[1]) not in there]
        progress = Progress(label, len(keys))
        unique = [k for k in keys if not k[2].startswith("FOREIGN KEY")]
        foreign = [k for k in keys if k[2].startswith("FOREIGN KEY")]
        for batch in (unique, foreign):
            statements = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in batch]
            _in_parallel(statements, progress, workers=workers)

    def _drop_indexes(self) -> list[tuple[str, str]]:
        """Drop the other indexes (the unique ones of conditional constraints too), after
        the keys; returns their DDL."""
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT i.indexname, i.indexdef FROM pg_indexes i
                WHERE i.tablename = ANY(%s) AND i.schemaname = current_schema()
                  AND NOT EXISTS (
                      SELECT 1 FROM pg_constraint c WHERE c.contype IN ('p', 'u', 'x')
                        AND c.conindid = format('%%I.%%I', i.schemaname, i.indexname)::regclass)
                """,
                [TABLES],
            )
            dropped = cursor.fetchall()
            for name, _ in dropped:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        return dropped

    def _indexes_apart(self, dropped, keys):
        """_recreate_indexes, then _restore_keys, one at a time on connections of this
        thread's own, closed after."""
        try:
            self._recreate_indexes(dropped, "indexes, while scoring", workers=1)
            self._restore_keys(keys, "keys, while scoring", workers=1)
        finally:
            connections["default"].close()

    def _recreate_indexes(self, dropped, label="indexes", workers=WORKERS):
        """Build the dropped indexes again (those not there: an index built already is
        left as it is), `workers` at a time (as pg_restore -j does), the largest tables'
        first so that the last ones to finish are small."""
        progress = Progress(label, len(dropped))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relname = ANY(%s)",
                [TABLES],
            )
            sizes = dict(cursor.fetchall())
        ddl = [
            _if_not_exists(d)
            for _, d in sorted(dropped, key=lambda i: -sizes.get(_index_table(i[1]), 0))
        ]
        _in_parallel(ddl, progress, setup="SET maintenance_work_mem = '512MB'", workers=workers)

    # --- the bulk load ---------------------------------------------------------------
    def _sql(self, sql, params=None):
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])

    def _load(self, orgs, tickets, per_ticket, chunk, dropped=(), keys=()):
        k = len(orgs)
        customers = max(tickets // 20, 1)
        self._sql(f"DROP TABLE IF EXISTS {', '.join(LOOKUPS)}")
        self._sql(
            "CREATE UNLOGGED TABLE bench_org (n int PRIMARY KEY, id uuid, agents uuid[], "
            "teams uuid[], policy uuid)"
        )
        for n, o in enumerate(orgs):
            self._sql(
                "INSERT INTO bench_org VALUES (%s, %s, %s, %s, %s)",
                [n, o["org"].pk, o["agents"], o["teams"], o["policy"]],
            )
        # Each team's primary members: a team's assigned tickets go to them.
        self._sql("CREATE UNLOGGED TABLE bench_team (n int, t int, id uuid, members uuid[])")
        for n, o in enumerate(orgs):
            for t, (team_id, members) in enumerate(zip(o["teams"], o["members"], strict=True)):
                self._sql(
                    "INSERT INTO bench_team VALUES (%s, %s, %s, %s)", [n, t, team_id, members]
                )
        self._sql("CREATE INDEX ON bench_team (n, t)")
        progress = Progress("customers", customers)
        self._sql("CREATE UNLOGGED TABLE bench_customer (cg int PRIMARY KEY, id uuid, org uuid)")
        self._sql(
            """
            INSERT INTO bench_customer
            SELECT g, gen_random_uuid(), (SELECT id FROM bench_org WHERE n = g %% %s)
            FROM generate_series(0, %s - 1) g
            """,
            [k, customers],
        )
        self._sql(
            """
            INSERT INTO tickets_customer (id, organization_id, external_id, name, email, phone,
                tier, external_refs, created_at, updated_at)
            SELECT id, org, (7400000000000 + cg)::text, 'Customer ' || cg,
                   'customer' || cg || '@example.com', '',
                   CASE WHEN cg %% 20 = 0 THEN 'vip' WHEN cg %% 5 = 0 THEN 'premium'
                        ELSE 'standard' END,
                   '{}', now() - interval '3 years', now()
            FROM bench_customer
            """
        )
        progress.advance(customers)

        subjects = "ARRAY[" + ",".join(f"'{s}'" for s in SUBJECTS) + "]"
        phrases = "ARRAY[" + ",".join(f"'{p}'" for p in PHRASES) + "]"
        progress = Progress("tickets", tickets)
        _chunks_in_parallel(
            f"""
                INSERT INTO tickets_ticket (id, organization_id, customer_id, subject, status,
                    priority, channel, assignee_id, team_id, tag_names, smart_score,
                    score_breakdown, escalation_level, first_response_at, resolved_at,
                    closed_at, status_changed_at, message_count, last_message_at,
                    last_message_preview, last_message_from_agent, sla_status, sla_due_at,
                    search_text, source, external_id, created_at, updated_at,
                    last_customer_message_at, last_agent_reply_at)
                SELECT gen_random_uuid(), o.id, c.id, s.subject || ' #' || g, s.status,
                    s.priority, s.channel,
                    CASE WHEN s.slot < 7
                         THEN bt.members[1 + (g / 200) %% cardinality(bt.members)] END,
                    CASE WHEN s.slot < 9 THEN bt.id END,
                    '[]', 0, '{{}}', 0,
                    CASE WHEN s.status <> 'open' THEN tm.first_response END,
                    CASE WHEN s.status IN ('resolved', 'closed') THEN tm.resolved END,
                    CASE WHEN s.status = 'closed'
                         THEN least(now(), tm.resolved + interval '1 day') END,
                    CASE WHEN s.status IN ('resolved', 'closed') THEN tm.resolved
                         ELSE s.created END,
                    {per_ticket},
                    s.created + ({per_ticket} - 1) * interval '37 minutes',
                    left(s.phrase, 280), ({per_ticket} - 1) %% 2 = 1, '', NULL,
                    lower(s.subject || E'\\n' || s.phrase), 'bench', lpad(g::text, 9, '0'),
                    s.created, s.created + ({per_ticket} - 1) * interval '37 minutes',
                    -- Messages alternate customer (k even) and agent (k odd), 37 min apart.
                    s.created + (({per_ticket} - 1) / 2 * 2) * interval '37 minutes',
                    CASE WHEN {per_ticket} > 1
                         THEN s.created + (({per_ticket} - 2) / 2 * 2 + 1)
                              * interval '37 minutes' END
                FROM generate_series(%s, %s - 1) g
                JOIN bench_org o ON o.n = g %% {k}
                JOIN bench_customer c ON c.cg = (g::bigint * 7919) %% {customers}
                JOIN bench_team bt ON bt.n = g %% {k} AND bt.t = (g / 10) %% {len(TEAMS)}
                CROSS JOIN LATERAL (SELECT
                    ({subjects})[1 + g %% {len(SUBJECTS)}] AS subject,
                    ({phrases})[1 + (g / 7) %% {len(PHRASES)}] AS phrase,
                    (ARRAY['open','open','in_progress','pending','pending','resolved',
                           'closed','closed','closed','closed'])[1 + (g / 3) %% 10] AS status,
                    (ARRAY['low','normal','normal','normal','high','urgent'])[1 + g %% 6]
                        AS priority,
                    -- A hash: (g / 5) and the status's (g / 3) both follow g mod 30, which
                    -- kept every open ticket on email.
                    (ARRAY['email','email','chat','sms','phone','form'])[
                        1 + ((g::bigint * 40503) / 64) %% 6] AS channel,
                    now() - (g::float / {tickets} * interval '730 days')
                        - ((g::bigint * 7919) %% 3600) * interval '1 second' AS created,
                    -- 7 in 10 assigned, 9 in 10 in a team: a hash, so that neither depends on
                    -- the status, channel or team (all derived from g's digits).
                    ((g::bigint * 2654435761) / 1024) %% 10 AS slot
                ) s
                -- First responses 3 minutes to ~12 hours after creation, resolutions ~1 hour
                -- to ~9 days after it (skewed, so percentiles differ from means).
                CROSS JOIN LATERAL (SELECT
                    least(now(), s.created + (3 + ((g::bigint * 7919 + 13) %% 997) %% 100
                        * (1 + ((g::bigint * 7919 + 13) %% 997) %% 7)) * interval '1 minute')
                        AS first_response,
                    least(now(), s.created + (3 + ((g::bigint * 7919 + 13) %% 997) %% 100
                        * (1 + ((g::bigint * 7919 + 13) %% 997) %% 7)) * interval '1 minute'
                        + (1 + ((g::bigint * 104729) %% 1009) %% 72
                           * (1 + ((g::bigint * 104729) %% 1009) %% 3)) * interval '1 hour')
                        AS resolved
                ) tm
                """,
            tickets,
            chunk,
            progress,
        )

        progress = Progress("messages", tickets * per_ticket)
        _chunks_in_parallel(
            f"""
                INSERT INTO tickets_message (id, organization_id, ticket_id, content,
                    from_agent, is_internal, sent_to_customer, author_name, author_email,
                    author_agent_id, author_label, channel, external_id, delivery_status,
                    delivery_error, attachments, created_at)
                SELECT gen_random_uuid(), t.organization_id, t.id,
                    ({phrases})[1 + (k + length(t.external_id) + t.message_count * 3
                                 + ascii(right(t.external_id, 1))) %% {len(PHRASES)}],
                    k %% 2 = 1, false, k %% 2 = 1,
                    CASE WHEN k %% 2 = 1 THEN 'Agent' ELSE 'Customer' END, '',
                    CASE WHEN k %% 2 = 1 THEN t.assignee_id END, '', t.channel, '', '', '',
                    '[]', t.created_at + k * interval '37 minutes'
                FROM tickets_ticket t CROSS JOIN generate_series(0, {per_ticket} - 1) k
                WHERE t.source = 'bench' AND t.external_id >= lpad(%s::text, 9, '0')
                  AND t.external_id < lpad(%s::text, 9, '0')
                """,
            tickets,
            chunk,
            progress,
            per=per_ticket,
        )

        # The rest of the rows, from the tickets: independent statements, run WORKERS at a
        # time (one of them alone leaves a core idle).
        active = Ticket.objects.filter(status__in=["open", "in_progress", "pending"]).count()
        statements = [
            # SLA clocks of active tickets: first response (not yet answered) and
            # resolution.
            """
            INSERT INTO sla_slaclock (organization_id, ticket_id, policy_id, metric, status,
                is_open, target_seconds, started_at, segment_started_at, consumed_seconds,
                paused_at, due_at, at_risk_due_at, at_risk_at, met_at, breached_at,
                created_at, updated_at)
            SELECT t.organization_id, t.id, o.policy, m.metric,
                CASE WHEN t.status = 'pending' AND m.metric = 'resolution' THEN 'paused'
                     WHEN t.created_at + m.target < now() THEN 'breached' ELSE 'active' END,
                true, extract(epoch FROM m.target)::int, t.created_at,
                CASE WHEN t.status <> 'pending' OR m.metric <> 'resolution'
                     THEN t.created_at END,
                0,
                CASE WHEN t.status = 'pending' AND m.metric = 'resolution'
                     THEN t.status_changed_at END,
                CASE WHEN t.status <> 'pending' OR m.metric <> 'resolution'
                     THEN t.created_at + m.target END,
                CASE WHEN t.status <> 'pending' OR m.metric <> 'resolution'
                     THEN t.created_at + m.target * 0.8 END,
                CASE WHEN t.created_at + m.target * 0.8 < now()
                     THEN t.created_at + m.target * 0.8 END,
                NULL,
                CASE WHEN t.created_at + m.target < now() AND NOT (
                     t.status = 'pending' AND m.metric = 'resolution')
                     THEN t.created_at + m.target END,
                now(), now()
            FROM tickets_ticket t
            JOIN bench_org o ON o.id = t.organization_id
            CROSS JOIN LATERAL (VALUES ('first_response', interval '4 hours'),
                                       ('resolution', interval '2 days')) m(metric, target)
            WHERE t.status IN ('open', 'in_progress', 'pending')
              AND (m.metric = 'resolution' OR t.first_response_at IS NULL)
            """,
            # One `ticket.created` event per ticket.
            """
            INSERT INTO tickets_ticketevent (organization_id, ticket_id, kind, version,
                actor_id, actor_label, payload, created_at, handled_at)
            SELECT organization_id, id, 'ticket.created', 1, NULL, 'seed_bench', '{}',
                   created_at, created_at
            FROM tickets_ticket
            """,
            *self._work(),
        ]
        _in_parallel(statements, Progress("events and history", len(statements)), params=[])
        # The open clocks' summary, read by the scoring (a TEMP table: this session's).
        self._sql(
            """
            CREATE TEMP TABLE bench_sla AS
            SELECT ticket_id,
                CASE WHEN bool_or(status = 'breached') THEN 'breached'
                     WHEN bool_or(status = 'active' AND at_risk_at IS NOT NULL) THEN 'at_risk'
                     WHEN bool_or(status = 'active') THEN 'active'
                     ELSE 'paused' END AS state,
                min(due_at) AS due
            FROM sla_slaclock WHERE is_open GROUP BY ticket_id
            """
        )
        self._sql("CREATE UNIQUE INDEX ON bench_sla (ticket_id)")
        self._sql("ANALYZE bench_sla")
        # The scorer is Python on one core: meanwhile the other tables' indexes build on
        # the other (the tickets' wait for the scores' UPDATE, in handle()), and then their
        # primary keys and unique constraints, but for the tables the scoring reads (an
        # ALTER TABLE would wait for its transaction). The foreign keys wait for all of
        # them, in handle().
        others = [d for d in dropped if _index_table(d[1]) != "tickets_ticket"]
        scored = ("tickets_ticket", "tickets_customer")
        unique = [k for k in keys if not k[2].startswith("FOREIGN KEY") and k[0] not in scored]
        with ThreadPoolExecutor(max_workers=1) as pool:
            early = pool.submit(self._indexes_apart, others, unique)
            try:
                self._scores(active)
            finally:
                wait([early])  # nothing else touches the indexes while these build
            early.result()

    def _scores(self, active: int, chunk: int = 10_000):
        """The active tickets' SLA summary and real smart scores, as the worker would have
        left them: every row is scored by the worker's own scorer (scores_compute_for, with
        the organization's weights and rules), and all are written in one UPDATE while the
        tickets have no secondary index (scores_refresh's random-order batches of 2,000
        took 222 to 352 s here; bench/README.md, "Third pass")."""
        progress = Progress("smart scores", active)
        self._sql(
            "CREATE TEMP TABLE bench_score (id uuid, state text, due timestamptz, "
            "score float8, breakdown jsonb)"
        )
        sla = "(SELECT {} FROM bench_sla WHERE bench_sla.ticket_id = tickets_ticket.id)"
        rows = (
            Ticket.objects.filter(status__in=lifecycle.ACTIVE_STATUSES)
            .annotate(sla_state=RawSQL(sla.format("state"), []))
            .annotate(sla_due=RawSQL(sla.format("due"), []))
            .values(*(f for f in SCORE_FIELDS if not f.startswith("sla_")), "sla_state", "sla_due")
            .order_by()
        )
        now, contexts, batch = timezone.now(), {}, []

        def write():
            for row in batch:
                row["sla_status"], row["sla_due_at"] = row.pop("sla_state"), row.pop("sla_due")
            sla_of = {row["id"]: (row["sla_status"], row["sla_due_at"]) for row in batch}
            # Scored first: the first batch loads the organization's rules, and no query
            # can run on the connection while a COPY is open.
            scored = scores_compute_for(batch, now=now, contexts=contexts)
            copy_sql = "COPY bench_score (id, state, due, score, breakdown) FROM STDIN"
            with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for pk, score, breakdown in scored:
                    copy.write_row((pk, *sla_of[pk], score, orjson.dumps(breakdown).decode()))
            progress.advance(len(batch))
            batch.clear()

        with transaction.atomic():  # the server-side cursor lives in this transaction
            for row in rows.iterator(chunk_size=chunk):
                batch.append(row)
                if len(batch) == chunk:
                    write()
            if batch:
                write()
        self._sql(
            """
            UPDATE tickets_ticket t SET sla_status = coalesce(s.state, ''), sla_due_at = s.due,
                smart_score = s.score, score_breakdown = s.breakdown
            FROM bench_score s WHERE t.id = s.id
            """
        )

    def _work(self) -> list[str]:
        """The workforce's traces (issue 13's analytics): one Assignment per assigned
        ticket (5% also a transfer), CSAT ratings on 40% of the resolved and closed
        tickets, and for the last 130 days the status-change events (resolutions, 4%
        reopened first) and the decided first-response and resolution SLA clocks: the
        statements, independent of each other (they read the tickets and the lookups)."""
        statements = []
        # The first assignment: by the team's strategy when it routes automatically; a
        # transferred ticket (1 in 20) went to another agent first.
        statements.append(
            """
            INSERT INTO tickets_assignment (ticket_id, from_agent_id, to_agent_id,
                from_team_id, to_team_id, by_id, kind, reason, explanation,
                capacity_overridden, created_at)
            SELECT t.id, NULL,
                CASE WHEN t.external_id::bigint %% 20 = 3
                     THEN o.agents[2 + (t.external_id::bigint / 7) %% (cardinality(o.agents) - 1)]
                     ELSE t.assignee_id END,
                NULL, t.team_id, NULL,
                CASE WHEN r.strategy IN ('round_robin', 'least_loaded', 'skills') THEN 'auto'
                     ELSE 'manual' END,
                coalesce(r.strategy, 'manual') || ': chosen at creation',
                jsonb_build_object('strategy', coalesce(r.strategy, 'manual'),
                                   'outcome', 'assigned', 'trigger', 'ticket_created'),
                false, t.created_at + interval '1 minute'
            FROM tickets_ticket t
            JOIN bench_org o ON o.id = t.organization_id
            LEFT JOIN routing_teamrouting r ON r.team_id = t.team_id
            WHERE t.assignee_id IS NOT NULL
            """
        )
        statements.append(
            """
            INSERT INTO tickets_assignment (ticket_id, from_agent_id, to_agent_id,
                from_team_id, to_team_id, by_id, kind, reason, explanation,
                capacity_overridden, created_at)
            SELECT t.id,
                o.agents[2 + (t.external_id::bigint / 7) %% (cardinality(o.agents) - 1)],
                t.assignee_id, t.team_id, t.team_id, o.agents[1], 'transfer',
                'Needs a specialist', '{}', false,
                least(coalesce(t.first_response_at, now()), t.created_at + interval '2 hours')
            FROM tickets_ticket t JOIN bench_org o ON o.id = t.organization_id
            WHERE t.assignee_id IS NOT NULL AND t.external_id::bigint %% 20 = 3
            """
        )

        statements.append(
            """
            INSERT INTO tickets_satisfaction (organization_id, ticket_id, rating, comment,
                rated_at)
            SELECT t.organization_id, t.id,
                (ARRAY[1, 2, 3, 4, 4, 5, 5, 5, 5, 5])[1 + (t.external_id::bigint / 5) %% 10],
                CASE WHEN (t.external_id::bigint / 5) %% 10 < 2
                     THEN 'It took too long.' ELSE '' END,
                least(now(), t.resolved_at
                      + (t.external_id::bigint %% 48) * interval '1 hour')
            FROM tickets_ticket t
            WHERE t.status IN ('resolved', 'closed') AND t.external_id::bigint %% 5 < 2
            """
        )

        recent = "t.created_at >= now() - interval '130 days'"
        # Status changes: the resolution (and the close), and 1 in 25 resolved, reopened
        # and resolved again.
        statements.append(
            f"""
            INSERT INTO tickets_ticketevent (organization_id, ticket_id, kind, version,
                actor_id, actor_label, payload, created_at, handled_at)
            SELECT t.organization_id, t.id, 'ticket.status_changed', 1, t.assignee_id, '',
                   jsonb_build_object('from', e.from_status, 'to', e.to_status, 'reason', ''),
                   e.at, e.at
            FROM tickets_ticket t
            CROSS JOIN LATERAL (VALUES
                (1, 'in_progress', 'resolved',
                 t.created_at + (t.resolved_at - t.created_at) * 0.4),
                (2, 'resolved', 'open', t.created_at + (t.resolved_at - t.created_at) * 0.6),
                (3, 'in_progress', 'resolved', t.resolved_at),
                (4, 'resolved', 'closed', t.closed_at)
            ) e(step, from_status, to_status, at)
            WHERE {recent} AND t.status IN ('resolved', 'closed')
              AND (e.step = 3 OR (e.step < 3 AND t.external_id::bigint %% 25 = 1)
                   OR (e.step = 4 AND t.closed_at IS NOT NULL))
            """
        )
        # Decided clocks: first responses (4 hours) and resolutions (2 days), met or
        # breached and met late; business time taken as 60% of the calendar time.
        statements.append(
            f"""
            INSERT INTO sla_slaclock (organization_id, ticket_id, policy_id, metric, status,
                is_open, target_seconds, started_at, segment_started_at, consumed_seconds,
                paused_at, due_at, at_risk_due_at, at_risk_at, met_at, breached_at,
                created_at, updated_at)
            SELECT t.organization_id, t.id, o.policy, m.metric,
                CASE WHEN m.done_at > t.created_at + m.target THEN 'breached' ELSE 'met' END,
                false, extract(epoch FROM m.target)::int, t.created_at, NULL,
                0.6 * extract(epoch FROM m.done_at - t.created_at), NULL,
                t.created_at + m.target, t.created_at + m.target * 0.8,
                CASE WHEN m.done_at > t.created_at + m.target * 0.8
                     THEN t.created_at + m.target * 0.8 END,
                m.done_at,
                CASE WHEN m.done_at > t.created_at + m.target
                     THEN t.created_at + m.target END,
                t.created_at, m.done_at
            FROM tickets_ticket t
            JOIN bench_org o ON o.id = t.organization_id
            CROSS JOIN LATERAL (VALUES
                ('first_response', interval '4 hours', t.first_response_at),
                ('resolution', interval '2 days', t.resolved_at)
            ) m(metric, target, done_at)
            WHERE {recent} AND m.done_at IS NOT NULL
            """
        )
        return statements
