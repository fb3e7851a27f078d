"""Throttles of the ballot and auth endpoints: per account and per IP address.

Rates come from settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (read from the
environment), and are looked up at request time so that tests can change them;
settings.THROTTLE = False (THROTTLE=0) turns them all off for load tests from one host.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
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
