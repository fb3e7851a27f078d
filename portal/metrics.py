"""Prometheus metrics: what the portal counts, and `/metrics`, readable from configured
networks or with a token.

Counters live in the process that counts (ballots and refusals in the web workers, the
seal's duration in the Celery worker). gunicorn's workers are separate processes, so with
`PROMETHEUS_MULTIPROC_DIR` set prometheus-client keeps their values in files there and
`/metrics` adds them up (multiprocess mode; the folder is emptied when gunicorn starts,
see gunicorn.conf.py). What is the same for every process, the age of each open
campaign's live count and the depth of each Celery queue, is read when scraped.

Request latency by view comes from django-prometheus's middleware
(`django_http_requests_latency_seconds_by_view_method`).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from lib.client_address import is_trusted_proxy
from lib.outages import warn_once_a_minute

logger = logging.getLogger(__name__)

BALLOTS_CAST = Counter(
    "portal_ballots_cast",
    "Ballots recorded (committed), by channel and campaign.",
    ["channel", "campaign"],
)
BALLOT_REFUSALS = Counter(
    "portal_ballot_refusals",
    "Ballots refused with a clear error (nothing written), by the refusal's code.",
    ["code"],
)
LEDGER_SEAL_SECONDS = Histogram(
    "portal_ledger_seal_duration_seconds",
    "Time to seal a campaign's ballot ledger (hash chain over every ballot).",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
REQUESTS_SHED = Counter(
    "portal_requests_shed",
    "Requests answered 503 at once because the worker was saturated (portal/shedding.py), by bound.",
    ["reason"],
)
LEDGER_SEAL_BALLOTS = Counter("portal_ledger_sealed_ballots", "Ballots hashed into sealed ledgers.")

QUEUES = ("counting", "seal", "mail")


def ballot_cast_record(*, channel: str, campaign_id: int) -> None:
    """Count a ballot once its transaction commits (never one that was rolled back)."""
    transaction.on_commit(lambda: BALLOTS_CAST.labels(channel=channel, campaign=str(campaign_id)).inc())


def ballot_refusal_record(*, code: str) -> None:
    BALLOT_REFUSALS.labels(code=code).inc()


def ledger_seal_observe(*, seconds: float, ballots: int) -> None:
    LEDGER_SEAL_SECONDS.observe(seconds)
    LEDGER_SEAL_BALLOTS.inc(ballots)


class ScrapeTimeCollector(Collector):
    """Values read from PostgreSQL and the broker when Prometheus scrapes."""

    def describe(self) -> list[Metric]:
        return []  # registering must not run the queries: they run when scraped

    def collect(self) -> Iterator[Metric]:
        yield from self._live_tally_age()
        yield from self._queue_depth()

    def _live_tally_age(self) -> Iterator[Metric]:
        from votes.models import Campaign, Tally

        family = GaugeMetricFamily(
            "portal_live_tally_age_seconds",
            "Seconds since each open campaign's live count was computed (since it opened, if never).",
            labels=["campaign"],
        )
        now = timezone.now()
        try:
            campaigns = list(Campaign.objects.open(now).values_list("pk", "opened_at", "voting_opens_at"))
            computed = dict(
                Tally.objects.filter(campaign_id__in=[pk for pk, *_ in campaigns], kind=Tally.Kind.LIVE)
                .exclude(computed_at__isnull=True)
                .values_list("campaign_id", "computed_at")
            )
        except Exception:
            logger.warning("metrics: cannot read the live tallies", exc_info=True)
            return
        for pk, opened_at, opens_at in campaigns:
            reference = computed.get(pk) or opened_at or opens_at
            family.add_metric([str(pk)], max(0.0, (now - reference).total_seconds()))
        yield family

    def _queue_depth(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "portal_celery_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        if not settings.REDIS_URL:
            # The development broker (files) has no cheap length: the series is declared,
            # with no sample, so a dashboard shows "no data" rather than a missing metric.
            yield family
            return
        from portal.heartbeats import redis_client

        try:
            # The broker is REDIS_URL (settings): one client per process, connections reused.
            with redis_client().pipeline(transaction=False) as pipe:
                for queue in QUEUES:
                    # kombu's Redis transport keeps a list per queue and priority step.
                    for key in (queue, *(f"{queue}\x06\x16{step}" for step in (3, 6, 9))):
                        pipe.llen(key)
                lengths = pipe.execute()
        except Exception as error:
            # Once a minute, not a traceback per scrape, while Redis is down (lib/outages.py).
            warn_once_a_minute(
                logger,
                "metrics-broker",
                "metrics: broker unavailable, no queue depth (%s: %s)",
                type(error).__name__,
                error,
            )
            return
        for index, queue in enumerate(QUEUES):
            family.add_metric([queue], float(sum(lengths[index * 4 : index * 4 + 4])))
        yield family


def metrics_registry(*, scrape_time: bool = True) -> CollectorRegistry:
    """The registry to expose: every process's files in multiprocess mode, else this one's."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessRegistry())
    if scrape_time:
        registry.register(ScrapeTimeCollector())
    return registry


class _ProcessRegistry(Collector):
    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def metrics_allowed(request: HttpRequest) -> bool:
    """With the token, or from a configured network when Prometheus connects directly.

    A request that came through a proxy (its peer is one of TRUSTED_PROXIES, or it carries
    X-Forwarded-For) is judged by the token alone: the peer's address is then the load
    balancer's, which every visitor shares, and the forwarded one is whatever the client
    wrote. So a METRICS_ALLOWED_NETWORKS that contains the load balancers lets nobody in.
    """
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    remote = request.META.get("REMOTE_ADDR", "")
    if "HTTP_X_FORWARDED_FOR" in request.META or is_trusted_proxy(remote):
        return False
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
