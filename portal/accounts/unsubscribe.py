"""The signed, non-expiring unsubscribe link of every notification e-mail (no log-in needed)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from portal.accounts.models import User

# The salt predates the move of this module: links already in residents' mailboxes stay valid.
UNSUBSCRIBE_SALT = "portal.notifications.unsubscribe"


def unsubscribe_token(user: User) -> str:
    # The e-mail is signed too, so a link stops working if the account changes hands.
    return signing.dumps({"u": user.pk, "e": user.email.lower()}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_user_from_token(token: str) -> User | None:
    """The user a token was made for, or None for a tampered or stale token."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user = User.objects.filter(pk=data.get("u")).first()
    if user is None or user.email.lower() != data.get("e"):
        return None
    return user


def unsubscribe_url(user: User) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("accounts:unsubscribe", args=[unsubscribe_token(user)])
