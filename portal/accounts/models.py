"""Residents and staff.

One `User` model for everybody: residents log in by e-mail; staff are users with a
role and a scope (a regional official has one region, a municipal official one or more
municipalities). `is_staff` is derived from the role rather than stored, so a role
change can never leave a stale admin flag behind.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lib.constraints import ConstraintErrorsOnFields

# Residents a volunteer met by phone get an address here: RFC 2606, never delivered.
PHONE_ONLY_EMAIL_DOMAIN = "phone.invalid"


class Assurance(models.TextChoices):
    """How sure the portal is that an account is the person it names, weakest first."""

    SELF_DECLARED = "self_declared", _("self-declared (e-mail only)")
    PHONE_VERIFIED = "phone_verified", _("phone verified")
    IN_PERSON = "in_person", _("verified in person")
    PROVIDER = "provider", _("verified by the identity provider")


ASSURANCE_RANK = {level: rank for rank, level in enumerate(Assurance.values)}


def assurance_at_least(level: str, minimum: str) -> bool:
    return ASSURANCE_RANK[level] >= ASSURANCE_RANK[minimum]


# Which field each check constraint's message belongs to (lib/constraints.py).
CONSTRAINT_FIELDS = {
    "user_regional_official_has_region": "scope_region",
    "user_phone_e164": "phone",
    "user_phone_verified_has_phone": "phone",
}


# Endings of Russian patronymics (Петрович, Петровна, Ильинична, Кузьминична; Оглы, Кызы).
_PATRONYMIC_ENDINGS = ("вич", "вна", "чна", "оглы", "кызы")


def _is_patronymic(word: str) -> bool:
    return word.casefold().endswith(_PATRONYMIC_ENDINGS)


def public_name_default(full_name: str) -> str:
    """First name and the initial of the last name. Three words are either "Имя Отчество
    Фамилия" (the patronymic in the middle) or, as documents write them, "Фамилия Имя
    Отчество"; two are read as "Имя Фамилия"."""
    words = full_name.split()
    if len(words) >= 3 and _is_patronymic(words[1]) and not _is_patronymic(words[2]):
        first, last = words[0], words[2]
    elif len(words) >= 3:
        first, last = words[1], words[0]
    elif len(words) == 2:
        first, last = words
    else:
        return words[0] if words else ""
    return f"{first} {last[0]}."


