"""allauth hooks: accounts verified by a regional identity service count as verified,
and a resident whose profile is incomplete is asked for it right after logging in."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.ratelimit import respond_429
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.http import urlencode

from lib.client_address import client_address
from portal.accounts.services import user_mark_verified
from portal.accounts.views import profile_is_complete

# allauth's pages and the rate-limit actions they consume (allauth.account.app_settings).
_RATE_LIMIT_ACTIONS = {
    "account_login": ("login", "login_failed"),
    "account_signup": ("signup",),
    "account_reset_password": ("reset_password",),
    "account_reset_password_from_key": ("reset_password_from_key",),
    "account_change_password": ("change_password",),
    "account_email": ("manage_email", "confirm_email"),
    "account_email_verification_sent": ("confirm_email",),
    "account_reauthenticate": ("reauthenticate",),
}


def rate_limit_window(request) -> int:
    """Seconds after which allauth's limits for this page have surely lapsed: the longest
    window among its rates (all of allauth's if the page is not known)."""
    from allauth.account import app_settings
    from allauth.core.internal.ratelimit import parse_rates

    configured = app_settings.RATE_LIMITS
    match = getattr(request, "resolver_match", None)
    actions = _RATE_LIMIT_ACTIONS.get(match.url_name if match else "", tuple(configured))
    windows = [rate.duration for action in actions for rate in parse_rates(configured.get(action))]
    return int(max(windows, default=60))


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        # allauth's rate limits key on this: the same address as every other limit.
        return client_address(request)

    def pre_authenticate(self, request, **credentials):
        # allauth answers too many failed log-ins with a form error (200); answer 429, as
        # every other throttle of the portal does, so clients and proxies see the limit.
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as error:
            if getattr(error, "code", None) == "too_many_login_attempts":
                raise ImmediateHttpResponse(respond_429(request)) from error
            raise

    def get_login_redirect_url(self, request):
        target = super().get_login_redirect_url(request)
        user = request.user
        if user.is_authenticated and not profile_is_complete(user):
            return reverse("accounts:profile") + "?" + urlencode({"next": target})
        return target


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        # The identity provider has checked the person; that is our verification.
        return user_mark_verified(user=user)
