"""Create the role groups (Agents, Managers, Admins) and their permissions.

Agents work tickets and read the team; managers also manage agents, teams, skills,
tags and API keys (rules and SLA add their models' permissions to Managers in their own
migrations); admins also edit their organization, delete tickets and edit schedules.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT_PERMS = [
    "tickets.view_ticket",
    "tickets.add_ticket",
    "tickets.change_ticket",
    "tickets.view_customer",
    "tickets.add_customer",
    "tickets.change_customer",
    "tickets.view_message",
    "tickets.add_message",
    "tickets.view_tag",
    "tickets.add_tag",
    "tickets.view_assignment",
    "tickets.view_ticketevent",
    "tickets.view_historicalticket",
    "agents.view_agent",
    "agents.view_team",
    "agents.view_skill",
    "agents.view_organization",
]
MANAGER_PERMS = AGENT_PERMS + [
    "agents.add_agent",
    "agents.change_agent",
    "agents.view_historicalagent",
    "agents.add_team",
    "agents.change_team",
    "agents.delete_team",
    "agents.add_skill",
    "agents.change_skill",
    "agents.delete_skill",
    "agents.view_apikey",
    "agents.add_apikey",
    "agents.change_apikey",
    "tickets.change_tag",
    "tickets.delete_tag",
]
ADMIN_PERMS = MANAGER_PERMS + [
    "agents.change_organization",
    "agents.delete_agent",
    "agents.delete_apikey",
    "tickets.delete_ticket",
    "tickets.delete_customer",
    "django_celery_beat.view_periodictask",
    "django_celery_beat.change_periodictask",
]
ROLE_GROUPS = {"Agents": AGENT_PERMS, "Managers": MANAGER_PERMS, "Admins": ADMIN_PERMS}


def create_role_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make them exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codes in ROLE_GROUPS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is None:
                raise RuntimeError(f"permission {code} does not exist")
            perms.append(perm)
        group.permissions.add(*perms)


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        ("tickets", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