class UserQuerySet(models.QuerySet["User"]):
    def mailable(self) -> UserQuerySet:
        """Users who want our e-mail and have a mailbox (residents a volunteer met by phone do not)."""
        return self.filter(is_active=True, notify_by_email=True).exclude(email__iendswith=f"@{PHONE_ONLY_EMAIL_DOMAIN}")

    def with_assurance(self) -> UserQuerySet:
        """Each user with `assurance`: the highest level their stamps reach (as `User.assurance_level`)."""
        return self.annotate(
            assurance=models.Case(
                models.When(provider_verified_at__isnull=False, then=models.Value(Assurance.PROVIDER.value)),
                models.When(in_person_verified_at__isnull=False, then=models.Value(Assurance.IN_PERSON.value)),
                models.When(phone_verified_at__isnull=False, then=models.Value(Assurance.PHONE_VERIFIED.value)),
                default=models.Value(Assurance.SELF_DECLARED.value),
                output_field=models.CharField(),
            )
        )

    def at_least(self, minimum: str) -> UserQuerySet:
        """Users whose level is `minimum` or higher."""
        wanted = [level for level in Assurance.values if assurance_at_least(level, minimum)]
        return self.with_assurance().filter(assurance__in=wanted)  # type: ignore[misc]

    def with_verified_phone(self, phone: str) -> UserQuerySet:
        """The account (at most one: a constraint) that proved it holds `phone`."""
        return self.filter(phone=phone, phone_verified_at__isnull=False)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_superuser", True)
        fields.setdefault("verified_at", timezone.now())
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(ConstraintErrorsOnFields, AbstractBaseUser, PermissionsMixin):
    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = CONSTRAINT_FIELDS

    class Role(models.TextChoices):
        RESIDENT = "resident", _("resident")
        REGIONAL_OFFICIAL = "regional_official", _("regional official")
        MUNICIPAL_OFFICIAL = "municipal_official", _("municipal official")
        MODERATOR = "moderator", _("moderator")
        VOLUNTEER = "volunteer", _("volunteer")
        AUDITOR = "auditor", _("auditor")
        # A member of the municipality's public commission (общественная комиссия): screens
        # the closed votes of the municipalities in scope, decides, holds the key.
        COMMISSION_MEMBER = "commission_member", _("commission member")

    # Roles that enter the Django admin.
    ADMIN_ROLES = frozenset(
        {Role.REGIONAL_OFFICIAL, Role.MUNICIPAL_OFFICIAL, Role.MODERATOR, Role.AUDITOR, Role.COMMISSION_MEMBER}
    )
    OFFICIAL_ROLES = frozenset({Role.REGIONAL_OFFICIAL, Role.MUNICIPAL_OFFICIAL})

    email = models.EmailField(_("e-mail"), max_length=254, unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    # Not unique: anyone may type any number; only a verified phone is unique (Meta) and
    # counts for anything, so an unverified one never blocks or captures its owner.
    phone = models.CharField(_("phone"), max_length=16, null=True, blank=True, help_text=_("In the form +79001234567."))
    phone_verified_at = models.DateTimeField(
        _("phone verified at"), null=True, blank=True, help_text=_("Set when the resident enters the code sent by SMS.")
    )
    in_person_verified_at = models.DateTimeField(
        _("verified in person at"),
        null=True,
        blank=True,
        help_text=_("The first time a volunteer or official checked an identity document (details in the records)."),
    )
    provider_verified_at = models.DateTimeField(
        _("verified by the identity provider at"), null=True, blank=True, editable=False
    )
    identity_provider = models.CharField(_("identity provider"), max_length=64, blank=True, editable=False)
    identity_subject = models.CharField(
        _("subject at the identity provider"), max_length=255, blank=True, editable=False
    )
    municipality = models.ForeignKey(
        "projects.Municipality",
        verbose_name=_("municipality of residence"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="residents",
    )
    verified_at = models.DateTimeField(
        _("identity verified at"),
        null=True,
        blank=True,
        help_text=_("Set when the e-mail is confirmed, by the regional identity service or by a volunteer."),
    )
    role = models.CharField(_("role"), max_length=24, choices=Role.choices, default=Role.RESIDENT)
    scope_region = models.ForeignKey(
        "projects.Region",
        verbose_name=_("region in scope"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For regional officials, moderators, auditors and volunteers of a region."),
    )
    scope_municipalities = models.ManyToManyField(
        "projects.Municipality",
        verbose_name=_("municipalities in scope"),
        blank=True,
        related_name="officials",
        help_text=_("For municipal officials, commission members (and auditors of municipalities)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    notify_by_email = models.BooleanField(_("e-mail me about campaigns and my ideas"), default=True)
    public_name = models.CharField(
        _("public name"),
        max_length=60,
        blank=True,
        help_text=_("How comments and ideas are signed. Empty: first name and the initial of the last name."),
    )
    # 152-ФЗ: the consent to personal-data processing given at sign-up, with the version of
    # the policy it was given to (PRIVACY_POLICY_VERSION) and when.
    privacy_consent_version = models.CharField(_("privacy policy version consented to"), max_length=32, blank=True)
    privacy_consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    erased_at = models.DateTimeField(
        _("personal data erased at"),
        null=True,
        blank=True,
        help_text=_("The account was deleted at the resident's request: the row stays, without personal data."),
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_case_insensitive"),
            models.CheckConstraint(
                condition=~Q(role="regional_official") | Q(scope_region__isnull=False),
                name="user_regional_official_has_region",
                violation_error_code="user_regional_official_has_region",
                violation_error_message=_("A regional official needs the region in scope."),
            ),
            models.CheckConstraint(
                condition=Q(phone__isnull=True) | Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"),
                name="user_phone_e164",
                violation_error_code="user_phone_e164",
                violation_error_message=_("Enter the phone in the form +79001234567."),
            ),
            # One verified phone is one person: the database says so, whatever the race.
            models.UniqueConstraint(
                fields=["phone"], condition=Q(phone_verified_at__isnull=False), name="user_verified_phone_unique"
            ),
            models.CheckConstraint(
                condition=Q(phone_verified_at__isnull=True) | Q(phone__isnull=False),
                name="user_phone_verified_has_phone",
                violation_error_code="user_phone_verified_has_phone",
                violation_error_message=_("A phone can only be verified with its number."),
            ),
            models.UniqueConstraint(
                fields=["identity_provider", "identity_subject"],
                condition=~Q(identity_provider=""),
                name="user_identity_subject_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_staff(self) -> bool:  # read by the admin site
        return self.is_active and (self.is_superuser or self.role in self.ADMIN_ROLES)

    @property
    def public_label(self) -> str:
        """The name shown to the public: the chosen one, else the first name and the initial
        of the last name ("Мария П."). Never the full name, e-mail or phone."""
        if self.erased_at is not None:
            return str(_("Deleted account"))
        if self.public_name.strip():
            return self.public_name.strip()
        return public_name_default(self.full_name) or str(_("Resident"))

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def assurance_level(self) -> str:
        """The highest level this account reached (UserQuerySet.with_assurance in SQL)."""
        if self.provider_verified_at is not None:
            return Assurance.PROVIDER
        if self.in_person_verified_at is not None:
            return Assurance.IN_PERSON
        if self.phone_verified_at is not None:
            return Assurance.PHONE_VERIFIED
        return Assurance.SELF_DECLARED

    @property
    def has_verified_phone(self) -> bool:
        return bool(self.phone) and self.phone_verified_at is not None

    @property
    def eligibility_from_provider(self) -> bool:
        """Birth date and residence came from the identity provider's claims: read-only."""
        return self.provider_verified_at is not None

    def age_on(self, day: datetime.date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class IdentityDocument(models.TextChoices):
    PASSPORT = "passport", _("passport of a citizen of Russia")
    TEMPORARY_ID = "temporary_id", _("temporary identity card (form 2P)")
    FOREIGN_PASSPORT = "foreign_passport", _("foreign passport")
    MILITARY_ID = "military_id", _("military ID")


class InPersonVerification(models.Model):
    """A volunteer or official checked a document of the person. The number is kept only
    as a keyed HMAC (settings.IDENTITY_HMAC_KEY): never readable, yet one document on two
    accounts shows as two records with the same `document_hmac`."""

    user = models.ForeignKey(
        User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="in_person_verifications"
    )
    verified_by = models.ForeignKey(User, verbose_name=_("verified by"), on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(_("verified at"), default=timezone.now)
    document_type = models.CharField(_("document type"), max_length=24, choices=IdentityDocument.choices)
    document_hmac = models.CharField(_("document fingerprint"), max_length=64, db_index=True)

    class Meta:
        verbose_name = _("in-person verification")
        verbose_name_plural = _("in-person verifications")
        ordering = ["-verified_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_document_type_display()} · {self.verified_at:%Y-%m-%d}"


class PhoneCode(models.Model):
    """A one-time code sent by SMS to `phone`: stored as a keyed HMAC, single use, with
    an expiry and a count of wrong tries. `user` is the account that asked to verify the
    phone; a volunteer's desk asks for the resident in front of them (`requested_by`)."""

    class Purpose(models.TextChoices):
        PROFILE = "profile", _("verify the phone of one's account")
        DESK = "desk", _("prove the phone at a volunteer's desk")

    phone = models.CharField(_("phone"), max_length=16)
    purpose = models.CharField(_("purpose"), max_length=8, choices=Purpose.choices)
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    requested_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    code_hmac = models.CharField(max_length=96)  # salt$hex digest
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("phone code")
        verbose_name_plural = _("phone codes")
        indexes = [models.Index(fields=["phone", "created_at"], name="phonecode_phone_created")]

    def __str__(self) -> str:
        return f"{self.phone} · {self.purpose} · {self.created_at:%Y-%m-%d %H:%M}"
