"""API-wide pieces: the exception handler maps a database outage to 503, and gives every
DRF error the same {"code", "detail"} shape as the portal's own."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.middleware import UNAVAILABLE_ERRORS


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return Response(
            {
                "code": "service_unavailable",
                "detail": _("The service is temporarily unavailable; the request was not saved. Try again."),
            },
            status=503,
            headers={"Retry-After": "30"},
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, APIException) and isinstance(response.data, dict):
        # DRF's own errors (401, 403, 404, 405, 429...) carry a stable code like the
        # portal's, for clients that switch on it; throttled answers keep Retry-After.
        codes = exc.get_codes()
        if isinstance(codes, str):
            response.data.setdefault("code", codes)
    return response
