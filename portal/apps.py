from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


def local_state_folders() -> list[Path]:
    """Folders the embedded defaults write to: SQLite's, and the file broker's."""
    folders = []
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3") and str(database["NAME"]) != ":memory:":
        folders.append(Path(database["NAME"]).parent)
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders += [Path(options["data_folder_in"]), Path(options["data_folder_out"])]
    return folders


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

        # Settings only name these folders; the portal creates them when it starts, so a
        # fresh checkout runs without a set-up step and importing settings writes nothing.
        for folder in local_state_folders():
            folder.mkdir(parents=True, exist_ok=True)
