"""Managers and admins set up webhooks and replay deliveries in the admin; agents read
them over the API only (the admin pages show delivery bodies and errors)."""

from django.db import migrations

from agents.migration_helpers import role_permissions

MANAGE = [
    "view_webhookendpoint",
    "add_webhookendpoint",
    "change_webhookendpoint",
    "delete_webhookendpoint",
    "view_historicalwebhookendpoint",
    "view_webhookdelivery",
]
GRANTS = {"Managers": MANAGE, "Admins": MANAGE}


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_outbound_webhooks"), ("agents", "0002_role_groups")]
    operations = [migrations.RunPython(*role_permissions("integrations", GRANTS))]
