"""Throttles of the ballot and auth endpoints: per account and per IP address.

Rates come from settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (read from the
environment), and are looked up at request time so that tests can change them;
settings.THROTTLE = False (THROTTLE=0) turns them all off for load tests from one host.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from lib.client_address import client_address

logger = logging.getLogger(__name__)


class PortalThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope or ""]  # type: ignore[return-value]

    def get_ident(self, request) -> str:
        # DRF's own get_ident trusts X-Forwarded-For from anyone (NUM_PROXIES unset).
        return client_address(request)

    def allow_request(self, request, view):
        if not settings.THROTTLE:
            return True
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache (Redis) is down or slow
            # Fail open: a cache outage must not stop residents from voting. The
            # database still allows one ballot per voter; only the rate limit lapses.
            logger.warning("throttle %s skipped: cache unavailable", self.scope, exc_info=True)
            return True


class BallotUserThrottle(PortalThrottle):
    scope = "ballot_user"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None  # anonymous callers are refused (401) and counted per IP
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class BallotIPThrottle(PortalThrottle):
    scope = "ballot_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthIPThrottle(PortalThrottle):
    scope = "auth_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthAccountThrottle(PortalThrottle):
    """Password guesses against one account, from however many addresses."""

    scope = "auth_user"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        ident = hashlib.sha256(email.strip().casefold().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LedgerLookupThrottle(PortalThrottle):
    """Receipt lookups on the ballot ledger, per address: a receipt cannot be guessed,
    but nobody should be able to try thousands a minute."""

    scope = "ledger_lookup"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


# Both ballot limits in one Redis round trip: DRF's SimpleRateThrottle reads and writes
# each scope's history separately (4 commands per ballot). The same sliding window as
# DRF's, kept as a sorted set of request times per key: a request is refused when a key
# already holds `limit` times within `window` seconds, and recorded in every key only
# when no key refuses it (as DRF records only admitted requests).
_SLIDING_WINDOW_LUA = """
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
    local limit, window = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
    if redis.call('ZCARD', KEYS[i]) >= limit then
        local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
        return {i, tostring(tonumber(oldest[2]) + window - now)}
    end
end
for i = 1, #KEYS do
    local window = tonumber(ARGV[2 * i + 2])
    redis.call('ZADD', KEYS[i], now, ARGV[2])
    redis.call('PEXPIRE', KEYS[i], math.ceil(window * 1000))
end
return {0, '0'}
"""


# One Redis client per connection pool of the process. Django's cache makes a new
# `redis.Redis` per call, and building one (its table of reply callbacks) cost more CPU
# than the script's round trip; a client is thread-safe, the pool holds the sockets.
_clients: dict[int, tuple[object, Any]] = {}


def _client_of(backend: RedisCache) -> Any:
    cache: Any = backend._cache  # Django's RedisCacheClient: its pool and client class
    pool = cache._get_connection_pool(write=True)
    kept = _clients.get(id(pool))
    if kept is None or kept[0] is not pool:
        kept = _clients[id(pool)] = (pool, cache._client(connection_pool=pool))
    return kept[1]


class BallotThrottle(PortalThrottle):
    """The ballot endpoints' limits per IP and per account (scopes ballot_ip, ballot_user)
    checked in one Lua script on Redis; with another cache, the two DRF throttles."""

    scope = "ballot_ip"
    scopes: tuple[type[PortalThrottle], ...] = (BallotIPThrottle, BallotUserThrottle)
    _script: object = None

    def __init__(self) -> None:  # the rate is per scope, read at request time
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        if not settings.THROTTLE:
            return True
        # DRF's `cache` is the proxy of the default cache: the backend is behind it.
        backend = caches[DEFAULT_CACHE_ALIAS] if self.cache is default_cache else self.cache
        if not isinstance(backend, RedisCache):
            return self._allow_separately(request, view)
        keys, args = [], [time.time(), uuid.uuid4().hex]
        for throttle_class in self.scopes:
            throttle: Any = throttle_class()  # SimpleRateThrottle sets its rate in __init__
            key = throttle.get_cache_key(request, view)
            if key is None or throttle.num_requests is None or throttle.duration is None:
                continue
            keys.append(backend.make_and_validate_key(key + ":window"))  # not DRF's list
            args += [throttle.num_requests, throttle.duration]
        if not keys:
            return True
        try:
            refused, wait = self._run(backend, keys, args)
        except Exception:  # the cache (Redis) is down or slow: fail open, as PortalThrottle
            logger.warning("throttle %s skipped: cache unavailable", "ballot", exc_info=True)
            return True
        if int(refused):
            self._wait = max(0.0, float(wait))
            return False
        return True

    def _run(self, backend: RedisCache, keys: list[str], args: list) -> tuple[int, str]:
        client = _client_of(backend)
        if BallotThrottle._script is None:
            BallotThrottle._script = client.register_script(_SLIDING_WINDOW_LUA)
        refused, wait = BallotThrottle._script(keys=keys, args=args, client=client)  # type: ignore[operator]
        return refused, wait.decode() if isinstance(wait, bytes) else wait

    def _allow_separately(self, request, view) -> bool:
        for throttle_class in self.scopes:
            throttle = throttle_class()
            if not throttle.allow_request(request, view):
                self._wait = throttle.wait()
                return False
        return True

    def wait(self) -> float | None:
        return self._wait
