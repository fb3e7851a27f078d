from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_migrate

        from portal import checks  # noqa: F401  (registers the system checks)
        from portal.sites import site_configure

        # After the sites app has created its default Site (its receiver comes first).
        post_migrate.connect(site_configure, sender=apps.get_app_config("sites"), dispatch_uid="portal.site_configure")
