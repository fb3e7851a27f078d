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


# Which field each check constraint's message belongs to (lib/constraints.py).
CONSTRAINT_FIELDS = {
    "user_regional_official_has_region": "scope_region",
    "user_phone_e164": "phone",
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

    # Roles that enter the Django admin.
    ADMIN_ROLES = frozenset({Role.REGIONAL_OFFICIAL, Role.MUNICIPAL_OFFICIAL, Role.MODERATOR, Role.AUDITOR})
    OFFICIAL_ROLES = frozenset({Role.REGIONAL_OFFICIAL, Role.MUNICIPAL_OFFICIAL})

    email = models.EmailField(_("e-mail"), max_length=254, unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(
        _("phone"), max_length=16, null=True, blank=True, unique=True, help_text=_("In the form +79001234567.")
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
        help_text=_("For municipal officials (and auditors of municipalities)."),
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

    def age_on(self, day: datetime.date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
