"""On a phone the ballot's counter stays in sight while the resident scrolls the list."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE, screenshot
from tests.browser.town import build_town
from tests.builders import make_entry, make_proposal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IN_VIEW = """(selector) => {
    const box = document.querySelector(selector).getBoundingClientRect();
    return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
}"""


def test_the_counter_is_on_screen_wherever_the_list_is_scrolled(contexts):
    town = build_town()
    # A list as long as a real one, well past one phone screen.
    for n in range(4, 16):
        proposal = make_proposal(town.square, title=f"Проект номер {n}: скамейки и освещение")
        make_entry(town.campaign, proposal, external_id=str(n), position=n)
    page = contexts(viewport=PHONE, user=town.resident).new_page()
    page.goto(f"/campaigns/{town.campaign.pk}/ballot/")
    page.get_by_label(town.proposals[0].title).check()
    status = page.locator("[data-ballot-status]")
    assert "Выбрано: 1 из" in status.inner_text()
    # The first choice at the top of the screen: the list runs below the fold, the counter does not.
    page.evaluate("window.scrollTo(0, document.querySelector('.ballot-entries').offsetTop)")
    assert page.evaluate(IN_VIEW, "[data-ballot-status]"), "the counter is off-screen at the top of the list"
    screenshot(page, "ballot-counter-phone")
    assert page.evaluate("document.body.scrollHeight > 2 * window.innerHeight")  # the list does overflow
    # And at the end of the page it sits in its place under the list.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert page.evaluate(IN_VIEW, "[data-ballot-status]")
