"""The Celery application. Tasks take ids, never patient data (DESIGN.md, rules)."""
import os

from celery import Celery

from dermrelay.broker import register as register_embedded_broker

register_embedded_broker()  # before any connection: the embedded default's broker URL names it
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermrelay.settings")

app = Celery("dermrelay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
