"""The verification page in Chromium: a commission member reads the findings, annuls one
ballot with the key file, and approves; at desktop and phone widths, in Russian."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from portal.accounts.models import User
from tests import builders
from tests.browser.conftest import DESKTOP, PHONE, horizontal_overflow, screenshot
from votes import sealing
from votes.models import Ballot, Campaign, Channel, Finding, Tally
from votes.services import ballot_cast, campaign_close, ledger_seal, screening_run, tally_compute
from votes.services.commission import commission_key_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _closed_vote_with_a_duplicated_person(label: str):
    town = builders.make_municipality(name="Верхняя Пышма")
    campaign = builders.make_campaign(town, phase="upcoming", title="Дворы 2027")
    entry = builders.make_entry(campaign)
    pair = commission_key_create(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(voting_opens_at=timezone.now() - datetime.timedelta(days=1))
    campaign.refresh_from_db()
    born = builders.years_ago(41)
    for n in range(2):
        twin = builders.make_user(
            f"twin{n}-{label}@example.org",
            verified=True,
            full_name="Иван Петрович Сидоров",
            birth_date=born,
            municipality=town,
        )
        ballot_cast(campaign=campaign, voter=twin, choices=[entry.pk], channel=Channel.WEB)
    campaign_close(campaign=campaign)
    tally_compute(campaign_id=campaign.pk, final=True)
    ledger_seal(campaign_id=campaign.pk)
    screening_run(campaign_id=campaign.pk)
    member = builders.make_user(
        f"commission-{label}@example.org",
        User.Role.COMMISSION_MEMBER,
        full_name="Елена Соколова",
        scope_municipalities=[town],
    )
    return campaign, member, sealing.key_text(campaign.pk, pair.private)


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_a_commission_member_annuls_one_ballot_with_the_key_file_and_approves(
    contexts, live, tmp_path, viewport, label
):
    campaign, member, key_text = _closed_vote_with_a_duplicated_person(label)
    key_file = tmp_path / f"campaign-{campaign.pk}.key"
    key_file.write_text(key_text, encoding="ascii")
    page = contexts(viewport=viewport, user=member).new_page()
    page.goto(f"/commission/campaigns/{campaign.pk}/verification/")
    assert page.get_by_role("heading", name="Проверка голосов").count() == 1
    finding = page.locator("[data-finding=duplicate_person]")
    assert "аккаунты, похожие на одного человека" in finding.inner_text()
    assert "те же ФИО и дата рождения" in finding.inner_text()
    assert finding.get_by_text("Иван Петрович Сидоров").count() == 2
    assert page.get_by_role("button", name="Утвердить проверку").is_disabled()
    screenshot(page, f"verification-{label}")
    overflow = horizontal_overflow(page)
    assert overflow is None, overflow

    finding.locator("summary", has_text="Аннулировать голос").last.click()
    form = finding.locator("form.annul-form").last
    form.get_by_label("Примечание").fill("Один человек, два аккаунта")
    form.get_by_label("Файл ключа комиссии или k файлов долей").set_input_files(str(key_file))
    screenshot(page, f"verification-annul-{label}")
    form.get_by_role("button", name="Аннулировать").click()
    assert "Голос аннулирован" in page.locator(".messages").inner_text()
    assert "один человек, несколько аккаунтов: 1" in page.locator(".verification-status").inner_text()
    # The recount ran in the request (Celery eager): one ballot fewer is counted.
    assert Ballot.objects.get(campaign=campaign, annulled_reason="duplicate_person")
    assert Tally.objects.get(campaign=campaign, kind="final").ballots_counted == 1
    assert Finding.objects.get(campaign=campaign).status == "annulled"

    page.get_by_role("button", name="Утвердить проверку").click()
    assert "Проверка утверждена" in page.locator(".messages").inner_text()
    assert "утверждена" in page.locator("[data-approved]").inner_text()
    screenshot(page, f"verification-approved-{label}")
    campaign.refresh_from_db()
    assert campaign.verification_approved_by == member
