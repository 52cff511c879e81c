"""Everyone on the team sees satisfaction ratings; managers and admins may correct or
remove one (with history)."""

from django.db import migrations

from agents.migration_helpers import role_permissions

MANAGE = [
    "view_satisfaction",
    "change_satisfaction",
    "delete_satisfaction",
    "view_historicalsatisfaction",
]
GRANTS = {"Agents": ["view_satisfaction"], "Managers": MANAGE, "Admins": MANAGE}


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0015_assignment_kind_satisfaction"),
        ("agents", "0002_role_groups"),
    ]
    operations = [migrations.RunPython(*role_permissions("tickets", GRANTS))]
