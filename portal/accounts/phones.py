"""Russian phone numbers, as residents type them, to the E.164 form stored on users."""

from __future__ import annotations

import re


class InvalidPhone(ValueError):
    pass


def phone_normalise(raw: str) -> str:
    """'8 (912) 345-67-89', '+7 912 3456789', '9123456789' → '+79123456789'."""
    text = (raw or "").strip()
    if not re.fullmatch(r"\+?[0-9 ()\-.]{7,25}", text):
        raise InvalidPhone(raw)
    digits = re.sub(r"\D", "", text)
    if len(digits) == 10 and digits.startswith("9"):
        return "+7" + digits
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if text.startswith("+") and 7 <= len(digits) <= 15 and digits[0] != "0":
        return "+" + digits
    raise InvalidPhone(raw)
