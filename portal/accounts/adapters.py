"""allauth hooks: accounts verified by a regional identity service count as verified,
and a resident whose profile is incomplete is asked for it right after logging in."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.urls import reverse
from django.utils.http import urlencode


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        from portal.accounts.views import profile_is_complete

        target = super().get_login_redirect_url(request)
        user = request.user
        if user.is_authenticated and not profile_is_complete(user):
            return reverse("accounts:profile") + "?" + urlencode({"next": target})
        return target


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request, sociallogin, form=None):
        from portal.accounts.services import user_mark_verified

        user = super().save_user(request, sociallogin, form)
        # The identity provider has checked the person; that is our verification.
        return user_mark_verified(user=user)
