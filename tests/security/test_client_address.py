"""The client's address: one function decides it, and X-Forwarded-For counts only when
a trusted proxy wrote it.

The outside review sent 40 token requests with a rotating X-Forwarded-For and got no
429 (against 10 x 429 without the header), and found allauth keyed its limits on
REMOTE_ADDR, so behind a load balancer every resident would share one limit.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from lib.client_address import client_address
from tests.builders import make_space
from tests.security.conftest import space_form_data

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.5"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


def proxies(value):
    """override_settings for TRUSTED_PROXIES as settings.py parses it: a count or networks."""
    if isinstance(value, int):
        return override_settings(TRUSTED_PROXY_COUNT=value, TRUSTED_PROXY_NETWORKS=[])
    return override_settings(TRUSTED_PROXY_COUNT=0, TRUSTED_PROXY_NETWORKS=list(value))


def auth_rate(rate: str):
    from django.conf import settings

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "auth_ip": rate, "auth_user": "1000/min"}
    return override_settings(THROTTLE=True, REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates})


def token_statuses(headers_for) -> list[int]:
    client = APIClient()
    return [
        client.post(
            "/api/v1/auth/token/", {"email": f"nobody{i}@example.org", "password": "x"}, format="json", **headers_for(i)
        ).status_code
        for i in range(40)
    ]


# --- the finding: a rotating header escaped the per-address limit ------------------------


def test_rotating_forwarded_for_does_not_escape_the_token_limit_without_a_proxy():
    with proxies(0), auth_rate("30/min"):
        statuses = token_statuses(lambda i: {"HTTP_X_FORWARDED_FOR": f"203.0.113.{i}"})
    assert statuses.count(429) == 10
    assert statuses[:30] == [400] * 30


def test_behind_one_proxy_each_client_has_its_own_limit_and_a_forged_prefix_is_ignored():
    with proxies(1), auth_rate("30/min"):
        # Forty residents behind the proxy: forty addresses, nobody limited.
        separate = token_statuses(lambda i: {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"198.51.100.{i}"})
        cache.clear()
        # One client that forges the left part of the header: still one address.
        forged = token_statuses(
            lambda i: {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"203.0.113.{i}, 198.51.100.7"}
        )
    assert 429 not in separate
    assert forged.count(429) == 10


# --- allauth's limits key on the same address ---------------------------------------------


def log_in(client: Client, email: str, **headers):
    return client.post("/accounts/login/", {"login": email, "password": "wrong"}, **headers)


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "3/m/ip,100/5m/key"})
def test_allauth_limits_each_resident_behind_the_proxy_separately():
    with proxies([f"{PROXY}/32"]):
        first = [
            log_in(Client(), f"a{i}@example.org", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code
            for i in range(4)
        ]
        other = log_in(Client(), "b@example.org", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert first == [200, 200, 200, 429]
    assert other.status_code == 200  # another resident behind the same proxy is not locked out


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "3/m/ip,100/5m/key"})
def test_allauth_ignores_the_header_without_a_proxy():
    with proxies(0):
        statuses = [
            log_in(Client(), f"a{i}@example.org", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code for i in range(4)
        ]
    assert statuses == [200, 200, 200, 429]


# --- stored addresses ---------------------------------------------------------------------


def test_the_audit_log_stores_the_clients_address_behind_a_proxy(client, official_a, town_a):
    from portal.audit.models import AuditEvent

    space = make_space(town_a, "Старый сквер")
    client.force_login(official_a)
    with proxies(1):
        response = client.post(
            f"/admin/projects/space/{space.pk}/change/",
            space_form_data(space, name="Новый сквер"),
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.44",
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AuditEvent.objects.get().ip == "198.51.100.44"


# --- the function itself ----------------------------------------------------------------


def address(remote: str = "192.0.2.1", forwarded: str | None = None) -> str:
    meta: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


def test_without_a_proxy_the_header_is_ignored():
    with proxies(0):
        assert address("192.0.2.1", "203.0.113.5") == "192.0.2.1"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "198.51.100.4", "198.51.100.4"),
        (1, "203.0.113.5, 198.51.100.4", "198.51.100.4"),
        (2, "203.0.113.5, 198.51.100.4, 10.1.1.1", "198.51.100.4"),
        (2, "198.51.100.4", "198.51.100.4"),  # only the inner proxy wrote it
        (1, "", PROXY),  # no header: the proxy itself (a health check)
        (1, "not-an-address", PROXY),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "[2001:db8::1]:4711", "2001:db8::1"),
        (1, "198.51.100.4:50123", "198.51.100.4"),
    ],
)
def test_a_counted_proxy_chain(count, forwarded, expected):
    with proxies(count):
        assert address(PROXY, forwarded) == expected


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        (PROXY, "198.51.100.4", "198.51.100.4"),
        (PROXY, "203.0.113.5, 198.51.100.4, 10.9.9.9", "198.51.100.4"),  # skips our own hops
        ("192.0.2.77", "198.51.100.4", "192.0.2.77"),  # not from a proxy: header ignored
        (PROXY, "10.2.2.2, 10.3.3.3", "10.2.2.2"),  # only proxies: the farthest one
        (PROXY, "198.51.100.4, garbage, 10.3.3.3", "10.3.3.3"),  # nothing left of garbage is trusted
    ],
)
def test_trusted_proxy_networks(remote, forwarded, expected):
    with proxies(["10.0.0.0/8"]):
        assert address(remote, forwarded) == expected


def test_a_forged_https_header_counts_only_from_a_trusted_proxy():
    with proxies(["10.0.0.0/8"]), override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        from portal.middleware import UntrustedForwardedHeadersMiddleware

        seen = {}

        def view(request):
            seen["secure"] = request.is_secure()
            seen["address"] = client_address(request)
            return None

        middleware = UntrustedForwardedHeadersMiddleware(view)
        middleware(RequestFactory().get("/", REMOTE_ADDR="192.0.2.77", HTTP_X_FORWARDED_PROTO="https"))
        assert seen == {"secure": False, "address": "192.0.2.77"}
        middleware(RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https"))
        assert seen == {"secure": True, "address": PROXY}


# --- settings -----------------------------------------------------------------------------


def test_the_https_header_is_honoured_only_with_a_proxy_configured():
    from tests.security.test_headers_and_settings import production_settings

    alone = production_settings()
    assert alone["SECURE_PROXY_SSL_HEADER"] is None
    assert (alone["TRUSTED_PROXY_COUNT"], alone["TRUSTED_PROXY_NETWORKS"]) == (0, [])
    counted = production_settings({"TRUSTED_PROXIES": "2"})
    assert counted["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert (counted["TRUSTED_PROXY_COUNT"], counted["TRUSTED_PROXY_NETWORKS"]) == (2, [])
    networks = production_settings({"TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::/32"})
    assert networks["TRUSTED_PROXY_NETWORKS"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert networks["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_a_mistyped_proxy_setting_stops_the_process():
    from tests.security.test_headers_and_settings import PRODUCTION_ENV, run_with_env

    result = run_with_env(["manage.py", "check"], {**PRODUCTION_ENV, "TRUSTED_PROXIES": "10.0.0.0/33"})
    assert result.returncode != 0
    assert "TRUSTED_PROXIES='10.0.0.0/33' is neither a number of proxies nor a network" in result.stderr
