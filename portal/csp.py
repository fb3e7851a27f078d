"""django-csp's middleware with the header built once per policy, not per response.

`csp.middleware.CSPMiddleware` builds the header string from the settings on every
response (a noticeable share of an API ballot's CPU). A response that changes nothing
(no nonce drawn, no @csp_update/@csp_replace/@csp_exempt) gets the same string every
time, so it is built once per policy and kept; any other response goes the library's way.
"""

from __future__ import annotations

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt",
    "_csp_exempt_ro",
)


class CachedCSPMiddleware(CSPMiddleware):
    _built: tuple[object, object, str, str] | None = None

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, a) for a in _PER_RESPONSE):
            return super().process_response(request, response)
        if settings.DEBUG or HEADER in response or HEADER_REPORT_ONLY in response:
            return super().process_response(request, response)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        policy_ro = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        built = self._built
        if built is None or built[0] is not policy or built[1] is not policy_ro:  # settings changed (tests)
            built = (policy, policy_ro, build_policy(), build_policy(report_only=True))
            CachedCSPMiddleware._built = built
        for header, value, config in ((HEADER, built[2], policy), (HEADER_REPORT_ONLY, built[3], policy_ro)):
            prefixes = tuple((config or {}).get("EXCLUDE_URL_PREFIXES", None) or ())
            if value and not request.path_info.startswith(prefixes):
                response[header] = value
        # As the library: a nonce asked for after the header is written is an error.
        if getattr(request, "_csp_nonce", None) is None:
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
