"""Small formatting filters for the public pages."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone

from lib.money import rubles

register = template.Library()


@register.filter
def rub(value) -> str:
    """An amount in roubles, grouped for the active language: "18 500 000 ₽" (lib.money)."""
    return rubles(value)


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
