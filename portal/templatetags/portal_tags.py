"""Small formatting filters for the public pages."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

from lib.money import rubles
from projects.images import rendition_name

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


# The width a browser without srcset gets (it is also the ballot's and the cards' size).
_FALLBACK_WIDTH = 640


@register.simple_tag
def picture(photo, sizes: str = "100vw", css_class: str = "", eager: bool = False) -> str:
    """An <img> of a stored photo (projects.models.Photo) with its smaller copies as a
    srcset, its width and height (the page keeps its place while it loads), lazy loading
    unless `eager`, and its text alternative. Empty for no photo."""
    if photo is None or not photo.image:
        return ""
    storage = photo.image.storage
    name = photo.image.name
    src = photo.image.url
    srcset = ""
    if photo.renditions:
        urls = [(width, storage.url(rendition_name(name, width))) for width, _height in photo.renditions]
        srcset = ", ".join(f"{url} {width}w" for width, url in urls)
        src = min(urls, key=lambda item: abs(item[0] - _FALLBACK_WIDTH))[1]
    return format_html(
        '<img src="{}"{}{} alt="{}"{} loading="{}" decoding="async">',
        src,
        format_html(' srcset="{}" sizes="{}"', srcset, sizes) if srcset else "",
        format_html(' width="{}" height="{}"', photo.width, photo.height) if photo.width and photo.height else "",
        photo.text_alternative,
        format_html(' class="{}"', css_class) if css_class else "",
        "eager" if eager else "lazy",
    )
