"""allauth's own Russian, where it is broken, is corrected by the project's catalogue."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from portal.allauth_corrections import ALLAUTH_CORRECTED


@pytest.mark.parametrize("msgid", ALLAUTH_CORRECTED)
def test_corrected_allauth_phrases_read_as_correct_russian(msgid: str) -> None:
    with translation.override("ru"):
        text = translation.gettext(msgid)
    assert text != msgid  # translated, by the project's catalogue
    assert '"Спам".П' not in text
    assert "для пользователя" not in text
    assert "Ваш адрес" not in text


@pytest.mark.django_db
def test_sign_up_confirmation_page_reads_correctly() -> None:
    client = Client()
    client.cookies["django_language"] = "ru"
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.org",
            "password1": "a-long-pass-phrase-7",
            "password2": "a-long-pass-phrase-7",
            "privacy_consent": "on",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "проверьте папку «Спам»." in page
