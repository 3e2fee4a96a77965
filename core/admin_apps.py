from django.contrib.admin.apps import AdminConfig


class TesseraAdminConfig(AdminConfig):
    """The admin with Tessera's site class (kept apart so app loading imports no models)."""

    default_site = "core.admin_site.TesseraAdminSite"
