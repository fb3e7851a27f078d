"""E-mails name their sender and begin their subject as settings say, and every link in
them starts with SITE_URL, in allauth's confirmation and in the worker's notifications."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from lib.mail import mail_message
from tests.builders import PASSWORD, make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://portal.ekb.example"
    settings.EMAIL_SENDER_NAME = "Портал ЕКБ"
    settings.DEFAULT_FROM_EMAIL = "Портал ЕКБ <portal@ekb.example>"
    settings.EMAIL_SUBJECT_PREFIX = "[Портал ЕКБ] "
    settings.ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Портал ЕКБ] "
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    return settings


def _links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", text)


def test_the_confirmation_email_names_the_portal_and_links_to_site_url(site, mailoutbox) -> None:
    response = Client().post(
        reverse("account_signup"),
        {
            "email": f"new{uuid.uuid4().hex[:8]}@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "privacy_consent": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    message = mailoutbox[-1]
    assert message.subject.startswith("[Портал ЕКБ] ")
    assert message.from_email == "Портал ЕКБ <portal@ekb.example>"
    assert "example.com" not in message.subject + message.body
    assert "testserver" not in message.body
    assert "Портал ЕКБ" in message.body
    assert "Вас приветствует" not in message.body
    links = _links(message.body)
    assert links
    assert all(link.startswith("https://portal.ekb.example/") for link in links), links


def test_notifications_sent_by_the_worker_link_to_site_url_with_the_prefix(site, town, resident) -> None:
    campaign = make_campaign(town, title="Парки")
    message = mail_message(
        to="anna@example.org",
        template="campaign_opened",
        context={"campaign": campaign, "user": resident},
        unsubscribe_url="https://portal.ekb.example/profile/unsubscribe/x/",
    )
    assert message.subject.startswith("[Портал ЕКБ] ")
    assert message.from_email == "Портал ЕКБ <portal@ekb.example>"
    html = message.alternatives[0][0]
    links = _links(str(message.body)) + _links(str(html))
    assert any(campaign.get_absolute_url() in link for link in links)
    assert all(link.startswith("https://portal.ekb.example/") for link in links), links


def test_make_run_sets_site_url_from_its_port() -> None:
    from pathlib import Path

    from django.conf import settings

    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
    script = (Path(settings.BASE_DIR) / "scripts" / "run.sh").read_text()
    assert "SITE_URL ?= http://127.0.0.1:$(PORT)" in makefile
    assert 'export SITE_URL="${SITE_URL:-http://127.0.0.1:${port}}"' in script
