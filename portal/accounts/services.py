"""Writes on users."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from portal.accounts.models import PHONE_ONLY_EMAIL_DOMAIN, User
from portal.accounts.phones import phone_normalise
from portal.audit.services import audit_decision, audit_snapshot


def user_mark_verified(*, user: User) -> User:
    if user.verified_at is None:
        user.verified_at = timezone.now()
        user.save(update_fields=["verified_at"])
    return user


@transaction.atomic
def official_assign(*, user: User, role: str, region=None, municipalities=(), actor: User | None = None) -> User:
    """Give `user` a staff role and its scope (a superuser's decision, `actor`; None for
    the system, e.g. the demo data). A change is recorded in the audit log."""
    before = audit_snapshot(user) if user.pk else None
    user.role = role
    user.scope_region = region
    user.full_clean(exclude=["password"])
    user.save()
    user.scope_municipalities.set(municipalities)
    if audit_snapshot(user) != before:
        audit_decision(actor=actor, name="official_assign", obj=user, before=before)
    return user


def user_unsubscribe(*, user: User) -> User:
    """Stop all notification e-mails (from the link in any of them)."""
    if user.notify_by_email:
        user.notify_by_email = False
        user.save(update_fields=["notify_by_email"])
    return user


class ResidentMismatch(ValueError):
    """The phone belongs to an account whose name or birth date differ from the document."""


def user_profile_update(*, user: User, full_name: str, birth_date, municipality, phone: str | None = None) -> User:
    """The resident's own profile: who they are and where they live (what eligibility reads).

    Residence and birth date decide where one may vote. Once the resident has a ballot in
    a vote that is still open they stay as they are until it closes: otherwise moving
    "house" between two open votes would give one person a ballot in each.
    """
    moved = municipality != user.municipality or birth_date != user.birth_date
    if moved and user.pk and _has_ballot_in_open_vote(user):
        message = _(
            "You have voted in a vote that is still open: "
            "your municipality and birth date can be changed after it closes."
        )
        raise ValidationError({"municipality": ValidationError(message, code="locked_by_ballot")})
    user.full_name = full_name.strip()
    user.birth_date = birth_date
    user.municipality = municipality
    user.phone = phone or None
    user.full_clean(exclude=["password"])
    user.save(update_fields=["full_name", "birth_date", "municipality", "phone"])
    return user


def _has_ballot_in_open_vote(user: User) -> bool:
    return user.ballots.filter(campaign__closed_at__isnull=True, campaign__voting_closes_at__gt=timezone.now()).exists()


def resident_verify_in_person(*, volunteer: User, phone: str, full_name: str, birth_date, municipality) -> User:
    """The resident a volunteer has in front of them, found by phone or created.

    The volunteer has checked the resident's passport: that verifies the account. An
    existing account whose birth date or name differ is refused rather than edited, so a
    phone number typed wrong cannot hand someone else's vote to the person present.
    Callers run this inside their transaction (with the ballot), so a refused ballot
    leaves no new account behind.
    """
    phone = phone_normalise(phone)
    full_name = " ".join(full_name.split())
    # FOR NO KEY UPDATE, not FOR UPDATE: a ballot insert takes FOR KEY SHARE on its voter
    # (foreign key), and FOR UPDATE here would deadlock with a ballot of the same resident
    # being cast on another channel at the same moment.
    user = User.objects.select_for_update(no_key=True).filter(phone=phone).first()
    if user is None:
        user = User(
            email=f"{phone[1:]}@{PHONE_ONLY_EMAIL_DOMAIN}",
            phone=phone,
            full_name=full_name,
            birth_date=birth_date,
            municipality=municipality,
        )
        user.set_unusable_password()
        user.full_clean(exclude=["password"], validate_unique=False)
        try:
            with transaction.atomic():  # a savepoint: another volunteer may create them first
                user.save()
        except IntegrityError:
            if not User.objects.filter(phone=phone).exists():
                raise
            return resident_verify_in_person(
                volunteer=volunteer, phone=phone, full_name=full_name, birth_date=birth_date, municipality=municipality
            )
    else:
        if (user.birth_date and user.birth_date != birth_date) or (
            user.full_name and user.full_name.casefold() != full_name.casefold()
        ):
            raise ResidentMismatch(phone)
        if user.municipality_id not in (None, municipality.pk) and _has_ballot_in_open_vote(user):
            raise ResidentMismatch(phone)  # a move between two open votes would be a second ballot
        user.full_name = user.full_name or full_name
        user.birth_date = birth_date
        user.municipality = municipality
        user.save(update_fields=["full_name", "birth_date", "municipality"])
    if user.verified_at is None:
        user.verified_at = timezone.now()
        user.save(update_fields=["verified_at"])
    return user


def api_token_issue(*, user: User) -> str:
    """The user's API token (one per user; the same one on every log-in)."""
    token, _created = Token.objects.get_or_create(user=user)
    return token.key
