"""Identity verification from allauth: a confirmed e-mail verifies the account."""

from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from portal.accounts.services import user_mark_verified


@receiver(email_confirmed)
def mark_verified_on_email_confirmation(request, email_address, **kwargs) -> None:
    user_mark_verified(user=email_address.user)
