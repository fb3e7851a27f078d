"""The cache answers as an empty cache while its Redis is stopped, with one warning a minute.

In-process, against a private redis-server that the test stops and starts again.
"""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache
from django.test import override_settings

from lib.outages import warnings_reset

pytestmark = [pytest.mark.faults, pytest.mark.django_db]


@pytest.fixture
def redis_cache(private_redis):
    location = private_redis.url.rsplit("/", 1)[0] + "/1"
    caches = {
        "default": {
            "BACKEND": "portal.cache.FailOpenRedisCache",
            "LOCATION": location,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    warnings_reset()
    with override_settings(CACHES=caches):
        yield private_redis
    warnings_reset()


def test_every_call_answers_as_an_empty_cache_while_redis_is_stopped(redis_cache, caplog):
    cache.set("kept", "value", 60)
    assert cache.get("kept") == "value"
    redis_cache.stop()
    with caplog.at_level(logging.WARNING, logger="portal.cache"):
        assert cache.get("kept") is None
        assert cache.get("kept", "default") == "default"
        assert cache.add("lock", True, 10) is True  # allauth's lock: taken, nobody waits
        assert cache.get_many(["kept", "lock"]) == {}
        assert cache.incr("counter", 3) == 3
        assert cache.has_key("kept") is False
        assert cache.touch("kept") is False
        assert cache.delete("kept") is False
        assert cache.set_many({"a": 1}) == []
        cache.set("kept", "other")
        cache.delete_many(["a"])
        # RedisCache.clear returns a bool (False here); the stubs say None.
        assert cache.clear() is False  # type: ignore[func-returns-value]
    warnings = [record for record in caplog.records if record.name == "portal.cache"]
    assert len(warnings) == 1
    assert "rate limits are off" in warnings[0].getMessage()
    assert warnings[0].exc_info is None  # one line, no traceback

    redis_cache.start()  # the same port: the cache works again by itself
    cache.set("back", "yes", 60)
    assert cache.get("back") == "yes"


def test_the_api_throttles_fail_open(redis_cache, db):
    from rest_framework.settings import api_settings
    from rest_framework.test import APIClient

    redis_cache.stop()
    from django.conf import settings

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "auth_ip": "2/min", "auth_user": "2/min"}
    with override_settings(THROTTLE=True, REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        statuses = [
            APIClient()
            .post("/api/v1/auth/token/", {"email": "nobody@example.org", "password": "x"}, format="json")
            .status_code
            for _ in range(5)
        ]
    assert statuses == [400] * 5
