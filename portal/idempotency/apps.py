from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdempotencyConfig(AppConfig):
    name = "portal.idempotency"
    label = "idempotency"
    verbose_name = _("Repeated API requests")
    default_auto_field = "django.db.models.BigAutoField"
