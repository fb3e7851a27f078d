"""Identity assurance: the writes that raise an account's level (README "Identity levels").

- Phone: a one-time code by SMS (`phone_code_send`), entered back (`user_phone_verify`).
  Codes are random, stored as a keyed HMAC, expire, are single use, allow a few wrong
  tries, and only so many are sent per phone and per account in an hour.
- In person: a volunteer or official checked a document (`in_person_verification_record`,
  called by the desk in portal.accounts.services.resident_verify_in_person).
- Identity provider (OIDC): birth date and residence from its claims (`user_provider_verify`).
- What eligibility reads (birth date, municipality) is corrected by an official, with a
  reason, audited (`user_eligibility_correct`).
"""

from __future__ import annotations

import datetime
import hmac
import logging
import re
import secrets
from hashlib import sha256
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lib.integrity import violated_constraint
from portal.accounts.models import InPersonVerification, PhoneCode, User
from portal.accounts.permissions import OutOfScope, is_official_for
from portal.accounts.sms import SmsDeliveryFailed, sms_backend
from portal.audit.services import audit_record, audit_snapshot
from projects.models import Municipality

logger = logging.getLogger(__name__)

# The partial unique constraint on verified phones, as PostgreSQL and SQLite name it.
VERIFIED_PHONE_UNIQUE = frozenset({"user_verified_phone_unique", "accounts_user.phone"})


class PhoneCodeError(Exception):
    """A code not sent or not accepted; `code` is stable (API clients switch on it)."""

    def __init__(self, message: Any, *, code: str, wrong_code_id: int | None = None) -> None:
        super().__init__(str(message))
        self.message, self.code = message, code
        # A wrong code counts as a try even though the caller's transaction rolls back:
        # the caller records it afterwards (phone_code_wrong_try_record).
        self.wrong_code_id = wrong_code_id


TOO_MANY_SENDS_PHONE = _("Too many codes were sent to this number in the last hour. Try again later.")
TOO_MANY_SENDS_ACCOUNT = _("You asked for too many codes in the last hour. Try again later.")
SMS_FAILED = _("The SMS could not be sent just now. Try again in a few minutes.")
CODE_MISSING = _("Ask for a code first: none was sent to this number.")
CODE_USED = _("This code was already used. Ask for a new one.")
CODE_EXPIRED = _("This code has expired. Ask for a new one.")
CODE_LOCKED = _("Too many wrong codes. Ask for a new one.")
CODE_WRONG = _("The code is wrong. Check the SMS and try again.")
PHONE_VERIFIED_ELSEWHERE = _(
    "This number is already verified on another account. If it is yours, log in to that account."
)


def _hmac(purpose: str, value: str) -> str:
    key = settings.IDENTITY_HMAC_KEY.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), sha256).hexdigest()


def document_fingerprint(*, document_type: str, number: str) -> str:
    """The keyed HMAC of a document number (spaces, dashes and case ignored): equal for one
    document typed twice, useless to anyone without settings.IDENTITY_HMAC_KEY."""
    normalised = re.sub(r"[\s\-№#]", "", number).upper()
    return _hmac("document", f"{document_type}:{normalised}")


def _code_hmac(code_id_salt: str, code: str) -> str:
    return _hmac("phone-code", f"{code_id_salt}:{code}")


# --- Phone codes -------------------------------------------------------------------


def phone_code_send(
    *, phone: str, purpose: str, requested_by: User, user: User | None = None, now: datetime.datetime | None = None
) -> PhoneCode:
    """Send a new one-time code to `phone` (already normalised) and return its record.

    The code itself is only in the SMS. Limits per phone and per asking account, in a
    sliding hour, refuse with PhoneCodeError("too_many_sends"); a gateway failure spends
    the code and refuses with "sms_failed".
    """
    now = now or timezone.now()
    hour_ago = now - datetime.timedelta(hours=1)
    if PhoneCode.objects.filter(phone=phone, created_at__gt=hour_ago).count() >= (
        settings.PHONE_CODE_SENDS_PER_PHONE_PER_HOUR
    ):
        raise PhoneCodeError(TOO_MANY_SENDS_PHONE, code="too_many_sends")
    per_account = (
        settings.PHONE_CODE_SENDS_PER_VOLUNTEER_PER_HOUR
        if purpose == PhoneCode.Purpose.DESK
        else settings.PHONE_CODE_SENDS_PER_ACCOUNT_PER_HOUR
    )
    if PhoneCode.objects.filter(requested_by=requested_by, created_at__gt=hour_ago).count() >= per_account:
        raise PhoneCodeError(TOO_MANY_SENDS_ACCOUNT, code="too_many_sends")
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    record = PhoneCode.objects.create(
        phone=phone,
        purpose=purpose,
        user=user,
        requested_by=requested_by,
        code_hmac=f"{salt}${_code_hmac(salt, code)}",
        created_at=now,
        expires_at=now + datetime.timedelta(minutes=settings.PHONE_CODE_TTL_MINUTES),
    )
    text = str(_("Your code: %(code)s. Do not tell it to anyone but the volunteer or the portal.") % {"code": code})
    try:
        sms_backend().send(to=phone, text=text)
    except SmsDeliveryFailed:
        PhoneCode.objects.filter(pk=record.pk).update(used_at=now)
        raise PhoneCodeError(SMS_FAILED, code="sms_failed") from None
    return record


