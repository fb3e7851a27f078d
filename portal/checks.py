"""System checks for settings that `check --deploy` does not know about."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_production_services(app_configs, **kwargs):
    messages = []
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        messages.append(
            Warning(
                "SQLite is the embedded development database.",
                hint="Set DATABASE_URL to a PostgreSQL database in production.",
                id="portal.W001",
            )
        )
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        messages.append(
            Warning(
                "The file-system Celery broker only works on one host.",
                hint="Set REDIS_URL in production.",
                id="portal.W002",
            )
        )
    return messages


@register(Tags.compatibility)
def check_time_zone(app_configs, **kwargs):
    if not settings.USE_TZ:
        return [Error("USE_TZ must be on: voting windows are compared across time zones.", id="portal.E001")]
    return []


@register(Tags.security)
def check_live_standings_threshold(app_configs, **kwargs):
    if settings.LIVE_STANDINGS_MIN_BALLOTS < 1:
        return [
            Error(
                "LIVE_STANDINGS_MIN_BALLOTS must be at least 1: with no ballot threshold, live "
                "standings show the first voters' choices.",
                hint="Leave it unset (50) or set a positive number.",
                id="portal.E002",
            )
        ]
    return []
