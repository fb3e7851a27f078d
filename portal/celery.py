"""The Celery app. Tasks are thin: they take ids and call one service."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _log_format(logger=None, **kwargs) -> None:
    # Celery sets up its own handlers (`-l info`); they get the request id of the web
    # request that enqueued the task and, with LOG_FORMAT=json, the JSON lines.
    from django.conf import settings
    from django_guid.log_filters import CorrelationId

    json_format = settings.LOG_FORMAT == "json"
    for handler in logger.handlers if logger is not None else ():
        handler.addFilter(CorrelationId(correlation_id_field="request_id"))
        if json_format:
            from pythonjsonlogger.json import JsonFormatter

            options = settings.LOGGING["formatters"]["json"]
            handler.setFormatter(JsonFormatter(options["format"], rename_fields=options["rename_fields"]))


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
