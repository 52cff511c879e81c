"""The Celery beat schedules (SLA scan, outbox re-dispatch, score refresh) run for every
organization: an organization's admin must not stop or change them. Only the platform
operator (a superuser) edits them."""

from django.db import migrations

BEAT_PERMS = ["view_periodictask", "change_periodictask"]


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(
        content_type__app_label="django_celery_beat", codename__in=BEAT_PERMS
    )
    for group in Group.objects.filter(name="Admins"):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_role_groups"), ("django_celery_beat", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
