"""The Celery application. Configuration lives in Django settings under the CELERY_ namespace."""

import os

from celery import Celery

# A deployment runs these; without DJANGO_SETTINGS_MODULE it gets production settings (which refuse to
# start without their secrets), never the local ones with DEBUG and demo keys. Local runs set it.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
