"""Grant the rules app's permissions to the role groups: managers and admins manage
rules and scoring weights; agents read them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

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


def grant(apps, schema_editor):
    app_config = apps.get_app_config("rules")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        perms = list(
            Permission.objects.filter(content_type__app_label="rules", codename__in=codenames)
        )
        assert len(perms) == len(codenames), "missing rules permissions"
        group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GRANTS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="rules"))


class Migration(migrations.Migration):
    dependencies = [("rules", "0001_initial"), ("agents", "0002_role_groups")]
    operations = [migrations.RunPython(grant, revoke)]
