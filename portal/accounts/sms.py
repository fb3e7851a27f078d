"""Sending SMS: a pluggable backend named by settings.SMS_BACKEND (a class path).

- ConsoleSmsBackend (development): the message goes to the log, code included.
- LocmemSmsBackend (tests): messages are kept in `outbox`.
- HttpSmsBackend (production): a JSON POST to an SMS gateway's HTTP API
  (SMS_GATEWAY_URL, bearer SMS_GATEWAY_TOKEN, SMS_SENDER, SMS_GATEWAY_TIMEOUT).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsDeliveryFailed(Exception):
    """The gateway did not take the message (down, refused it, or too slow)."""


@dataclass(frozen=True)
class Sms:
    to: str
    text: str


class SmsBackend:
    def send(self, *, to: str, text: str) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    def send(self, *, to: str, text: str) -> None:
        # Development only: the log is where the developer reads the code.
        logger.warning("SMS to %s: %s", to, text)


class LocmemSmsBackend(SmsBackend):
    outbox: ClassVar[list[Sms]] = []

    def send(self, *, to: str, text: str) -> None:
        self.outbox.append(Sms(to=to, text=text))


class HttpSmsBackend(SmsBackend):
    """POST {"to": "+7…", "from": SMS_SENDER, "text": "…"} with `Authorization: Bearer`;
    any 2xx is delivered, anything else (or no answer in time) is SmsDeliveryFailed."""

    def __init__(self) -> None:
        if not settings.SMS_GATEWAY_URL:
            raise ImproperlyConfigured("SMS_GATEWAY_URL is required by HttpSmsBackend")
        self.url = settings.SMS_GATEWAY_URL
        self.token = settings.SMS_GATEWAY_TOKEN
        self.sender = settings.SMS_SENDER
        self.timeout = settings.SMS_GATEWAY_TIMEOUT

    def send(self, *, to: str, text: str) -> None:
        body = json.dumps({"to": to, "from": self.sender, "text": text}).encode()
        request = urllib.request.Request(  # noqa: S310  (the URL is the operator's setting)
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            # Never log the text: it holds the code.
            logger.error("SMS gateway refused a message: HTTP %s", error.code)
            raise SmsDeliveryFailed(f"HTTP {error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            logger.error("SMS gateway unreachable: %s", type(error).__name__)
            raise SmsDeliveryFailed(type(error).__name__) from None
        if not 200 <= status < 300:
            raise SmsDeliveryFailed(f"HTTP {status}")


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
