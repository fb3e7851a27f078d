"""Small formatting filters for the public pages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def rub(value) -> str:
    """An amount in roubles, grouped for the active language: "18 500 000 ₽".

    Whole amounts drop the kopecks; others keep two decimals.
    """
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    amount = amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.quantize(Decimal("0.01"))
    return _("%(amount)s ₽") % {"amount": intcomma(amount)}
