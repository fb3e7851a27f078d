"""`/health/live/` and `/health/ready/`, for load balancers and the operator.

live: the process answers (no database, no Redis). ready: each dependency named with its
state, as JSON; 503 when one in HEALTH_READY_REQUIRED is down (by default the primary
database only: the web serves and casts with Redis down, see settings). The checks are
django-health-check's database check plus ours: the cache's and the broker's PING on a
pooled connection, what the worker and beat write (portal.heartbeats), the replica's
replay state. Cheap enough for a probe every few seconds: a SELECT 1 per database and a few
Redis round trips, run concurrently, each with a short timeout. Never cached; no URL, host name or secret in it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import time

from django.conf import settings
from django.db import Error, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from health_check.base import HealthCheck, HealthCheckResult
from health_check.checks import Database
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView

from portal import heartbeats
from portal.replica import REPLICA, replica_lag

SHORT = datetime.timedelta(seconds=2)


@dataclasses.dataclass
class NotConfigured(HealthCheck):
    """A dependency this deployment does not have (e.g. no REDIS_URL in development)."""

    what: str = ""

    def run(self) -> None:
        raise ServiceWarning(f"not configured ({self.what})")


@dataclasses.dataclass
class ReplicaReplay(HealthCheck):
    """The replica answers, is a standby, and whether its replay is paused or behind."""

    timeout = SHORT
    details: dict = dataclasses.field(default_factory=dict, repr=False)

    def run(self) -> None:
        try:
            self.details.update(replica_lag())
        except Error as error:
            raise ServiceUnavailable("replica unavailable (its reads go to the primary)") from error
        finally:
            connections[REPLICA].close()  # this ran in a helper thread: do not leave its connection open
        if not self.details["in_recovery"]:
            raise ServiceWarning("not a standby: it accepts writes")
        if self.details["replay_paused"]:
            raise ServiceWarning("replay is paused: results from it are getting old")


@dataclasses.dataclass
class CachePing(HealthCheck):
    """The cache's Redis answers a PING, on this process's pooled connection.

    The cache fails open (portal/cache.py): with Redis down it answers as an empty cache,
    so django-health-check's set-and-get through it would only report a mismatch, and it
    connected anew on every probe (Django makes a cache object per async context). The
    check asks the cache's server itself.
    """

    timeout = SHORT

    def run(self) -> None:
        try:
            heartbeats.redis_server(str(settings.CACHES["default"]["LOCATION"])).ping()
        except Exception as error:
            raise ServiceUnavailable(
                "the cache (Redis) does not answer: rate limits are off and pages are not cached"
            ) from error


@dataclasses.dataclass
class BrokerPing(HealthCheck):
    """The Celery broker (Redis) answers a PING, on this process's pooled connection.

    django-health-check's Redis check opens a new connection per probe; on a loaded host
    that connect costs more than everything else in the probe, so the broker is pinged on
    the connection the heartbeat reads share.
    """

    timeout = SHORT

    def run(self) -> None:
        try:
            heartbeats.redis_client().ping()
        except Exception as error:
            raise ServiceUnavailable("the broker (Redis) does not answer") from error


@dataclasses.dataclass
class CeleryWorkers(HealthCheck):
    """A live worker heartbeat for each queue (counting, seal, mail)."""

    timeout = SHORT
    details: dict = dataclasses.field(default_factory=dict, repr=False)

    def run(self) -> None:
        try:
            alive = heartbeats.workers_alive(heartbeats.redis_client())
        except Exception as error:
            raise ServiceUnavailable("cannot read the worker heartbeats (Redis unavailable)") from error
        consumers = {queue: sum(queue in queues for queues in alive.values()) for queue in _queues()}
        self.details.update(workers=len(alive), queues=consumers)
        if not alive:
            raise ServiceUnavailable(f"no worker heartbeat in the last {settings.HEARTBEAT_STALE_SECONDS}s")
        unserved = sorted(queue for queue, count in consumers.items() if not count)
        if unserved:
            raise ServiceUnavailable(f"no live worker consumes {', '.join(unserved)}")


@dataclasses.dataclass
class BeatTick(HealthCheck):
    """Beat ticked within HEARTBEAT_STALE_SECONDS."""

    timeout = SHORT
    details: dict = dataclasses.field(default_factory=dict, repr=False)

    def run(self) -> None:
        try:
            last = heartbeats.beat_last_tick(heartbeats.redis_client())
        except Exception as error:
            raise ServiceUnavailable("cannot read beat's last tick (Redis unavailable)") from error
        if last is None:
            raise ServiceUnavailable("beat has not ticked")
        age = max(0.0, time.time() - last)
        self.details["last_tick_seconds_ago"] = round(age, 1)
        if age > settings.HEARTBEAT_STALE_SECONDS:
            raise ServiceUnavailable(f"beat's last tick was {age:.0f}s ago")


def _queues() -> list[str]:
    return list(settings.CELERY_TASK_QUEUES)


def ready_checks() -> dict[str, HealthCheck]:
    """The named checks of this deployment."""
    checks: dict[str, HealthCheck] = {"database": Database(alias="default")}
    checks["replica"] = ReplicaReplay() if REPLICA in settings.DATABASES else NotConfigured(what="DATABASE_REPLICA_URL")
    if settings.REDIS_URL:
        checks["cache"] = CachePing()
        checks["broker"] = BrokerPing()
        checks["workers"] = CeleryWorkers()
        checks["beat"] = BeatTick()
    else:
        for name in ("cache", "broker", "workers", "beat"):
            checks[name] = NotConfigured(what="REDIS_URL")
    return checks


def _state(result: HealthCheckResult) -> str:
    if result.error is None:
        return "ok"
    if isinstance(result.error, ServiceWarning):
        return "warning" if not isinstance(result.check, NotConfigured) else "off"
    return "down"


class ReadinessView(HealthCheckView):
    """django-health-check runs the checks concurrently; the answer is ours: each check by
    name with its state, and 503 when a required one is down."""

    async def get(self, request, *args, **kwargs):
        named = ready_checks()
        self.checks = ()
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for check in named.values()))
        body: dict = {"checks": {}}
        failed_required = False
        degraded = False
        for name, result in zip(named, results, strict=True):
            state = _state(result)
            required = name in settings.HEALTH_READY_REQUIRED
            entry: dict = {"state": state, "required": required, "ms": round(result.time_taken * 1000, 1)}
            if result.error is not None:
                entry["detail"] = result.error.message
            entry |= getattr(result.check, "details", {})
            body["checks"][name] = entry
            if state == "down" and required:
                failed_required = True
            elif state in ("down", "warning"):
                degraded = True
        body["status"] = "down" if failed_required else ("degraded" if degraded else "ok")
        return JsonResponse(body, status=503 if failed_required else 200, json_dumps_params={"indent": 1})


@never_cache
def live(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


ready = ReadinessView.as_view()
