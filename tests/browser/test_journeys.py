"""The two journeys of the residents' portal, in a real browser, each step asserting what
the person sees. Screenshots of the key steps go to SCREENSHOT_DIR."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from portal.accounts.models import User
from tests.browser.conftest import screenshot
from tests.browser.town import build_town
from tests.builders import approve_verification, make_campaign, make_user
from votes import services
from votes.models import Campaign, Channel, Idea, Participation, Tally
from votes.services.verification import verification_approve

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Uralskie-dvory-2026"
LINK = re.compile(r"https?://[^\s\"'<>]+")


def _ideas_campaign(municipality) -> Campaign:
    """A campaign collecting ideas now; its voting starts in ten days."""
    now = timezone.now()
    return make_campaign(
        municipality,
        title="Дворы Берёзовского 2027",
        ideas_open_at=now - datetime.timedelta(days=2),
        ideas_close_at=now + datetime.timedelta(days=5),
        voting_opens_at=now + datetime.timedelta(days=10),
        voting_closes_at=now + datetime.timedelta(days=20),
        min_choices=1,
        max_choices=1,
    )


def _move_to_voting(campaign: Campaign) -> None:
    """The idea window ends and the vote begins (what time does in real life)."""
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk).update(
        ideas_open_at=now - datetime.timedelta(days=3),
        ideas_close_at=now - datetime.timedelta(minutes=1),
        voting_opens_at=now - datetime.timedelta(minutes=1),
        voting_closes_at=now + datetime.timedelta(days=7),
    )


def _move_past_voting(campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(voting_closes_at=timezone.now() - datetime.timedelta(seconds=1))


def _link_in_last_mail(to: str, contains: str) -> str:
    messages = [m for m in mail.outbox if to in m.to]
    assert messages, f"no e-mail to {to}; outbox: {[(m.to, m.subject) for m in mail.outbox]}"
    links = [link for link in LINK.findall(str(messages[-1].body)) if contains in link]
    assert links, f"no link with {contains!r} in: {messages[-1].body}"
    return links[0]


def test_a_resident_signs_up_proposes_an_idea_votes_and_finds_the_ballot(contexts):
    town = build_town(open_campaign=False)
    campaign = _ideas_campaign(town.municipality)
    official = make_user(role=User.Role.MUNICIPAL_OFFICIAL)
    official.scope_municipalities.set([town.municipality])
    page = contexts(language="en").new_page()
    email = "olga.petrova@example.org"

    # Sign up.
    page.goto("/accounts/signup/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("input[name=privacy_consent]").check()
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()
    screenshot(page, "journey-resident-01-verification-sent")
    assert "/accounts/confirm-email/" in page.url
    resident = User.objects.get(email=email)
    assert resident.verified_at is None

    # Verify the e-mail: open the link from the message, confirm.
    confirm_url = _link_in_last_mail(email, "/accounts/confirm-email/")
    page.goto(confirm_url)
    assert email in page.locator("main").inner_text()
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    resident.refresh_from_db()
    assert resident.verified_at is not None

    if "/accounts/login/" in page.url:  # allauth logs in on confirmation only in the same session
        page.locator("input[name=login]").fill(email)
        page.locator("input[name=password]").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()

    # Fill the profile: birth date and municipality are what eligibility reads.
    page.goto("/me/")
    page.get_by_label("Full name").fill("Ольга Петрова")
    page.get_by_label("Birth date").fill("1987-03-09")
    page.get_by_label("Municipality of residence").select_option(label=town.municipality.name)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("Save|Сохранить")).click()
    assert "Your profile is saved." in page.locator(".messages").inner_text()
    resident.refresh_from_db()
    assert (resident.birth_date, resident.municipality_id) == (datetime.date(1987, 3, 9), town.municipality.pk)

    # Find the courtyard: the catalogue, filtered to the municipality, then the space.
    page.goto("/proposals/")
    page.get_by_label("Municipality").select_option(label=town.municipality.name)
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name=town.proposals[0].title).click()
    page.get_by_role("link", name=town.courtyard.name).first.click()
    page.wait_for_url(f"**{town.courtyard.get_absolute_url()}")
    assert page.get_by_role("heading", level=1).inner_text() == town.courtyard.name
    assert town.courtyard.address in page.locator(".addresses").inner_text()
    screenshot(page, "journey-resident-02-courtyard")

    # Propose an idea for it during the idea collection.
    page.goto(f"/campaigns/{campaign.pk}/ideas/new/")
    page.get_by_label("an existing space").check()
    page.get_by_label("Space", exact=True).select_option(value=str(town.courtyard.pk))
    assert town.courtyard.name in page.get_by_label("Space", exact=True).locator("option:checked").inner_text()
    idea_title = "Спортивная площадка с тренажёрами во дворе"
    page.get_by_label("What should be done").fill(idea_title)
    page.get_by_label("Describe the idea").fill("Уличные тренажёры и турники для взрослых и подростков.")
    page.get_by_label("Rough cost, ₽").fill("2500000")
    screenshot(page, "journey-resident-03-idea-form")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the idea").click()
    assert "Thank you! Your idea is waiting for moderation." in page.locator(".messages").inner_text()
    assert idea_title in page.locator("main").inner_text()
    idea = Idea.objects.get(campaign=campaign, proposal__title=idea_title)

    # An official approves it onto the ballot; the resident sees it on "my ideas".
    services.idea_approve(idea=idea, official=official)
    page.reload()
    assert re.search(r"approved", page.locator("main").inner_text(), re.IGNORECASE), page.locator("main").inner_text()
    assert any("approved" in m.subject.lower() or idea_title in m.body for m in mail.outbox if email in m.to)

    # The campaign opens by the clock; the resident is told by e-mail.
    _move_to_voting(campaign)
    opened, _closed = services.campaigns_clock_tick()
    assert opened == [campaign.pk]
    assert len([m for m in mail.outbox if email in m.to]) >= 3  # confirmation, decision, opening

    # Vote on the web: ballot → confirm → receipt.
    page.goto(f"/campaigns/{campaign.pk}/ballot/")
    page.get_by_label(idea_title).check()
    page.get_by_role("button", name="Review my ballot").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm your ballot"
    assert idea_title in page.locator("main").inner_text()
    page.get_by_role("button", name="Confirm and cast my ballot").click()
    page.wait_for_url(f"**/campaigns/{campaign.pk}/ballot/receipt/")
    assert page.get_by_role("heading", level=1).inner_text() == "Your ballot is cast"
    receipt = page.locator(".receipt-code").inner_text().strip()
    screenshot(page, "journey-resident-04-receipt")
    assert Participation.objects.filter(campaign=campaign, voter=resident, channel=Channel.WEB).count() == 1

    # The vote closes, is counted and published.
    _move_past_voting(campaign)
    _opened, closed = services.campaigns_clock_tick()
    assert closed == [campaign.pk]
    final = Tally.objects.get(campaign=campaign, kind=Tally.Kind.FINAL)  # counted by the eager task
    assert final.status == Tally.Status.DONE
    assert final.ballots_counted == 1
    assert len(final.ledger_head) == 64  # sealed by the eager ledger_seal task the tally enqueued
    approve_verification(campaign)
    services.results_publish(campaign=campaign)

    # The resident finds the ballot in the ledger with the receipt, then the results.
    page.goto(f"/campaigns/{campaign.pk}/results/")
    assert page.get_by_role("heading", level=1).inner_text() == "Results"
    page.get_by_role("link", name="Find your ballot in the ledger").click()
    page.get_by_label("Your receipt code (or its hash)").fill(receipt)
    with page.expect_navigation():
        page.get_by_role("button", name="Look it up").click()
    assert page.get_by_role("heading", name="Your ballot is in the ledger").is_visible()
    assert idea_title in page.locator("table").inner_text()
    screenshot(page, "journey-resident-05-ledger")

    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("^Results")).click()
    row = page.locator("table.standings tbody tr", has_text=idea_title)
    assert row.count() == 1
    assert "selected" in row.inner_text()
    # The chart draws a bar for the project (coordinates must survive the Russian locale).
    assert page.locator(".chart rect").first.bounding_box()["width"] > 10
    screenshot(page, "journey-resident-06-results")


def _admin_log_in(page, official) -> None:
    page.goto("/admin/login/")
    page.locator("input[name=username]").fill(official.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/")


def _fill_datetime(page, name: str, when: datetime.datetime) -> None:
    local = timezone.localtime(when)
    page.locator(f"input[name={name}_0]").fill(local.strftime("%d.%m.%Y"))
    page.locator(f"input[name={name}_1]").fill(local.strftime("%H:%M:%S"))


def test_an_official_builds_a_campaign_approves_ideas_opens_it_and_publishes_results(contexts):
    town = build_town(open_campaign=False)
    official = User.objects.create_user(
        "official@berezovsky.example.org", PASSWORD, role=User.Role.MUNICIPAL_OFFICIAL, full_name="Ирина Чиновник"
    )
    official.scope_municipalities.set([town.municipality])
    page = contexts().new_page()  # Russian: the admin reads dates in the Russian format
    _admin_log_in(page, official)
    screenshot(page, "journey-official-01-admin")

    # Build the campaign: windows, method, rule, budget.
    now = timezone.now()
    page.goto("/admin/votes/campaign/add/")
    # The municipality is an autocomplete (select2): type a part of the name, pick it.
    page.locator(".field-municipality .select2-selection").click()
    page.locator(".select2-search__field").fill(town.municipality.name[:6])
    page.locator(".select2-results__option", has_text=town.municipality.name).click()
    title = "Общественные пространства 2027"
    page.locator("input[name=title]").fill(title)
    page.locator("input[name=year]").fill(str(now.year + 1))
    _fill_datetime(page, "ideas_open_at", now - datetime.timedelta(days=1))
    _fill_datetime(page, "ideas_close_at", now + datetime.timedelta(days=5))
    _fill_datetime(page, "voting_opens_at", now + datetime.timedelta(days=10))
    _fill_datetime(page, "voting_closes_at", now + datetime.timedelta(days=20))
    page.locator("select[name=method]").select_option("approval")
    page.locator("input[name=min_choices]").fill("1")
    page.locator("input[name=max_choices]").fill("2")
    page.locator("input[name=budget]").fill("9000000")
    page.locator("select[name=rule]").select_option("greedy")
    with page.expect_navigation():
        page.locator("input[name=_save]").click()
    screenshot(page, "journey-official-02-campaign-added")
    # The admin speaks Russian (Django's own catalogue): "... был успешно добавлен."
    assert "успешно добавлен" in page.locator(".messagelist").inner_text(), page.locator("#content").inner_text()
    campaign = Campaign.objects.get(title=title)
    assert (campaign.municipality_id, campaign.method, campaign.rule, campaign.budget) == (
        town.municipality.pk,
        "approval",
        "greedy",
        Decimal(9_000_000),
    )

    # Residents propose ideas; the official approves two of them onto the ballot.
    ideas = [
        services.idea_submit(
            campaign=campaign,
            author=town.resident,
            title=title_,
            description="Предложение жителей.",
            estimated_cost=Decimal(cost),
            space=town.square,
        )
        for title_, cost in [("Фонтан в сквере", 4_000_000), ("Летняя сцена", 3_000_000)]
    ]
    page.goto("/admin/votes/idea/")
    for idea in ideas:
        page.locator(f"input[name=_selected_action][value='{idea.pk}']").check()
    page.locator("select[name=action]").select_option("approve_ideas")
    with page.expect_navigation():
        page.locator("button[name=index]").click()
    screenshot(page, "journey-official-03-ideas-approved")
    assert page.locator(".messagelist").count() == 1, page.locator("#content").inner_text()
    entries = set(campaign.entries.values_list("proposal__title", flat=True))
    assert entries == {"Фонтан в сквере", "Летняя сцена"}

    # The campaign opens by the clock when its voting window starts.
    _move_to_voting(campaign)
    assert services.campaigns_clock_tick()[0] == [campaign.pk]
    campaign.refresh_from_db()
    page.goto(f"/admin/votes/campaign/{campaign.pk}/change/")
    assert page.locator(".field-opened_at .readonly").inner_text().strip() not in ("", "-")

    # Residents vote, the vote closes (by the clock) and the final tally runs.
    entry_ids = list(campaign.entries.order_by("position").values_list("pk", flat=True))
    for n in range(3):
        voter = make_user(
            birth_date=datetime.date(1970 + n, 1, 1), municipality=town.municipality, verified_at=timezone.now()
        )
        services.ballot_cast(campaign=campaign, voter=voter, choices=[(entry_ids[n % 2], 1)], channel=Channel.WEB)
    _move_past_voting(campaign)
    services.campaigns_clock_tick()
    assert Tally.objects.get(campaign=campaign, kind=Tally.Kind.FINAL).status == Tally.Status.DONE

    # Publication waits for the commission's approval of the verification.
    def publish_from_the_admin() -> None:
        page.goto("/admin/votes/campaign/")
        page.locator(f"input[name=_selected_action][value='{campaign.pk}']").check()
        page.locator("select[name=action]").select_option("publish_results")
        with page.expect_navigation():
            page.locator("button[name=index]").click()

    publish_from_the_admin()
    assert "Комиссия ещё не утвердила проверку голосов" in page.locator(".messagelist").inner_text()
    campaign.refresh_from_db()
    assert campaign.results_published_at is None
    member = make_user(role=User.Role.COMMISSION_MEMBER, verified_at=timezone.now())
    member.scope_municipalities.add(town.municipality)
    verification_approve(campaign=campaign, actor=member)
    publish_from_the_admin()
    screenshot(page, "journey-official-04-published")
    campaign.refresh_from_db()
    assert campaign.results_published_at is not None, page.locator(".messagelist").inner_text()

    page.goto(f"/campaigns/{campaign.pk}/results/")
    assert "Окончательные итоги, опубликованы" in page.locator("main").inner_text()
    assert page.locator("table.standings tbody tr").count() == 2


def test_publishing_before_the_final_tally_is_refused_in_the_admin(contexts):
    """The official sees why, and nothing is published."""
    town = build_town()
    official = User.objects.create_user("official2@example.org", PASSWORD, role=User.Role.MUNICIPAL_OFFICIAL)
    official.scope_municipalities.set([town.municipality])
    page = contexts(language="en").new_page()
    _admin_log_in(page, official)
    page.goto("/admin/votes/campaign/")
    page.locator(f"input[name=_selected_action][value='{town.campaign.pk}']").check()
    page.locator("select[name=action]").select_option("publish_results")
    with page.expect_navigation():
        page.locator("button[name=index]").click()
    assert "not closed" in page.locator(".messagelist").inner_text()
    town.campaign.refresh_from_db()
    assert town.campaign.results_published_at is None
