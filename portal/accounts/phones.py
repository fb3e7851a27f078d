"""Phone numbers as residents type them, to the E.164 form stored on users (`phonenumbers`,
Russia as the default region: '8 912 …' and '912 …' are Russian numbers)."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "RU"


class InvalidPhone(ValueError):
    pass


def phone_normalise(raw: str) -> str:
    """'8 (912) 345-67-89', '+7 912 3456789', '9123456789' → '+79123456789'.

    Only numbers `phonenumbers` holds valid for their country (a mobile or fixed line
    that can exist) are taken: an SMS code is sent to what is stored here.
    """
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidPhone(raw)
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(raw) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """'+79123456789' → '+7 912 345-67-89', for pages."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
