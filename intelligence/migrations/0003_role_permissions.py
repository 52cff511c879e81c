"""Grant the intelligence app's permissions to the role groups: managers and admins manage
rules and scoring weights; agents read them."""

from django.db import migrations

from agents.migration_helpers import role_permissions

VIEW = ["view_customerintelligence", "view_ticketdraft", "view_ticketrecommendation"]
GRANTS = {"Agents": VIEW, "Managers": VIEW, "Admins": VIEW}


class Migration(migrations.Migration):
    dependencies = [
        ("intelligence", "0002_drafts_and_recommendations"),
        ("agents", "0002_role_groups"),
    ]
    operations = [migrations.RunPython(*role_permissions("intelligence", GRANTS))]
