"""Validators of what a person says about themselves, shared by every form and the API."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def validate_birth_date(value: datetime.date) -> None:
    """A birth date in the past and after 1900: anything else is a typing slip."""
    if value > timezone.localdate() or value.year < 1900:
        raise ValidationError(_("Enter the birth date from the document."), code="birth_date")
