"""Managers and admins set up email, SMS and chat channels and read what came in."""

from django.db import migrations

from agents.migration_helpers import role_permissions

MANAGE = [
    "view_channelaccount",
    "add_channelaccount",
    "change_channelaccount",
    "delete_channelaccount",
    "view_historicalchannelaccount",
    "view_channelreceipt",
]
GRANTS = {"Managers": MANAGE, "Admins": MANAGE}


class Migration(migrations.Migration):
    dependencies = [("integrations", "0005_channels"), ("agents", "0002_role_groups")]
    operations = [migrations.RunPython(*role_permissions("integrations", GRANTS))]
