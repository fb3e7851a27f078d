"""Writes on users."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from lib.integrity import violated_constraint
from portal.accounts.identity import (
    VERIFIED_PHONE_UNIQUE,
    PhoneCodeError,
    document_fingerprint,
    eligibility_lock_reason,
    in_person_verification_record,
    phone_code_consume,
)
from portal.accounts.models import PHONE_ONLY_EMAIL_DOMAIN, PhoneCode, User
from portal.accounts.phones import phone_normalise
from portal.accounts.tokens import token_is_expired
from portal.audit.services import audit_decision, audit_snapshot


def user_mark_verified(*, user: User) -> User:
    if user.verified_at is None:
        # The first verification stands: a second one at the same moment changes nothing.
        now = timezone.now()
        User.objects.filter(pk=user.pk, verified_at__isnull=True).update(verified_at=now)
        user.verified_at = User.objects.values_list("verified_at", flat=True).get(pk=user.pk)
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


def user_unsubscribe(*, user: User) -> bool:
    """Stop all notification e-mails (from the link in any of them).

    `user` was found from the link, which names the address it was sent to. One UPDATE
    checks and writes: if the account's address changed since (it changed hands), nothing
    is written and the answer is False.
    """
    matched = User.objects.filter(pk=user.pk, email=user.email).update(notify_by_email=False)
    if matched:
        user.notify_by_email = False
    return bool(matched)


class ResidentMismatch(ValueError):
    """The phone or document belongs to an account whose name or birth date differ from the document."""


class ResidentHasAccount(ValueError):
    """The person at the desk already has an account (same name, birth date and
    municipality) that the desk may not take over: they must use it. `account` is it."""

    def __init__(self, account: User) -> None:
        super().__init__(account.pk)
        self.account = account


ELIGIBILITY_LOCKED = {
    "locked_by_ballot": _(
        "You have voted in a vote that is still open: your municipality and birth date can be changed after it closes."
    ),
    "locked_by_vote": _(
        "A vote you may take part in is open or about to open: your birth date and municipality cannot be changed "
        "until it closes. If they are wrong, ask an official of your municipality to correct them."
    ),
    "verified_by_provider": _(
        "Your birth date and municipality come from the identity provider and cannot be changed here."
    ),
}


def user_profile_update(*, user: User, full_name: str, birth_date, municipality, phone: str | None = None) -> User:
    """The resident's own profile: who they are and where they live (what eligibility reads).

    Residence and birth date decide where one may vote, so once set they stay as they are
    while a vote the resident may take part in is open or upcoming (or after a ballot in
    an open vote), and for good once the identity provider gave them: otherwise a
    13-year-old, or a resident of another town, would type their way in, and moving
    "house" between two open votes would give one person a ballot in each. An official
    corrects them (portal.accounts.identity.user_eligibility_correct).

    A new phone is stored unverified: it counts for nothing (and blocks nobody) until the
    resident enters the code sent to it.
    """
    with transaction.atomic():
        if user.pk:
            # FOR UPDATE: a ballot being inserted holds FOR KEY SHARE on its voter until it
            # commits; this waits for it, so the check below sees that ballot.
            stored = User.objects.select_for_update().get(pk=user.pk)
            # Filling in a missing value is the first declaration, not a change.
            changed = (stored.birth_date is not None and birth_date != stored.birth_date) or (
                stored.municipality_id is not None and municipality != stored.municipality
            )
            if changed:
                reason = (
                    "verified_by_provider"
                    if stored.eligibility_from_provider
                    else "locked_by_ballot"
                    if _has_ballot_in_open_vote(stored)
                    else eligibility_lock_reason(stored, municipality=municipality)
                )
                if reason is not None:
                    field = "birth_date" if birth_date != stored.birth_date else "municipality"
                    raise ValidationError({field: ValidationError(ELIGIBILITY_LOCKED[reason], code=reason)})
            if (phone or None) != stored.phone:
                user.phone_verified_at = None
            else:
                user.phone_verified_at = stored.phone_verified_at
        user.full_name = full_name.strip()
        user.birth_date = birth_date
        user.municipality = municipality
        user.phone = phone or None
        user.full_clean(exclude=["password"], validate_unique=False)
        user.save(update_fields=["full_name", "birth_date", "municipality", "phone", "phone_verified_at"])
    return user


def _has_ballot_in_open_vote(user: User) -> bool:
    return user.participations.filter(
        campaign__closed_at__isnull=True, campaign__voting_closes_at__gt=timezone.now()
    ).exists()


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _check_details(user: User, *, full_name: str, birth_date, municipality) -> None:
    if (user.birth_date and user.birth_date != birth_date) or (
        user.full_name and not _same_name(user.full_name, full_name)
    ):
        raise ResidentMismatch(user.pk)
    if user.municipality_id not in (None, municipality.pk) and (
        user.eligibility_from_provider or _has_ballot_in_open_vote(user)
    ):
        raise ResidentMismatch(user.pk)  # a move between two open votes would be a second ballot


def resident_verify_in_person(
    *,
    volunteer: User,
    phone: str,
    full_name: str,
    birth_date,
    municipality,
    document_type: str,
    document_number: str,
    code: str | None = None,
) -> User:
    """The resident a volunteer has in front of them: one person, one account, whatever
    the channel. The volunteer has checked the document (its type and the HMAC of its
    number are recorded, never the number). The account is, in this order:

    1. the one this document was checked for before;
    2. the one that verified this phone (the phone itself proves nothing more);
    3. otherwise the resident proves the phone with the code sent to it (`code`; without
       it PhoneCodeError "code_required"). Then an account the desk made for this phone
       earlier is theirs; an account with the same name, birth date and municipality is
       refused (ResidentHasAccount: they must use it, since the desk cannot tell it from
       one someone else made in their name); only then a new account, with the phone
       verified. An unverified phone on someone else's account is never used.

    An account whose name or birth date differ is refused (ResidentMismatch). Callers run
    this inside their transaction (with the ballot), so a refused ballot leaves nothing.
    """
    phone = phone_normalise(phone)
    full_name = " ".join(full_name.split())
    fingerprint = document_fingerprint(document_type=document_type, number=document_number)
    details = {"full_name": full_name, "birth_date": birth_date, "municipality": municipality}
    # FOR NO KEY UPDATE, not FOR UPDATE: a ballot insert takes FOR KEY SHARE on its voter
    # (foreign key), and FOR UPDATE here would deadlock with a ballot of the same resident
    # being cast on another channel at the same moment.
    locked = User.objects.select_for_update(no_key=True)
    user = locked.filter(in_person_verifications__document_hmac=fingerprint).order_by("pk").first()
    if user is None:
        user = locked.with_verified_phone(phone).first()
    if user is None:
        if not code:
            raise PhoneCodeError(
                _("Send a code to the resident's phone and enter the code they read to you."), code="code_required"
            )
        phone_code_consume(phone=phone, code=code, purpose=PhoneCode.Purpose.DESK, requested_by=volunteer)
        user = _desk_account_adopt(phone=phone, **details)
    _check_details(user, **details)
    user.full_name = user.full_name or full_name
    user.birth_date = birth_date
    user.municipality = municipality
    user.save(update_fields=["full_name", "birth_date", "municipality"])
    if not user.in_person_verifications.filter(document_hmac=fingerprint).exists():
        in_person_verification_record(
            user=user, verified_by=volunteer, document_type=document_type, document_number=document_number
        )
    return user


def _desk_account_adopt(*, phone: str, full_name: str, birth_date, municipality) -> User:
    """After the resident proved `phone`: the account for them, verified phone included."""
    now = timezone.now()
    locked = User.objects.select_for_update(no_key=True)
    # An account a desk made for this phone (no password: no one else can log in to it).
    made_here = [
        u
        for u in locked.filter(
            phone=phone, email__iendswith=f"@{PHONE_ONLY_EMAIL_DOMAIN}", phone_verified_at__isnull=True
        )
        if not u.has_usable_password()
    ]
    if made_here:
        user = made_here[0]
        user.phone_verified_at = now
        try:
            with transaction.atomic():
                user.save(update_fields=["phone_verified_at"])
        except IntegrityError as error:
            if violated_constraint(error) not in VERIFIED_PHONE_UNIQUE:
                raise
            return User.objects.select_for_update(no_key=True).with_verified_phone(phone).get()
        return user
    for candidate in locked.filter(birth_date=birth_date, municipality=municipality):
        if candidate.full_name and _same_name(candidate.full_name, full_name):
            raise ResidentHasAccount(candidate)
    email = f"{phone[1:]}@{PHONE_ONLY_EMAIL_DOMAIN}"
    if User.objects.filter(email__iexact=email).exists():
        email = f"{phone[1:]}.{secrets.token_hex(3)}@{PHONE_ONLY_EMAIL_DOMAIN}"
    user = User(
        email=email,
        phone=phone,
        phone_verified_at=now,
        full_name=full_name,
        birth_date=birth_date,
        municipality=municipality,
        verified_at=now,
    )
    user.set_unusable_password()
    user.full_clean(exclude=["password"], validate_unique=False)
    try:
        with transaction.atomic():  # a savepoint: another volunteer may verify this phone first
            user.save()
    except IntegrityError as error:
        if violated_constraint(error) not in VERIFIED_PHONE_UNIQUE:
            raise
        return User.objects.select_for_update(no_key=True).with_verified_phone(phone).get()
    return user


class TokenRefused(Exception):
    """No API token for this account; `code` says why."""

    def __init__(self, message, *, code: str) -> None:
        super().__init__(str(message))
        self.message, self.code = message, code


def api_token_issue(*, user: User) -> str:
    """The user's API token: the same one on every log-in until it expires, then a new one.

    Verified accounts only: the API casts ballots and enters them for residents.
    """
    if not user.is_verified:
        raise TokenRefused(
            _("Confirm your e-mail address first: the API is for verified accounts."), code="not_verified"
        )
    with transaction.atomic():
        # Locked, so two log-ins at the same moment replace an expired token only once.
        current = Token.objects.select_for_update().filter(user=user).first()
        if current is not None and not token_is_expired(current):
            return current.key
        if current is not None:
            current.delete()
        return Token.objects.create(user=user).key


def api_token_revoke(*, user: User) -> bool:
    """Delete the user's API token (the app must log in again); False if there was none."""
    deleted, _by_model = Token.objects.filter(user=user).delete()
    return bool(deleted)


