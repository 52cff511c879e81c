"""Managers and admins connect Zendesk and Gorgias accounts and watch their syncs,
webhooks and push-backs in the admin (agents see none of it)."""

from django.db import migrations

from agents.migration_helpers import role_permissions

MANAGE = [
    "view_integrationaccount",
    "add_integrationaccount",
    "change_integrationaccount",
    "delete_integrationaccount",
    "view_historicalintegrationaccount",
    "view_syncrun",
    "view_inboundevent",
    "view_providerpush",
    "change_providerpush",
]
GRANTS = {"Managers": MANAGE, "Admins": MANAGE}


class Migration(migrations.Migration):
    dependencies = [("integrations", "0003_provider_connectors"), ("agents", "0002_role_groups")]
    operations = [migrations.RunPython(*role_permissions("integrations", GRANTS))]
