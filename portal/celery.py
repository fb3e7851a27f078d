"""The Celery app. Tasks are thin: they take ids and call one service."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _worker_observability(**kwargs) -> None:
    # Heartbeats for /health/ready/, and the worker's own /metrics when a port is set.
    from django.conf import settings

    from portal import heartbeats  # noqa: F401  (connects the worker's signals)

    if settings.CELERY_METRICS_PORT:
        from prometheus_client import start_http_server

        from portal.metrics import metrics_registry

        start_http_server(
            settings.CELERY_METRICS_PORT,
            addr=settings.CELERY_METRICS_ADDR,
            registry=metrics_registry(scrape_time=False),
        )
