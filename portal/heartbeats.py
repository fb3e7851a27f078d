"""Heartbeats of the Celery worker and of beat, kept in Redis for /health/ready/.

Each worker process writes, every HEARTBEAT_INTERVAL seconds, its name, the time and the
queues it consumes into one Redis hash; beat writes the time of its last tick (beat ticks
at least that often, see CELERY_BEAT_MAX_LOOP_INTERVAL). /health/ready/ reads both with
two Redis commands. Without REDIS_URL (the development broker is a folder) there is no
shared place for them and the checks say so.
"""

from __future__ import annotations

import functools
import json
import logging
import socket
import threading
import time

from celery import signals
from celery.beat import PersistentScheduler
from django.conf import settings
from redis import Redis

from lib.outages import warn_once_a_minute

logger = logging.getLogger(__name__)

WORKERS_KEY = "portal:heartbeat:workers"
BEAT_KEY = "portal:heartbeat:beat"
# Entries of workers gone for this long are removed by the live ones.
FORGET_SECONDS = 3600


@functools.cache
def redis_server(url: str) -> Redis:
    """One client (and connection pool) per process and Redis URL, for the probes and the
    heartbeats: a connection per probe would cost more than the probe."""
    return Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def redis_client() -> Redis:
    """The broker's Redis (REDIS_URL), where the heartbeats are kept."""
    return redis_server(settings.REDIS_URL)


def worker_heartbeat_write(client, *, name: str, queues: list[str], now: float | None = None) -> None:
    now = time.time() if now is None else now
    with client.pipeline(transaction=False) as pipe:
        pipe.hset(WORKERS_KEY, name, json.dumps({"at": now, "queues": sorted(queues)}))
        pipe.hgetall(WORKERS_KEY)
        _ok, entries = pipe.execute()
    gone = [key for key, value in entries.items() if now - json.loads(value)["at"] > FORGET_SECONDS]
    if gone:
        client.hdel(WORKERS_KEY, *gone)


def workers_alive(client, *, now: float | None = None) -> dict[str, list[str]]:
    """Live workers (heartbeat within HEARTBEAT_STALE_SECONDS) and the queues each consumes."""
    now = time.time() if now is None else now
    alive = {}
    for name, value in client.hgetall(WORKERS_KEY).items():
        entry = json.loads(value)
        if now - entry["at"] <= settings.HEARTBEAT_STALE_SECONDS:
            alive[name.decode()] = entry["queues"]
    return alive


def beat_last_tick(client) -> float | None:
    value = client.get(BEAT_KEY)
    return float(value) if value is not None else None


class _WorkerHeartbeat(threading.Thread):
    """A daemon thread of the worker's main process: it beats while the process lives,
    whether the pool is busy or not (a long final tally must not look like a dead worker)."""

    def __init__(self, name: str, queues: list[str]) -> None:
        super().__init__(name="portal-heartbeat", daemon=True)
        self.worker_name = name
        self.queues = queues
        self.stopped = threading.Event()

    def run(self) -> None:
        # Its own client: the thread outlives requests, and a fork must not share it.
        client = Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        while not self.stopped.is_set():
            try:
                worker_heartbeat_write(client, name=self.worker_name, queues=self.queues)
            except Exception:  # Redis down: the heartbeat stops, which is the truth
                warn_once_a_minute(logger, "heartbeat-worker", "worker heartbeat not written: Redis unavailable")
            self.stopped.wait(settings.HEARTBEAT_INTERVAL)

    def stop(self) -> None:
        self.stopped.set()
        try:
            redis_client().hdel(WORKERS_KEY, self.worker_name)
        except Exception:
            logger.warning("worker heartbeat not removed: Redis unavailable")


_heartbeat: _WorkerHeartbeat | None = None


@signals.worker_ready.connect
def _worker_ready(sender=None, **kwargs) -> None:
    global _heartbeat
    if not settings.REDIS_URL:
        return
    queues = sorted(sender.app.amqp.queues.consume_from or sender.app.amqp.queues)
    _heartbeat = _WorkerHeartbeat(name=sender.hostname or socket.gethostname(), queues=queues)
    _heartbeat.start()


@signals.worker_shutdown.connect
def _worker_shutdown(**kwargs) -> None:
    if _heartbeat is not None:
        _heartbeat.stop()


class HeartbeatScheduler(PersistentScheduler):
    """Celery's file-backed scheduler that also records each tick in Redis."""

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        if settings.REDIS_URL:
            try:
                redis_client().set(BEAT_KEY, str(time.time()), ex=FORGET_SECONDS)
            except Exception:
                warn_once_a_minute(logger, "heartbeat-beat", "beat heartbeat not written: Redis unavailable")
        return interval
