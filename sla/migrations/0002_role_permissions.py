"""Grant the SLA app's permissions to the role groups: managers and admins manage
rules and scoring weights; agents read them."""

from django.db import migrations

from agents.migration_helpers import role_permissions

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


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial"), ("agents", "0002_role_groups")]
    operations = [migrations.RunPython(*role_permissions("sla", GRANTS))]
