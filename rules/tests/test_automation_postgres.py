"""Time rules under real concurrency: two scans running at once on PostgreSQL act once
per ticket and period (the unique constraint decides, not a cache key)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from rules.automation.engine import time_rules_scan
from rules.models import AutomationRule, RuleRun
from tickets.models import Ticket
from tickets.services import customer_get_or_create, ticket_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_scans_at_once_act_once_per_ticket(require_postgres, organization):
    customer = customer_get_or_create(organization=organization, external_id="c1", name="Ada")
    AutomationRule.objects.create(
        organization=organization,
        name="stale",
        trigger="time",
        conditions={"all": [{"field": "hours_since_created", "operator": "gt", "value": 1}]},
        actions=[{"type": "add_note", "value": "Still open after an hour"}],
    )
    old = timezone.now() - timedelta(hours=2)
    tickets = [
        ticket_create(
            organization=organization,
            customer=customer,
            subject=f"t{i}",
            initial_message="hi",
            actor=None,
            created_at=old,
        )
        for i in range(8)
    ]
    barrier, errors, acted = threading.Barrier(2), [], []

    def scan():
        try:
            barrier.wait(timeout=30)
            acted.append(time_rules_scan())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sum(acted) == len(tickets)
    assert RuleRun.objects.count() == len(tickets)
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        assert ticket.messages.filter(is_internal=True).count() == 1
