"""Agents see how teams route; managers and admins set it up."""

from django.db import migrations

from agents.migration_helpers import role_permissions

MANAGE = [
    "view_teamrouting",
    "add_teamrouting",
    "change_teamrouting",
    "delete_teamrouting",
    "view_historicalteamrouting",
]
GRANTS = {"Agents": ["view_teamrouting"], "Managers": MANAGE, "Admins": MANAGE}


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial"), ("agents", "0002_role_groups")]
    operations = [migrations.RunPython(*role_permissions("routing", GRANTS))]
