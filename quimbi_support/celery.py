"""The Celery app. Config comes from Django settings (CELERY_*); beat uses
django-celery-beat's DatabaseScheduler so schedules are editable in the admin."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quimbi_support.settings")

app = Celery("quimbi_support")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
