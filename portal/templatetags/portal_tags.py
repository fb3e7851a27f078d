"""Small formatting filters for the public pages."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import timezone
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


@register.filter
def last_moment(value: datetime.datetime | None) -> datetime.datetime | None:
    """The last minute in which a resident can still act before `value`, in local time.

    A vote that closes at local midnight of 31 December ends with 30 December: shown as
    "31 декабря, 00:00" a resident reads it as a whole day more, so it is shown as
    "30 декабря, 23:59". Any other closing time is shown as it is ("до 20:00").
    """
    if value is None:
        return None
    local = timezone.localtime(value)
    if local.time() == datetime.time(0, 0):
        return local - datetime.timedelta(minutes=1)
    return local
