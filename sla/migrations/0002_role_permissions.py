"""Grant the SLA app's permissions to the role groups: managers and admins manage
rules and scoring weights; agents read them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [
    "view_businesscalendar",
    "view_businesshours",
    "view_holiday",
    "view_slapolicy",
    "view_slaclock",
    "view_slaevent",
    "view_slanotification",
]
MANAGE = VIEW + [
    "add_businesscalendar",
    "change_businesscalendar",
    "delete_businesscalendar",
    "add_businesshours",
    "change_businesshours",
    "delete_businesshours",
    "add_holiday",
    "change_holiday",
    "delete_holiday",
    "add_slapolicy",
    "change_slapolicy",
    "delete_slapolicy",
    "view_historicalslapolicy",
    "view_historicalbusinesscalendar",
]
GRANTS = {"Agents": VIEW, "Managers": MANAGE, "Admins": MANAGE}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("sla")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        perms = list(
            Permission.objects.filter(content_type__app_label="sla", codename__in=codenames)
        )
        assert len(perms) == len(codenames), "missing rules permissions"
        group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GRANTS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="sla"))


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial"), ("agents", "0002_role_groups")]
    operations = [migrations.RunPython(grant, revoke)]
