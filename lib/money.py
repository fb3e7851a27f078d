"""Amounts in roubles as people read them, in the active language: "18 500 000 ₽".

The one formatter of money: the `rub` template filter, the results page, the ballot's
instructions and its error messages all use it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import gettext as _


def rubles(value: Any, *, empty: str = "") -> str:
    """`value` grouped for the active language, with the rouble sign; whole amounts drop
    the kopecks, others keep two decimals. `empty` stands for None (and ""); anything
    that is not a number comes back as its text."""
    if value is None or value == "":
        return empty
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    amount = amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.quantize(Decimal("0.01"))
    return _("%(amount)s ₽") % {"amount": intcomma(amount)}
