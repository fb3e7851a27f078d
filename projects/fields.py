"""Form fields for what residents and officials type."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms

# Spaces of any kind (a typed space, a no-break or a narrow no-break space from a copied
# figure) and the rouble sign are how people write amounts: "2 500 000 ₽".
_MONEY_NOISE = re.compile(r"[\s\u00a0\u202f\u2009₽]|руб\.?", re.IGNORECASE)


def money_text_normalize(value: str) -> str:
    """ "2 500 000,50 ₽" -> "2500000.50"; anything else is left for the decimal parser to refuse."""
    text = _MONEY_NOISE.sub("", value)
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return text


class MoneyInput(forms.TextInput):
    """A text box with a numeric keyboard on phones: type="number" refuses the spaces."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})


class MoneyField(forms.DecimalField):
    """A DecimalField that accepts amounts as people type them: "2 500 000", "9 500 000 ₽", "1500,50"."""

    widget = MoneyInput

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]  # django-stubs: DecimalField < IntegerField
        if isinstance(value, str):
            value = money_text_normalize(value)
        return super().to_python(value)
