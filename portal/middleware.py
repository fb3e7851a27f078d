"""A database outage answers a clear 503, never a 500 page with a traceback."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from lib.client_address import is_trusted_proxy

logger = logging.getLogger(__name__)

UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    message = _("The service is temporarily unavailable. Your request was not saved; please try again in a minute.")
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(
            render_to_string("503.html", {"message": message}), status=503, content_type="text/html"
        )
    response["Retry-After"] = "30"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UNAVAILABLE_ERRORS):
            logger.warning("database unavailable: %s", exception)
            return database_unavailable_response(request)
        return None


class UntrustedForwardedHeadersMiddleware:
    """Drops X-Forwarded-Proto and X-Forwarded-For from requests that did not come
    through a trusted proxy network, before SecurityMiddleware reads the scheme.

    With TRUSTED_PROXY_NETWORKS set, a client that reaches the web process directly
    cannot claim HTTPS (SECURE_PROXY_SSL_HEADER) or another address. With a proxy
    count, where the proxies' own addresses are unknown, the deployment must keep the
    web processes reachable only through the proxies (README, security).
    """

    FORWARDED = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.TRUSTED_PROXY_NETWORKS and not is_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
            for name in self.FORWARDED:
                request.META.pop(name, None)
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Sends `Permissions-Policy` from settings.PERMISSIONS_POLICY (Django has no setting for it)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.PERMISSIONS_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Permissions-Policy", self.policy)
        return response


class NulInQueryMiddleware:
    """A NUL character in a page's query string is refused with a 400 before any view runs.

    PostgreSQL text cannot hold NUL: a search box or a filter that passed one into a
    query would answer 500 (the admin's search did). One check here covers every page.
    The API is left to its serializers, which answer with the documented 400 for the
    parameters they read and ignore the others, as its schema says.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/") and any(
            "\x00" in text for key, values in request.GET.lists() for text in (key, *values)
        ):
            return HttpResponseBadRequest(_("NUL characters are not allowed in the query string."))
        return self.get_response(request)
