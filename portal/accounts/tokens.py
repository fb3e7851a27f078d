"""API tokens (DRF's authtoken): they expire, and belong to verified accounts only.

A token is valid for API_TOKEN_TTL_DAYS from its issue; the app then asks for the
password again. An account that has not been verified gets none (and a token issued
before that rule no longer authenticates). Reads here; writes in accounts.services.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from portal.prepared import Prepared


def token_expires_at(token: Token) -> datetime.datetime:
    return token.created + datetime.timedelta(days=settings.API_TOKEN_TTL_DAYS)


def token_is_expired(token: Token, *, now: datetime.datetime | None = None) -> bool:
    return token_expires_at(token) <= (now or timezone.now())


def token_of(user) -> Token | None:
    """The user's current token, if any (expired or not)."""
    return Token.objects.filter(user=user).first()


_TOKEN_WITH_USER: Prepared[Token] = Prepared(Token, lambda key: Token.objects.select_related("user").filter(key=key))


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused once expired or for an unverified account.

    The same one query as DRF's (the token with its user); the checks read that row.
    """

    def authenticate_credentials(self, key):
        # DRF's own lookup and checks, with the query compiled once per process.
        token = _TOKEN_WITH_USER.first(key) if isinstance(key, str) else None
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        user = token.user
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        if token_is_expired(token):
            raise AuthenticationFailed(
                _("This API token has expired: log in again to get a new one."), code="token_expired"
            )
        if not user.is_verified:
            raise AuthenticationFailed(_("Confirm your e-mail address before using the API."), code="not_verified")
        return user, token
