"""The officials' dashboard, the campaign's counting panel, the privacy page, the consent
at sign-up and the profile's data and deletion, in Chromium at desktop and phone widths."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from portal.accounts.models import User
from tests.browser.conftest import DESKTOP, PHONE, horizontal_overflow, screenshot
from tests.browser.town import build_town
from tests.builders import make_official
from votes.models import Tally

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def town_with_count():
    town = build_town()
    Tally.objects.create(
        campaign=town.campaign,
        kind=Tally.Kind.LIVE,
        status=Tally.Status.DONE,
        computed_at=timezone.now() - datetime.timedelta(minutes=1),
        ballots_counted=1_234,
    )
    return town


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_an_official_reads_the_dashboard_and_the_campaign_page(contexts, town_with_count, viewport, label):
    town = town_with_count
    official = make_official(town.municipality, email=f"official-{label}@example.org")
    page = contexts(viewport=viewport, user=official).new_page()
    page.goto("/admin/")
    panel = page.locator("#dashboard-title").locator("xpath=..")
    text = panel.inner_text()
    assert f"Ваша территория: {town.municipality.name}" in text
    assert town.campaign.title in text
    assert "1 234" in text.replace("\xa0", " ")
    assert "назад" in text
    screenshot(page, f"admin-dashboard-{label}")
    overflow = horizontal_overflow(page)
    assert overflow is None, overflow
    page.get_by_role("link", name=town.campaign.title).first.click()
    counting = page.locator("#counting-title").locator("xpath=..")
    assert "выполнен" in counting.inner_text()
    assert counting.get_by_role("button", name="Пересчитать сейчас").count() == 1
    screenshot(page, f"admin-campaign-{label}")


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_sign_up_asks_for_the_consent_and_links_the_policy(contexts, live, viewport, label):
    page = contexts(viewport=viewport).new_page()
    page.goto("/accounts/signup/")
    email = f"consent-{label}@example.org"
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill("Sekret-pass-2026")
    page.locator("input[name=password2]").fill("Sekret-pass-2026")
    consent = page.locator("input[name=privacy_consent]")
    assert not consent.is_checked()
    assert page.get_by_role("link", name="Политика конфиденциальности").first.is_visible()
    screenshot(page, f"signup-{label}")
    # Without the tick the browser keeps the form (the field is required; the server
    # refuses too, see tests/accounts/test_personal_data.py).
    page.locator("form button[type=submit]").last.click()
    assert consent.evaluate("el => el.validity.valueMissing")
    assert "/accounts/signup/" in page.url
    assert not User.objects.filter(email=email).exists()
    consent.check()
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()
    user = User.objects.get(email=email)
    assert user.privacy_consent_version
    page.goto("/privacy/")
    assert "Какие данные мы храним" in page.inner_text("main")
    assert horizontal_overflow(page) is None
    screenshot(page, f"privacy-{label}")


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_the_profile_offers_the_data_and_the_deletion(contexts, viewport, label):
    town = build_town()
    page = contexts(viewport=viewport, user=town.resident).new_page()
    page.goto("/me/#my-data")
    section = page.locator("#my-data").inner_text()
    assert "Скачать мои данные" in section
    assert page.locator("#delete").get_by_role("button", name="Удалить учётную запись").count() == 1
    assert horizontal_overflow(page) is None
    page.locator("#my-data").scroll_into_view_if_needed()
    screenshot(page, f"profile-data-{label}")
