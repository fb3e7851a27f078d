"""allauth hooks: accounts verified by a regional identity service count as verified."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    pass


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request, sociallogin, form=None):
        from portal.accounts.services import user_mark_verified

        user = super().save_user(request, sociallogin, form)
        # The identity provider has checked the person; that is our verification.
        return user_mark_verified(user=user)