def phone_code_consume(
    *, phone: str, code: str, purpose: str, requested_by: User, now: datetime.datetime | None = None
) -> PhoneCode:
    """Spend the latest code sent to `phone` for `purpose` at `requested_by`'s request.

    Run inside the caller's transaction: the code is spent only if what it proves is
    written. A wrong code raises with `wrong_code_id` (see PhoneCodeError).
    """
    now = now or timezone.now()
    # Locked: two submissions of one code cannot both spend it.
    latest = (
        PhoneCode.objects.select_for_update()
        .filter(phone=phone, purpose=purpose, requested_by=requested_by)
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None:
        raise PhoneCodeError(CODE_MISSING, code="code_missing")
    if latest.used_at is not None:
        raise PhoneCodeError(CODE_USED, code="code_used")
    if latest.expires_at <= now:
        raise PhoneCodeError(CODE_EXPIRED, code="code_expired")
    if latest.attempts >= settings.PHONE_CODE_MAX_ATTEMPTS:
        raise PhoneCodeError(CODE_LOCKED, code="too_many_attempts")
    salt, _sep, digest = latest.code_hmac.partition("$")
    if not hmac.compare_digest(digest, _code_hmac(salt, (code or "").strip())):
        raise PhoneCodeError(CODE_WRONG, code="code_wrong", wrong_code_id=latest.pk)
    latest.used_at = now
    latest.save(update_fields=["used_at"])
    return latest


def phone_code_wrong_try_record(*, error: PhoneCodeError) -> None:
    """Count a wrong code against its record, after the caller's transaction rolled back."""
    if error.wrong_code_id is not None:
        PhoneCode.objects.filter(pk=error.wrong_code_id).update(attempts=F("attempts") + 1)


def user_phone_code_send(*, user: User) -> PhoneCode:
    """Send a code to the (unverified) phone on the user's profile."""
    if not user.phone:
        raise PhoneCodeError(_("Add your mobile number to your profile first."), code="no_phone")
    if user.has_verified_phone:
        raise PhoneCodeError(_("Your phone is already verified."), code="already_verified")
    return phone_code_send(phone=user.phone, purpose=PhoneCode.Purpose.PROFILE, requested_by=user, user=user)


def user_phone_verify(*, user: User, code: str) -> User:
    """The resident typed the code sent to their phone: the phone is theirs.

    One verified phone is one account: the database's partial unique constraint refuses a
    second one, also when two accounts verify one number at the same moment (a
    ValidationError on "code", code "phone_verified_elsewhere", never a 500).
    """
    try:
        with transaction.atomic():
            stored = User.objects.select_for_update().get(pk=user.pk)
            if not stored.phone:
                raise PhoneCodeError(CODE_MISSING, code="code_missing")
            if stored.phone_verified_at is not None:
                return stored
            phone_code_consume(phone=stored.phone, code=code, purpose=PhoneCode.Purpose.PROFILE, requested_by=user)
            stored.phone_verified_at = timezone.now()
            try:
                with transaction.atomic():
                    stored.save(update_fields=["phone_verified_at"])
            except IntegrityError as error:
                if violated_constraint(error) not in VERIFIED_PHONE_UNIQUE:
                    raise
                raise ValidationError(
                    {"code": ValidationError(PHONE_VERIFIED_ELSEWHERE, code="phone_verified_elsewhere")}
                ) from None
    except PhoneCodeError as error:
        phone_code_wrong_try_record(error=error)
        raise ValidationError({"code": ValidationError(error.message, code=error.code)}) from None
    user.phone, user.phone_verified_at = stored.phone, stored.phone_verified_at
    return user


# --- In person ---------------------------------------------------------------------


def in_person_verification_record(
    *, user: User, verified_by: User, document_type: str, document_number: str
) -> InPersonVerification:
    """A volunteer or official checked `user`'s document: kept as who, when, which type,
    and the HMAC of the number (never the number). Run inside the caller's transaction."""
    now = timezone.now()
    record = InPersonVerification.objects.create(
        user=user,
        verified_by=verified_by,
        verified_at=now,
        document_type=document_type,
        document_hmac=document_fingerprint(document_type=document_type, number=document_number),
    )
    stamps = {"in_person_verified_at": now} if user.in_person_verified_at is None else {}
    if user.verified_at is None:
        stamps["verified_at"] = now
    if stamps:
        User.objects.filter(pk=user.pk).update(**stamps)
        for field, value in stamps.items():
            setattr(user, field, value)
    return record


# --- Identity provider (OIDC) --------------------------------------------------------

# The claims read (README "Identity levels"): the standard `birthdate` (YYYY-MM-DD), and
# the residence as the municipality's OKTMO code in `oktmo` (a provider-specific claim,
# as Gosuslugi gives the registration address's OKTMO) or, failing that, the standard
# `address.locality` matched to a municipality's name.
BIRTHDATE_CLAIM = "birthdate"
OKTMO_CLAIM = "oktmo"


def municipality_from_claims(claims: dict[str, Any]) -> Municipality | None:
    oktmo = str(claims.get(OKTMO_CLAIM) or "").strip()
    if oktmo:
        found = Municipality.objects.filter(oktmo=oktmo).first()
        if found is not None:
            return found
    address = claims.get("address")
    locality = address.get("locality") if isinstance(address, dict) else None
    if isinstance(locality, str) and locality.strip():
        matches = list(Municipality.objects.filter(name__iexact=locality.strip())[:2])
        if len(matches) == 1:  # a name two municipalities share decides nothing
            return matches[0]
    return None


def birth_date_from_claims(claims: dict[str, Any]) -> datetime.date | None:
    raw = claims.get(BIRTHDATE_CLAIM)
    if not isinstance(raw, str):
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        return None


@transaction.atomic
def user_provider_verify(*, user: User, provider: str, subject: str, claims: dict[str, Any]) -> User:
    """The identity provider vouched for `user`: birth date and residence from its claims
    (read-only for the resident from now on), level "provider". Every log-in refreshes
    them, since the provider's record is the truth (a move is registered there)."""
    stored = User.objects.select_for_update().get(pk=user.pk)
    now = timezone.now()
    stored.identity_provider, stored.identity_subject = provider, subject
    stored.provider_verified_at = stored.provider_verified_at or now
    stored.verified_at = stored.verified_at or now
    birth_date = birth_date_from_claims(claims)
    if birth_date is not None:
        stored.birth_date = birth_date
    municipality = municipality_from_claims(claims)
    if municipality is not None:
        stored.municipality = municipality
    if not stored.full_name and isinstance(claims.get("name"), str):
        stored.full_name = claims["name"][:200]
    stored.save(
        update_fields=[
            "identity_provider",
            "identity_subject",
            "provider_verified_at",
            "verified_at",
            "birth_date",
            "municipality",
            "full_name",
        ]
    )
    for field in ("identity_provider", "identity_subject", "provider_verified_at", "verified_at"):
        setattr(user, field, getattr(stored, field))
    user.birth_date, user.municipality, user.full_name = stored.birth_date, stored.municipality, stored.full_name
    return user


# --- Eligibility fields --------------------------------------------------------------


def eligibility_lock_reason(user: User, *, municipality: Municipality | None, now=None) -> str | None:
    """Why the resident may not change their birth date or municipality now (a code), or None.

    - "verified_by_provider": the provider's claims stand;
    - "locked_by_vote": a vote they may take part in (by where they live now, or would
      live) is open or upcoming: changing what eligibility reads then would let a
      13-year-old, or a resident of another town, in.
    """
    if user.eligibility_from_provider:
        return "verified_by_provider"
    from votes.models import Campaign  # accounts sits below votes

    places = {m.pk: m.region_id for m in (user.municipality, municipality) if m is not None}
    if not places:
        return None
    now = now or timezone.now()
    covering = Q(municipality_id__in=list(places)) | Q(
        residence_scope=Campaign.ResidenceScope.REGION, municipality__region_id__in=set(places.values())
    )
    if Campaign.objects.filter(covering, closed_at__isnull=True, voting_closes_at__gt=now).exists():
        return "locked_by_vote"
    return None


def user_eligibility_correct(
    *, actor: User, user: User, birth_date: datetime.date | None, municipality: Municipality | None, reason: str
) -> User:
    """An official corrects a resident's birth date or municipality (a typo, a move the
    resident proved), with a reason, in the audit log. Officials act on residents of
    their municipalities (and, for a move, only into them); superusers on anyone."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": ValidationError(_("Say why the details are corrected."), code="required")})
    for place in (user.municipality, municipality):
        if place is not None and not is_official_for(actor, place):
            raise OutOfScope()
    if user.municipality is None and not actor.is_superuser:
        raise OutOfScope()
    with transaction.atomic():
        stored = User.objects.select_for_update().get(pk=user.pk)
        before = audit_snapshot(stored)
        stored.birth_date, stored.municipality = birth_date, municipality
        stored.save(update_fields=["birth_date", "municipality"])
        audit_record(
            actor=actor,
            action="action:eligibility_correct",
            obj=stored,
            before=before,
            after={**(audit_snapshot(stored) or {}), "reason": reason},
            municipality=municipality or user.municipality,
        )
    user.birth_date, user.municipality = stored.birth_date, stored.municipality
    return user
