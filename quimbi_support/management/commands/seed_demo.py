"""`manage.py seed_demo`: a demo organization with a team, ~50 customers, ~200 tickets
with realistic conversations across every status, channel and priority, a few
prioritization rules, a business calendar and SLA policies.

Idempotent: agents, customers and tickets are keyed by email / external id, so a second
run adds nothing. Logins: admin@, manager@ and agent@demo.example, password from
DEMO_PASSWORD (default demo12345)."""

import os
import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils import timezone as dj_timezone

from agents import roles
from agents.models import Agent, Organization, Skill, Team
from agents.services import agent_create
from rules.models import Rule
from rules.services import rule_create, scores_refresh
from sla.clocks import sla_reconcile
from sla.models import SLAPolicy
from sla.policies import calendar_save, policy_save
from sla.scan import sla_scan
from tickets import lifecycle
from tickets.models import Customer, Ticket
from tickets.services import (
    message_add,
    note_add,
    ticket_assign,
    ticket_create,
    ticket_transition,
)

DEMO_SLUG = "demo"
DEMO_SOURCE = "demo"
TICKETS = 200
CUSTOMERS = 50

FIRST_NAMES = [
    "Ava",
    "Liam",
    "Mia",
    "Noah",
    "Zoe",
    "Ethan",
    "Ivy",
    "Lucas",
    "Nora",
    "Omar",
    "Priya",
    "Mateo",
    "Chloe",
    "Kenji",
    "Sara",
    "Diego",
    "Lena",
    "Amir",
    "Hana",
    "Felix",
    "Grace",
    "Hugo",
    "Isla",
    "Jonah",
    "Kira",
]
LAST_NAMES = [
    "Martin",
    "Nguyen",
    "Garcia",
    "Smith",
    "Kowalski",
    "Okafor",
    "Rossi",
    "Berg",
    "Haddad",
    "Tanaka",
    "Silva",
    "Murphy",
    "Dubois",
    "Fischer",
    "Patel",
]

