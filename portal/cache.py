"""The Redis cache, failing open: with Redis down every call answers as an empty cache.

The cache holds nothing the portal cannot do without (rate-limit counters, allauth's
rate-limit lock, the whole-page copy of results pages). When Redis stops, Django's
RedisCache raises on every call, and allauth's log-in answered 500. Here a call that
cannot reach Redis logs one warning a minute and returns what an empty cache would: the
limits lapse (fail open) and pages are rendered from the database. The database stays
the truth: one ballot per voter does not depend on the cache.
"""

from __future__ import annotations

import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from lib.outages import warn_once_a_minute

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


def _unavailable(error: Exception) -> None:
    warn_once_a_minute(
        logger,
        "cache",
        "cache (Redis) unavailable: rate limits are off and pages are not cached until it is back (%s: %s)",
        type(error).__name__,
        error,
    )


class FailOpenRedisCache(RedisCache):
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except UNAVAILABLE as error:
            _unavailable(error)
            return True  # as if stored: allauth's lock is taken, nobody waits on it

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except UNAVAILABLE as error:
            _unavailable(error)
            return default

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except UNAVAILABLE as error:
            _unavailable(error)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except UNAVAILABLE as error:
            _unavailable(error)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except UNAVAILABLE as error:
            _unavailable(error)
            return False

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except UNAVAILABLE as error:
            _unavailable(error)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except UNAVAILABLE as error:
            _unavailable(error)
            return False

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except UNAVAILABLE as error:
            _unavailable(error)
            return delta  # a counter that starts now: under any limit

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except UNAVAILABLE as error:
            _unavailable(error)
            return []

    def delete_many(self, keys, version=None):
        try:
            super().delete_many(keys, version)
        except UNAVAILABLE as error:
            _unavailable(error)

    def clear(self):
        try:
            return super().clear()
        except UNAVAILABLE as error:
            _unavailable(error)
            return False