# --- Personal data (152-ФЗ) ---------------------------------------------------------


def user_privacy_consent_record(*, user: User, version: str | None = None, at=None) -> User:
    """Record the resident's consent to personal-data processing under the policy `version`
    (the current PRIVACY_POLICY_VERSION by default) at `at` (now), audited."""
    from django.conf import settings

    from portal.audit.models import AuditEvent
    from portal.audit.services import audit_record

    with transaction.atomic():
        user.privacy_consent_version = version or settings.PRIVACY_POLICY_VERSION
        user.privacy_consent_at = at or timezone.now()
        user.save(update_fields=["privacy_consent_version", "privacy_consent_at"])
        # Only the consent, not a snapshot of the account: the log outlives an erasure.
        consent = {"version": user.privacy_consent_version, "at": user.privacy_consent_at.isoformat()}
        audit_record(
            actor=user, action=f"{AuditEvent.ACTION_PREFIX}privacy_consent", obj=user, before=None, after=consent
        )
    return user


def user_public_name_set(*, user: User, public_name: str) -> User:
    user.public_name = " ".join(public_name.split())
    user.full_clean(exclude=["password"], validate_unique=False)
    user.save(update_fields=["public_name"])
    return user


ERASED_EMAIL_DOMAIN = "erased.invalid"  # RFC 2606: never delivered


