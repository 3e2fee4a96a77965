"""The Celery application. Configuration lives in Django settings under the CELERY_ namespace."""

import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging

# A deployment runs these; without DJANGO_SETTINGS_MODULE it gets production settings (which refuse to
# start without their secrets), never the local ones with DEBUG and demo keys. Local runs set it.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect(weak=False)
def _logging_from_settings(**kwargs: Any) -> None:
    """Workers and beat log as the web does (settings.LOGGING: request ids, JSON in production), at LOG_LEVEL."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
