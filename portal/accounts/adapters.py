"""allauth hooks: accounts verified by a regional identity service count as verified,
and a resident whose profile is incomplete is asked for it right after logging in."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.ratelimit import respond_429
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.http import urlencode

from portal.accounts.services import user_mark_verified
from portal.accounts.views import profile_is_complete


class AccountAdapter(DefaultAccountAdapter):
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
