"""Gunicorn settings, read from the environment like portal/settings.py.

`gunicorn portal.wsgi` picks this file up from the working directory. The default is the
threaded worker, one process per core with 4 threads each: it keeps client connections
alive between requests, and a thread waiting for PostgreSQL leaves the core to another.
Measured against gunicorn's classic advice (2 x cores + 1 sync workers) on the opening-day
ramp (bench/NOTES.md, section 6): more requests admitted at saturation, and the ballots'
p99 at 100 and 200 ballots/s under 20 and 50 ms where sync workers gave 46 and 287 ms.
GUNICORN_THREADS=1 gives sync workers again (then set GUNICORN_WORKERS to 2 x cores + 1).
"""

import multiprocessing
import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise SystemExit(f"{name}={value!r} is not an integer") from None


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _env_int("GUNICORN_WORKERS", multiprocessing.cpu_count())
threads = _env_int("GUNICORN_THREADS", 4)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread" if threads > 1 else "sync")
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
backlog = _env_int("GUNICORN_BACKLOG", 2048)
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# Behind a load balancer that terminates TLS (see SECURE_PROXY_SSL_HEADER in settings).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "warning")


# prometheus-client's multiprocess mode (portal/metrics.py): each worker writes its
# counters to files in PROMETHEUS_MULTIPROC_DIR. The folder is emptied when gunicorn
# starts (files of an earlier run would be added to this one's), and a dead worker's
# live gauges are dropped.
def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
