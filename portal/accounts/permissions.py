"""Who may see and do what, as small named predicates.

Scope is the one idea behind the officials' admin: a regional official acts on the
municipalities of their region, a municipal official on their own municipalities, a
superuser on everything (`Municipality.objects.administered_by`). Anything outside the
scope is treated as if it did not exist (404), never as "forbidden", so ids cannot be
probed; a service asked to act outside it raises `OutOfScope`.
"""

from __future__ import annotations

from typing import Any

from projects.models import Municipality


class OutOfScope(Exception):
    """The user may not act on this municipality's objects (views answer 404, the admin says so)."""

    code = "out_of_scope"


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def is_official(user: Any) -> bool:
    return _active(user) and user.role in user.OFFICIAL_ROLES


def administers(user: Any, municipality: Municipality | int) -> bool:
    """Does `municipality` lie in `user`'s scope (whatever their role)?"""
    municipality_id = municipality if isinstance(municipality, int) else municipality.pk
    return Municipality.objects.administered_by(user).filter(pk=municipality_id).exists()


def is_official_for(user: Any, municipality: Municipality | int) -> bool:
    """Officials of the municipality (or of its region), and superusers."""
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    return is_official(user) and administers(user, municipality)


def can_edit_places(user: Any) -> bool:
    """Officials and superusers write spaces, proposals and campaigns (within scope)."""
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or is_official(user)))


def can_moderate(user: Any) -> bool:
    """Moderators hide comments and triage ideas; officials may too, in their scope."""
    if not _active(user):
        return False
    return user.is_superuser or user.role == user.Role.MODERATOR or is_official(user)


def can_moderate_in(user: Any, municipality: Municipality | int) -> bool:
    """May `user` hide comments and decide ideas of `municipality`?"""
    return can_moderate(user) and administers(user, municipality)


def is_volunteer(user: Any) -> bool:
    return _active(user) and user.role == user.Role.VOLUNTEER


def is_auditor(user: Any) -> bool:
    return _active(user) and user.role == user.Role.AUDITOR


def is_commission_member(user: Any) -> bool:
    return _active(user) and user.role == user.Role.COMMISSION_MEMBER


def is_commission_member_for(user: Any, municipality: Municipality | int) -> bool:
    """A member of the public commission of `municipality` (in their scope): only they
    decide on the verification of its votes; a superuser assigns them, and is not one."""
    municipality_id = municipality if isinstance(municipality, int) else municipality.pk
    return is_commission_member(user) and user.scope_municipalities.filter(pk=municipality_id).exists()
