"""Each main page, as a resident sees it: no serious or critical axe-core (WCAG 2.1 A/AA)
violation at desktop width, no horizontal scrolling on a 360 px phone, nor at 200 % zoom
of a 1280 px window (a 640 px layout viewport, as the 2026 accessibility rules ask).

Screenshots of both widths go to SCREENSHOT_DIR for a person to look at."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.browser.conftest import DESKTOP, PHONE, axe_violations, describe_violations, horizontal_overflow, screenshot
from tests.browser.town import build_town, published_campaign
from tests.builders import make_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A 1280 × 900 window at 200 % zoom lays pages out in 640 × 450 CSS pixels.
ZOOM_200 = {"width": 640, "height": 450}


def _vote_in_browser(page, campaign) -> None:
    """Choose the first project on the ballot, review and confirm: lands on the receipt."""
    page.goto(f"/campaigns/{campaign.pk}/ballot/")
    page.locator(".ballot-entry input").first.check()
    page.locator("button[value=review]").click()
    page.locator("button[value=confirm]").click()
    page.wait_for_url(f"**/campaigns/{campaign.pk}/ballot/receipt/")


def _ideas_campaign(town):
    now = timezone.now()
    return make_campaign(
        town.municipality,
        title="Сбор идей: дворы 2027",
        ideas_open_at=now - datetime.timedelta(days=1),
        ideas_close_at=now + datetime.timedelta(days=5),
        voting_opens_at=now + datetime.timedelta(days=10),
        voting_closes_at=now + datetime.timedelta(days=20),
    )


# page name → (needs the resident logged in, how to reach it: a path or a callable that
# takes (town, page) and leaves the page on it)
def _path(path_of):
    def go(town, page):
        page.goto(path_of(town))

    return go


def _receipt(town, page):
    _vote_in_browser(page, town.campaign)


def _ledger(town, page):
    campaign, receipt = published_campaign(town)
    page.goto(f"/campaigns/{campaign.pk}/ledger/")
    page.locator("#receipt").fill(receipt)
    with page.expect_navigation():
        page.locator(".receipt-form button").click()  # a POST: the code stays out of the URL


def _results(town, page):
    campaign, _receipt_code = published_campaign(town)
    page.goto(f"/campaigns/{campaign.pk}/results/")


def _idea_form(town, page):
    page.goto(f"/campaigns/{_ideas_campaign(town).pk}/ideas/new/")


def _results_then(path):
    def go(town, page):
        published_campaign(town)
        page.goto(path)

    return go


def _my_votes(town, page):
    published_campaign(town)
    page.goto("/me/votes/")


PAGES = {
    "home": (False, _path(lambda town: "/")),
    "catalogue": (False, _path(lambda town: "/proposals/")),
    "proposal": (False, _path(lambda town: town.proposals[0].get_absolute_url())),
    "space": (False, _path(lambda town: town.courtyard.get_absolute_url())),
    "ballot": (True, _path(lambda town: f"/campaigns/{town.campaign.pk}/ballot/")),
    "receipt": (True, _receipt),
    "results": (False, _results),
    "ledger": (False, _ledger),
    "idea_form": (True, _idea_form),
    "my_account": (True, _path(lambda town: "/me/")),
    "my_votes": (True, _my_votes),
    "stats": (False, _results_then("/stats/")),
    "sign_up": (False, _path(lambda town: "/accounts/signup/")),
    "log_in": (False, _path(lambda town: "/accounts/login/")),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_serious_axe_violation_and_fits_a_phone(name, contexts):
    town = build_town()
    needs_login, reach = PAGES[name]
    user = town.resident if needs_login else None
    problems = []

    page = contexts(viewport=DESKTOP, user=user).new_page()
    reach(town, page)
    assert page.locator("h1").count() == 1, f"{name}: {page.url} has no single <h1>:\n{page.content()[:2000]}"
    screenshot(page, f"{name}-desktop")
    violations = axe_violations(page)
    if violations:
        problems.append(f"axe on {page.url}:\n{describe_violations(violations)}")

    # The same page on a phone: resized in place rather than reloaded, so the receipt
    # (shown only once) is measured with its code too.
    page.set_viewport_size(PHONE)
    screenshot(page, f"{name}-phone")
    overflow = horizontal_overflow(page)
    if overflow:
        problems.append(f"horizontal scrolling at 360 px on {page.url}: {overflow}")
    page.set_viewport_size(ZOOM_200)
    screenshot(page, f"{name}-zoom-200")
    overflow = horizontal_overflow(page)
    if overflow:
        problems.append(f"horizontal scrolling at 200 % zoom of 1280 px on {page.url}: {overflow}")
    assert not problems, "\n\n".join(problems)
