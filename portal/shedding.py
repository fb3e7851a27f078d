"""Shedding load: a saturated worker answers 503 at once instead of queueing to a timeout.

Two bounds, each off at 0 (settings from the environment):

- SHED_MAX_IN_FLIGHT: requests being served at once in this worker process (threaded
  workers; a sync worker serves one at a time, so there the next bound is the one).
- SHED_MAX_QUEUE_MS: the time a request waited before this worker took it, from the
  `X-Request-Start` header the front sets (nginx: `proxy_set_header X-Request-Start
  "t=${msec}";`). A request that already waited that long is answered 503: its client is
  about to give up, and serving it would only make the next ones wait longer.

A shed request is answered before the session, the user or the database is touched, so a
ballot is either stored and answered 201, or refused here with nothing written (and the
idempotency key of its retry is still unused). The middleware sits after WhiteNoise:
static files are served before it and never shed; paths in SHED_EXEMPT_PATHS (results
pages, served from their whole-page cache, and the health checks) are not shed either.
Pages get a small waiting room in Russian that retries after Retry-After seconds, with a
button to stop that; the API gets JSON with the same Retry-After.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from portal.metrics import REQUESTS_SHED


def queue_seconds(header: str, now: float) -> float | None:
    """Seconds since the front stamped `X-Request-Start` (`t=` seconds, ms or µs since the epoch)."""
    text = header.strip().removeprefix("t=")
    try:
        stamp = float(text)
    except ValueError:
        return None
    if stamp > 1e14:  # microseconds (Apache's %t, HAProxy)
        stamp /= 1e6
    elif stamp > 1e11:  # milliseconds
        stamp /= 1e3
    return now - stamp


class LoadSheddingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.max_in_flight: int = settings.SHED_MAX_IN_FLIGHT
        self.max_queue: float = settings.SHED_MAX_QUEUE_MS / 1000
        self.retry_after = str(settings.SHED_RETRY_AFTER)
        self.exempt = [re.compile(pattern) for pattern in settings.SHED_EXEMPT_PATHS]
        self.in_flight = 0
        self.lock = threading.Lock()
        self._page: bytes | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not (self.max_in_flight or self.max_queue) or any(p.match(request.path) for p in self.exempt):
            return self.get_response(request)
        reason = self._queued_too_long(request)
        if reason:
            return self._shed(request, reason)
        with self.lock:
            if self.max_in_flight and self.in_flight >= self.max_in_flight:
                reason = "in_flight"
            else:
                self.in_flight += 1
        if reason:
            return self._shed(request, reason)
        try:
            return self.get_response(request)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _queued_too_long(self, request: HttpRequest) -> str:
        header = request.META.get("HTTP_X_REQUEST_START")
        if not self.max_queue or not header:
            return ""
        waited = queue_seconds(header, time.time())
        return "queue" if waited is not None and waited > self.max_queue else ""

    def _shed(self, request: HttpRequest, reason: str) -> HttpResponse:
        REQUESTS_SHED.labels(reason=reason).inc()
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse({"code": "overloaded", "detail": _overloaded_message()}, status=503)
        else:
            response = HttpResponse(self._waiting_room(), status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = self.retry_after
        response["Cache-Control"] = "no-store"
        # Set here: this answer never passes CommonMiddleware, and without a length a
        # kept-alive connection gets a chunked reply (gthread workers).
        response["Content-Length"] = str(len(response.content))
        # Counted in REQUESTS_SHED; an ERROR line per shed request from django.request
        # would flood the logs, and cost CPU, at the moment the workers have none to spare.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response

    def _waiting_room(self) -> bytes:
        # Rendered once per process: under load the page costs nothing but the write.
        if self._page is None:
            with translation.override(settings.LANGUAGE_CODE):
                self._page = render_to_string(
                    "waiting_room.html", {"retry_after": self.retry_after, "message": _overloaded_message()}
                ).encode()
        return self._page


def _overloaded_message() -> str:
    return _("Too many people are voting right now. Nothing was saved; please try again in a few seconds.")
