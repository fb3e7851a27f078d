from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = _("Places and proposals")

    def ready(self) -> None:
        # Registers the SQLite `casefold` function on every new connection.
        from projects import search  # noqa: F401
