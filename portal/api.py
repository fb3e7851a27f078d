"""API-wide pieces: the exception handler maps a database outage to 503."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.middleware import UNAVAILABLE_ERRORS


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return Response(
            {"detail": _("The service is temporarily unavailable; the request was not saved. Try again.")},
            status=503,
            headers={"Retry-After": "30"},
        )
    return drf_exception_handler(exc, context)
