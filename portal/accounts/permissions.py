"""Who may see and do what, as small named predicates.

Scope is the one idea behind the officials' admin: a regional official acts on the
municipalities of their region, a municipal official on their own municipalities, a
superuser on everything. Anything outside the scope is treated as if it did not exist
(404), never as "forbidden", so ids cannot be probed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

if TYPE_CHECKING:
    from portal.accounts.models import User
    from projects.models import Municipality


def municipalities_in_scope(user: User) -> QuerySet[Municipality]:
    """The municipalities whose spaces, proposals and campaigns `user` administers."""
    from projects.models import Municipality

    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Municipality.objects.none()
    if user.is_superuser:
        return Municipality.objects.all()
    role = user.role
    if role in (user.Role.REGIONAL_OFFICIAL, user.Role.MODERATOR, user.Role.AUDITOR) and user.scope_region_id:
        return Municipality.objects.filter(region_id=user.scope_region_id)
    if role in (user.Role.MUNICIPAL_OFFICIAL, user.Role.AUDITOR):
        return Municipality.objects.filter(officials=user)
    return Municipality.objects.none()


def is_official(user: User) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role in user.OFFICIAL_ROLES)


def is_official_for(user: User, municipality: Municipality | int) -> bool:
    """Officials of the municipality (or of its region), and superusers."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not is_official(user):
        return False
    municipality_id = municipality if isinstance(municipality, int) else municipality.pk
    return municipalities_in_scope(user).filter(pk=municipality_id).exists()


def can_edit_places(user: User) -> bool:
    """Officials and superusers write spaces, proposals and campaigns (within scope)."""
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or is_official(user)))


def can_moderate(user: User) -> bool:
    """Moderators hide comments and triage ideas; officials may too, in their scope."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or user.role == user.Role.MODERATOR or is_official(user)


def is_volunteer(user: User) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role == user.Role.VOLUNTEER)


def is_auditor(user: User) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role == user.Role.AUDITOR)
