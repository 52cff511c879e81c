"""Grant the intelligence app's permissions to the role groups: managers and admins manage
rules and scoring weights; agents read them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["view_customerintelligence", "view_ticketdraft", "view_ticketrecommendation"]
GRANTS = {"Agents": VIEW, "Managers": VIEW, "Admins": VIEW}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("intelligence")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        perms = list(
            Permission.objects.filter(
                content_type__app_label="intelligence", codename__in=codenames
            )
        )
        assert len(perms) == len(codenames), "missing rules permissions"
        group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GRANTS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="intelligence"))


class Migration(migrations.Migration):
    dependencies = [
        ("intelligence", "0002_drafts_and_recommendations"),
        ("agents", "0002_role_groups"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
