"""Agents read automations, their runs and macros; managers and admins write them."""

from django.db import migrations

from agents.migration_helpers import role_permissions

MANAGE = [
    *(
        f"{verb}_{model}"
        for model in ("automationrule", "macro")
        for verb in ("view", "add", "change", "delete")
    ),
    "view_rulerun",
    "view_historicalautomationrule",
    "view_historicalmacro",
]
GRANTS = {
    "Agents": ["view_automationrule", "view_rulerun", "view_macro"],
    "Managers": MANAGE,
    "Admins": MANAGE,
}


class Migration(migrations.Migration):
    dependencies = [("rules", "0005_automations_and_macros"), ("agents", "0002_role_groups")]
    operations = [migrations.RunPython(*role_permissions("rules", GRANTS))]
