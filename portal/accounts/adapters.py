"""allauth hooks: accounts verified by a regional identity service count as verified,
and a resident whose profile is incomplete is asked for it right after logging in."""

from urllib.parse import quote

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.ratelimit import respond_429
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.http import urlencode

from lib.client_address import client_address
from lib.mail import site_url
from portal.accounts.identity import user_provider_verify
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

    # Every link in every e-mail starts with SITE_URL, not with the host a request came
    # in on (a proxy's, or none at all when a worker sends).
    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return site_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return site_url(path.replace("UID-KEY", quote(key)))

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # allauth's greeting names the site by the Site's name (its host); ours by its name.
        context = {**context, "portal_name": settings.EMAIL_SENDER_NAME, "SITE_URL": site_url("/")}
        super().send_mail(template_prefix, email, context)

    def get_login_redirect_url(self, request):
        target = super().get_login_redirect_url(request)
        user = request.user
        if user.is_authenticated and not profile_is_complete(user):
            return reverse("accounts:profile") + "?" + urlencode({"next": target})
        return target


def _verified_claims(sociallogin) -> dict:
    """The provider's claims: the ID token's (signed) overlaid by the userinfo endpoint's
    (fetched over TLS with the access token), both from the configured provider."""
    data = sociallogin.account.extra_data or {}
    if "id_token" in data or "userinfo" in data:
        return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
    return dict(data)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        # The identity provider has checked the person; that is our verification.
        user = user_mark_verified(user=user)
        return self._provider_verify(user, sociallogin)

    def pre_social_login(self, request, sociallogin):
        super().pre_social_login(request, sociallogin)
        if sociallogin.is_existing:
            # Each log-in refreshes birth date and residence from the provider's record.
            self._provider_verify(sociallogin.user, sociallogin)

    def _provider_verify(self, user, sociallogin):
        if sociallogin.account.provider not in oidc_provider_ids():
            return user
        return user_provider_verify(
            user=user,
            provider=sociallogin.account.provider,
            subject=str(sociallogin.account.uid),
            claims=_verified_claims(sociallogin),
        )


def oidc_provider_ids() -> set[str]:
    """The OpenID Connect providers configured (read per call: tests configure them)."""
    from django.conf import settings

    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    return {app["provider_id"] for app in apps}
