"""Agents read customers' history; managers and admins also see the event deliveries
(and retry failed ones from the admin)."""

from django.db import migrations

from agents.migration_helpers import role_permissions

GRANTS = {
    "Agents": ["view_historicalcustomer"],
    "Managers": ["view_historicalcustomer", "view_eventdelivery"],
    "Admins": ["view_historicalcustomer", "view_eventdelivery"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0013_event_deliveries_customer_events"),
        ("agents", "0002_role_groups"),
    ]
    operations = [migrations.RunPython(*role_permissions("tickets", GRANTS))]