def user_erase(*, user: User, actor: User | None = None) -> User:
    """Delete an account at its owner's request by erasing its personal data in place.

    The row stays so that what refers to it keeps its meaning without naming anyone: the
    register of who has voted (one ballot per person still holds, and the ballot box stays
    as it is, linked to no one), the resident's comments (signed "Deleted account"),
    ideas, and the audit log. Erased: names, e-mail (a unique placeholder), phone, birth
    date, municipality of residence, verification, the e-mail addresses and identity
    provider links allauth keeps, API tokens; the password becomes unusable (which ends
    every session: Django checks the password's hash in each) and the account inactive.
    The municipality goes too: nothing is counted from it after the account is switched
    off. The audit event records that it happened, not the data.
    """
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount

    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.erased_at is not None:
            return locked
        locked.full_name = ""
        locked.public_name = ""
        locked.email = f"erased-{locked.pk}@{ERASED_EMAIL_DOMAIN}"
        locked.phone = None
        locked.birth_date = None
        locked.municipality = None
        locked.verified_at = None
        locked.notify_by_email = False
        locked.is_active = False
        locked.erased_at = timezone.now()
        locked.set_unusable_password()
        locked.save()
        EmailAddress.objects.filter(user=locked).delete()
        SocialAccount.objects.filter(user=locked).delete()
        Token.objects.filter(user=locked).delete()
        # Neither before nor after: the log must not keep what was erased.
        from portal.audit.models import AuditEvent
        from portal.audit.services import audit_record

        audit_record(
            actor=actor or locked, action=f"{AuditEvent.ACTION_PREFIX}user_erase", obj=locked, before=None, after=None
        )
    return locked
