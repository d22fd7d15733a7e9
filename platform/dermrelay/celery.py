"""The Celery application. Tasks take ids, never patient data (DESIGN.md, rules)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermrelay.settings")

app = Celery("dermrelay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
