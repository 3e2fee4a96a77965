import os

from django.core.asgi import get_asgi_application

# A deployment runs these; without DJANGO_SETTINGS_MODULE it gets production settings (which refuse to
# start without their secrets), never the local ones with DEBUG and demo keys. Local runs set it.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")
application = get_asgi_application()