# (subject, customer opening, agent reply, customer follow-up, tags, priority weight)
CONVERSATIONS = [
    (
        "Where is my order #{n}?",
        "Hi, I ordered over a week ago and tracking hasn't updated since Tuesday. Can you check "
        "where my package is? It's a birthday gift.",
        "Thanks for reaching out! I checked with the carrier: your parcel was held at the regional "
        "hub because of weather delays. It is moving again and should arrive within 2 days.",
        "Thanks. Can you let me know if it will arrive before Saturday? Otherwise I need a refund.",
        ["shipping", "delay"],
    ),
    (
        "Refund request for order #{n}",
        "The jacket I received doesn't fit and I'd like a refund rather than an exchange. I sent it "
        "back yesterday.",
        "I'm sorry it didn't fit. As soon as the return scan shows up, I'll issue the refund to your "
        "original payment method; it usually shows within 5 business days.",
        "It's been 6 business days and I still don't see the refund. Can you check?",
        ["refund", "returns"],
    ),
    (
        "Item arrived damaged",
        "My ceramic planter arrived cracked in two places. The box looked fine. Photos attached.",
        "That's really disappointing, sorry! I've created a free replacement order; no need to send "
        "the broken one back.",
        "Thank you, that was fast. When will the replacement ship?",
        ["product-quality", "damaged"],
    ),
    (
        "Wrong size in my package",
        "I ordered a medium but got a large. I need the medium for an event next weekend.",
        "Apologies for the mix-up. I've sent the medium with express shipping and attached a "
        "prepaid label for the large.",
        "Got the label, thanks. The express tracking number doesn't work yet though.",
        ["returns", "fulfilment-error"],
    ),
    (
        "Discount code not working",
        "The code WELCOME15 from your email says it's invalid at checkout.",
        "That code applies to first orders only. I've applied 15% to your cart manually; it's valid "
        "for 48 hours.",
        "Perfect, that worked. Thanks!",
        ["billing", "promo"],
    ),
    (
        "Charged twice for one order",
        "My card statement shows two charges of $84.20 for the same order. Please fix this ASAP.",
        "I see the duplicate authorisation. The second one is a pending hold that your bank will "
        "release within 3 days; I've also asked our payment provider to void it.",
        "The hold is still there after 4 days. This is really frustrating.",
        ["billing", "urgent-money"],
    ),
    (
        "Question about product ingredients",
        "Does the lavender body butter contain any nut oils? My daughter has a tree nut allergy.",
        "Great question: it contains shea butter (a tree nut) but no almond or coconut oil. I'd "
        "recommend our oat balm instead, which is nut-free.",
        "Thanks for checking. I'll order the oat balm.",
        ["product-question"],
    ),
    (
        "Can I change my shipping address?",
        "I just placed an order and realised it's going to my old address. Can you change it?",
        "Done: the order hadn't shipped yet, so I updated the address to the one you gave.",
        "Wonderful, thank you!",
        ["shipping", "address-change"],
    ),
    (
        "Subscription cancellation",
        "Please cancel my monthly subscription. I have too much product at home right now.",
        "I can pause it for up to 3 months instead, so you keep your member price. Would that help?",
        "Just cancel it please.",
        ["subscription", "churn-risk"],
    ),
    (
        "First order - how long does shipping take?",
        "Hi! This is my first order with you. How long does standard shipping take to Canada?",
        "Welcome! Standard shipping to Canada takes 5-8 business days; you'll get tracking once it "
        "leaves our warehouse.",
        "Great, thanks for the quick answer.",
        ["first-time-customer", "shipping"],
    ),
    (
        "Need this before Friday!",
        "I need the gift set delivered before Friday for a wedding. Is express possible today?",
        "Yes: if you upgrade in the next 2 hours it ships today with next-day delivery. I've added "
        "a link to upgrade.",
        "Upgraded, thanks. Please make sure it goes out today.",
        ["time-sensitive", "shipping"],
    ),
    (
        "Loyalty points missing",
        "I didn't get points for my last two orders. My balance hasn't changed since March.",
        "I found the issue: your account had two emails. I merged them and added the 340 missing "
        "points.",
        "I see them now. Thanks!",
        ["loyalty"],
    ),
]
PRIORITY_WEIGHTS = [("low", 2), ("normal", 5), ("high", 2), ("urgent", 1)]
CHANNELS = ["email", "email", "chat", "sms", "phone", "form"]
# The final status of each demo ticket, so every status is present in the queue.
STATUS_PLAN = (
    ["open"] * 6 + ["in_progress"] * 3 + ["pending"] * 4 + ["resolved"] * 3 + ["closed"] * 4
)
DEMO_RULES = [
    ("Shipping delay", "custom", ["delay", "hasn't updated", "where is my", "tracking"], 2.0, {}),
    ("Refund or double charge", "custom", ["refund", "charged twice", "money back"], 2.5, {}),
    ("Product quality", "custom", ["damaged", "broken", "cracked", "defect"], 2.0, {}),
    ("First-time customer", "custom", ["first order", "first time"], 1.5, {}),
    ("Time-sensitive", "time_sensitive", ["asap", "before friday", "today", "wedding"], 3.0, {}),
    ("VIP customer", "vip", [], 3.0, {"tiers": ["vip"], "min_ltv": 5000}),
    ("Churn risk", "churn", [], 3.0, {"min_churn_risk": 0.7}),
]
INTERNAL_NOTES = [
    "Customer is a repeat buyer; be generous.",
    "Checked with the warehouse: they confirm the mis-pick.",
    "Escalating to billing to confirm the void.",
    "Possible fraud pattern? Same address used by three accounts.",
]


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD", "demo12345")


