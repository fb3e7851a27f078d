"""Corrections of django-allauth's Russian catalogue.

The project's catalogue (LOCALE_PATHS) takes precedence over the apps' own, so these
msgids, copied exactly from allauth's templates, are translated again in
locale/ru/LC_MESSAGES/django.po. They are marked here so that makemessages keeps them.
Fixed: a missing space ('папку "Спам".Пожалуйста'), 'подтвердите X для пользователя X',
and 'Ваш' capitalised mid-sentence.
"""

from django.utils.translation import gettext_noop

ALLAUTH_CORRECTED = (
    gettext_noop("Please Confirm Your Email Address"),
    gettext_noop(
        'Please confirm that <a href="mailto:%(email)s">%(email)s</a> is an email address for user %(user_display)s.'
    ),
    gettext_noop(
        "We have sent you an email. If you have not received it please check your spam "
        "folder. Otherwise contact us if you do not receive it in a few minutes."
    ),
    gettext_noop("Verify Your Email Address"),
    gettext_noop(
        "We have sent an email to you for verification. Follow the link provided to "
        "finalize the signup process. If you do not see the verification email in your "
        "main inbox, check your spam folder. Please contact us if you do not receive the "
        "verification email within a few minutes."
    ),
    gettext_noop(
        "We have sent an email to you for\nverification. Please click on the link inside "
        "that email. If you do not see the verification email in your main inbox, check "
        "your spam folder. Otherwise\ncontact us if you do not receive it within a few "
        "minutes."
    ),
)
