"""Grant the rules app's permissions to the role groups: managers and admins manage
rules and scoring weights; agents read them."""

from django.db import migrations

from agents.migration_helpers import role_permissions

GRANTS = {
    "Agents": ["view_rule", "view_scoringconfig"],
    "Managers": [
        "view_rule",
        "add_rule",
        "change_rule",
        "delete_rule",
        "view_historicalrule",
        "view_scoringconfig",
        "add_scoringconfig",
        "change_scoringconfig",
    ],
    "Admins": [
        "view_rule",
        "add_rule",
        "change_rule",
        "delete_rule",
        "view_historicalrule",
        "view_scoringconfig",
        "add_scoringconfig",
        "change_scoringconfig",
    ],
}


class Migration(migrations.Migration):
    dependencies = [("rules", "0001_initial"), ("agents", "0002_role_groups")]
    operations = [migrations.RunPython(*role_permissions("rules", GRANTS))]