class Command(BaseCommand):
    help = "Create the demo organization, its team, customers and tickets (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=TICKETS)

    def handle(self, *args, tickets: int, **options):
        rng = random.Random(42)
        org, _ = Organization.objects.get_or_create(
            slug=DEMO_SLUG, defaults={"name": "Demo Outfitters", "timezone": "America/New_York"}
        )
        team_names = ["Tier 1", "Billing", "Escalations"]
        teams = [Team.objects.get_or_create(organization=org, name=n)[0] for n in team_names]
        for name in ["shipping", "refunds", "billing", "spanish"]:
            Skill.objects.get_or_create(organization=org, name=name)
        password = demo_password()
        people = [
            ("admin@demo.example", "Alex Admin", roles.ADMIN),
            ("manager@demo.example", "Morgan Manager", roles.MANAGER),
            ("agent@demo.example", "Avery Agent", roles.AGENT),
            ("sam@demo.example", "Sam Support", roles.AGENT),
            ("riley@demo.example", "Riley Resolver", roles.AGENT),
        ]
        agents = []
        for email, name, role in people:
            agent = Agent.objects.filter(email=email).first()
            if agent is None:
                agent = agent_create(
                    organization=org,
                    email=email,
                    password=password,
                    name=name,
                    role=role,
                    availability="available",
                    actor=None,
                )
                agent.teams.add(teams[0] if role == roles.AGENT else teams[2])
            agents.append(agent)
        workers = [a for a in agents if a.role != roles.ADMIN]

        for name, rule_type, keywords, boost, conditions in DEMO_RULES:
            if not Rule.objects.filter(organization=org, name=name).exists():
                rule_create(
                    organization=org,
                    name=name,
                    type=rule_type,
                    keywords=keywords,
                    boost_amount=boost,
                    conditions=conditions,
                    actor=None,
                )

        self._seed_sla(org, teams)

        customers = []
        for i in range(CUSTOMERS):
            first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i * 7) % len(LAST_NAMES)]
            customer, _ = Customer.objects.get_or_create(
                organization=org,
                external_id=str(7408502702335 + i * 1013),
                defaults={
                    "name": f"{first} {last}",
                    "email": f"{first}.{last}{i}@example.com".lower(),
                    "phone": f"+1555{i:07d}",
                    "tier": "vip" if i % 10 == 0 else ("premium" if i % 4 == 0 else "standard"),
                },
            )
            customers.append(customer)

        existing = set(
            Ticket.objects.filter(organization=org, source=DEMO_SOURCE).values_list(
                "external_id", flat=True
            )
        )
        now = timezone.now()
        created = 0
        for n in range(tickets):
            external_id = f"demo-{n:04d}"
            # Draw every random choice even for existing tickets, so reruns stay aligned.
            convo = CONVERSATIONS[n % len(CONVERSATIONS)]
            customer = customers[rng.randrange(len(customers))]
            priority = rng.choices(
                [p for p, _ in PRIORITY_WEIGHTS], [w for _, w in PRIORITY_WEIGHTS]
            )[0]
            channel = CHANNELS[n % len(CHANNELS)]
            status = STATUS_PLAN[n % len(STATUS_PLAN)]
            age = timedelta(minutes=rng.randint(20, 60 * 24 * 21))
            assignee = workers[rng.randrange(len(workers))]
            note = rng.random() < 0.25
            if external_id in existing:
                continue
            self._create_ticket(
                org,
                customer,
                convo,
                n,
                priority,
                channel,
                status,
                now - age,
                age,
                assignee,
                note,
                rng,
            )
            created += 1

        # Start the SLA clocks, mark what is already late and score everything now, so
        # the queue is ranked before the worker catches up with the events.
        now = dj_timezone.now()
        for ticket_id in Ticket.objects.filter(organization=org).values_list("pk", flat=True):
            with transaction.atomic():
                sla_reconcile(ticket_id=ticket_id, at=now)
        sla_scan()
        scores_refresh(organization_id=org.pk)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organization '{org.slug}': {len(customers)} customers, "
                f"{Rule.objects.filter(organization=org).count()} rules, "
                f"{Ticket.objects.filter(organization=org).count()} tickets ({created} new)."
            )
        )
        self.stdout.write("Log in at http://localhost:8001/admin/ with:")
        for email, _, role in people[:3]:
            self.stdout.write(f"  {email:<24} ({role})  password: {password}")

    def _seed_sla(self, org, teams):
        if SLAPolicy.objects.filter(organization=org).exists():
            return
        hours = [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(5)]
        hours.append({"weekday": 5, "start": "10:00", "end": "16:00"})
        calendar = calendar_save(
            organization=org,
            data={
                "name": "Support hours (New York)",
                "timezone": "America/New_York",
                "hours": hours,
                "holiday_country": "US",
                "holiday_subdivision": "NY",
            },
            actor=None,
        )
        escalations = teams[2]
        for data in (
            {
                "name": "Urgent",
                "position": 10,
                "priorities": ["urgent"],
                "first_response_minutes": 30,
                "next_response_minutes": 60,
                "resolution_minutes": 240,
                "calendar": None,
                "escalation": [
                    {"on": "at_risk", "notify": True, "escalate": False},
                    {"on": "breached", "assign_manager": True, "escalate": True},
                ],
            },
            {
                "name": "VIP customers",
                "position": 20,
                "customer_tiers": ["vip"],
                "first_response_minutes": 60,
                "next_response_minutes": 120,
                "resolution_minutes": 480,
                "calendar": calendar.pk,
                "pause_on_pending": ["next_response", "resolution"],
                "escalation": [
                    {"on": "breached", "raise_priority": True, "assign_team": str(escalations.pk)}
                ],
            },
            {
                "name": "Standard",
                "position": 100,
                "first_response_minutes": 240,
                "next_response_minutes": 480,
                "resolution_minutes": 2880,
                "calendar": calendar.pk,
                "pause_on_pending": ["next_response", "resolution"],
                "escalation": [
                    {"on": "at_risk", "notify": True, "escalate": False},
                    {"on": "breached", "escalate": True},
                ],
            },
        ):
            policy_save(organization=org, data=data, actor=None)

    @transaction.atomic
    def _create_ticket(
        self, org, customer, convo, n, priority, channel, status, start, age, assignee, note, rng
    ):
        subject, opening, reply, follow_up, tags = convo
        # Most replies come within hours; a few tickets wait long (and breach their SLA).
        step = (
            age / 5
            if rng.random() < 0.15
            else min(age / 5, timedelta(minutes=rng.randint(10, 200)))
        )
        ticket = ticket_create(
            organization=org,
            customer=customer,
            subject=subject.format(n=1000 + n),
            channel=channel,
            priority=priority,
            initial_message=opening,
            author_name=customer.name,
            author_email=customer.email,
            tags=tags,
            source=DEMO_SOURCE,
            external_id=f"demo-{n:04d}",
            created_at=start,
            actor=None,
            actor_label="seed_demo",
        )
        if status == lifecycle.OPEN and n % 2 == 0:
            return  # a brand-new ticket: nobody has answered yet
        ticket_assign(
            ticket=ticket,
            assignee=assignee,
            actor=None,
            actor_label="seed_demo",
            reason="demo routing",
        )
        if status == lifecycle.IN_PROGRESS:
            ticket_transition(
                ticket=ticket, to_status=lifecycle.IN_PROGRESS, actor=None, actor_label="seed_demo"
            )
            if note:
                note_add(
                    ticket=ticket,
                    content=rng.choice(INTERNAL_NOTES),
                    author_agent=assignee,
                    actor=assignee,
                )
            return
        message_add(
            ticket=ticket,
            content=reply,
            from_agent=True,
            author_agent=assignee,
            created_at=start + step,
            actor=assignee,
        )
        if note:
            note_add(
                ticket=ticket,
                content=rng.choice(INTERNAL_NOTES),
                author_agent=assignee,
                actor=assignee,
            )
        if status == lifecycle.PENDING:
            return
        message_add(
            ticket=ticket,
            content=follow_up,
            from_agent=False,
            author_name=customer.name,
            author_email=customer.email,
            created_at=start + 2 * step,
            actor=None,
            actor_label="seed_demo",
        )
        if status == lifecycle.OPEN:
            return  # the customer wrote back and waits for us
        message_add(
            ticket=ticket,
            content="Happy to help! Anything else, just reply here.",
            from_agent=True,
            author_agent=assignee,
            created_at=start + 3 * step,
            close_ticket=status == lifecycle.CLOSED,
            actor=assignee,
        )
        if status == lifecycle.RESOLVED:
            ticket_transition(
                ticket=ticket, to_status=lifecycle.RESOLVED, actor=assignee, reason="answered"
            )
