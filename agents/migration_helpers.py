"""Helpers for data migrations that give role groups an app's permissions.

Kept stable and dependency-free (historical models only) because migrations import it.
"""

from django.contrib.auth.management import create_permissions


def role_permissions(app_label: str, grants: dict[str, list[str]]):
    """RunPython (forwards, backwards) pair: grant `grants` ({group: [codename]}) of
    `app_label`'s permissions, creating the permissions first if the app is new."""

    def forwards(apps, schema_editor):
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        for group_name, codenames in grants.items():
            group, _ = Group.objects.get_or_create(name=group_name)
            perms = list(
                Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            )
            if len(perms) != len(codenames):
                raise RuntimeError(f"missing {app_label} permissions for {group_name}")
            group.permissions.add(*perms)

    def backwards(apps, schema_editor):
        Permission = apps.get_model("auth", "Permission")
        for group in apps.get_model("auth", "Group").objects.filter(name__in=grants):
            group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label))

    return forwards, backwards
