"""Rendering and sending the portal's e-mails.

Each message has a text and an HTML part rendered from `templates/emails/`, in the site's
language, and carries the List-Unsubscribe headers (RFC 8058) so mail clients can offer
one-click unsubscribing. Who the recipients are, and the unsubscribe link itself, are
the callers' business.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import translation


def site_url(path: str) -> str:
    """An absolute link to `path` on the portal, from SITE_URL (in requests and in workers alike)."""
    return settings.SITE_URL.rstrip("/") + path


def mail_message(*, to: str, template: str, context: dict[str, Any], unsubscribe_url: str) -> EmailMultiAlternatives:
    """The e-mail `template` (`<template>_subject.txt`, `.txt`, `.html`) for one recipient."""
    context = {**context, "unsubscribe_url": unsubscribe_url, "SITE_URL": settings.SITE_URL.rstrip("/")}
    # Residents read the portal in Russian by default; the e-mail follows the site language.
    with translation.override(settings.LANGUAGE_CODE):
        subject = settings.EMAIL_SUBJECT_PREFIX + " ".join(
            render_to_string(f"emails/{template}_subject.txt", context).split()
        )
        text = render_to_string(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[to],
        from_email=settings.DEFAULT_FROM_EMAIL,
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(html, "text/html")
    return message


def mail_send(messages: Sequence[EmailMultiAlternatives]) -> int:
    """Send `messages` over one connection; the number sent."""
    if not messages:
        return 0
    with get_connection() as connection:
        return connection.send_messages(list(messages)) or 0
