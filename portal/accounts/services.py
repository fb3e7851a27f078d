"""Writes on users."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User


def user_mark_verified(*, user: User) -> User:
    if user.verified_at is None:
        user.verified_at = timezone.now()
        user.save(update_fields=["verified_at"])
    return user


@transaction.atomic
def official_assign(*, user: User, role: str, region=None, municipalities=()) -> User:
    """Give `user` a staff role and its scope (used by superusers in the admin)."""
    user.role = role
    user.scope_region = region
    user.full_clean(exclude=["password"])
    user.save()
    user.scope_municipalities.set(municipalities)
    return user


def user_unsubscribe(*, user: User) -> User:
    """Stop all notification e-mails (from the link in any of them)."""
    if user.notify_by_email:
        user.notify_by_email = False
        user.save(update_fields=["notify_by_email"])
    return user
