"""The whole vote with the keyboard alone: Tab to the choices, Space to choose, Tab to
the button, Enter; the same to confirm; the receipt follows. Focus is always visible."""

from __future__ import annotations

import pytest

from tests.browser.town import build_town
from votes.models import Ballot, Participation
from votes.receipts import receipt_hash

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_TABS = 40  # the page has a few dozen focusable elements; more means focus is lost

FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    return {
        tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '', value: el.value || '',
        text: (el.innerText || '').trim(), checked: !!el.checked,
        label: el.labels && el.labels[0] ? el.labels[0].innerText : '',
        outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) || 0,
    };
}"""


def tab_until(page, predicate, what: str) -> dict:
    """Press Tab until the focused element satisfies `predicate`; fail if it never does."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused and predicate(focused):
            return focused
        seen.append(focused and f"{focused['tag']} {focused['name'] or focused['text'][:30]}")
    raise AssertionError(f"Tab never reached {what}; focus went through: {seen}")


def assert_focus_is_visible(focused: dict) -> None:
    where = f"no visible focus outline on {focused['tag']} {focused['name'] or focused['text']}: {focused}"
    assert focused["outlineStyle"] != "none", where
    assert focused["outlineWidth"] >= 2, where


def test_a_resident_votes_with_the_keyboard_alone(contexts):
    town = build_town()
    first_title = town.proposals[0].title
    page = contexts(language="en", user=town.resident).new_page()
    page.goto(f"/campaigns/{town.campaign.pk}/ballot/")

    choice = tab_until(page, lambda f: f["type"] == "checkbox", "a choice on the ballot")
    assert first_title in choice["label"]
    assert_focus_is_visible(choice)
    page.keyboard.press("Space")
    assert page.evaluate(FOCUSED)["checked"], "Space did not tick the focused choice"
    assert page.get_by_label(first_title).is_checked()

    review = tab_until(page, lambda f: f["tag"] == "button" and f["value"] == "review", "the review button")
    assert_focus_is_visible(review)
    # The review page answers the same URL: wait for the navigation itself, not a load state
    # the current page already has.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm your ballot"
    assert first_title in page.locator("#chosen-heading + ol").inner_text()

    confirm = tab_until(page, lambda f: f["tag"] == "button" and f["value"] == "confirm", "the confirm button")
    assert_focus_is_visible(confirm)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/campaigns/{town.campaign.pk}/ballot/receipt/")

    assert page.get_by_role("heading", level=1).inner_text() == "Your ballot is cast"
    code = page.locator(".receipt-code").inner_text().strip()
    assert len(code) >= 20
    assert Participation.objects.filter(campaign=town.campaign, voter=town.resident).exists()
    ballot = Ballot.objects.get(receipt_hash=receipt_hash(code))
    assert list(ballot.choices.values_list("entry__proposal__title", flat=True)) == [first_title]


def test_the_skip_link_is_the_first_stop_and_leads_to_the_content(contexts, live):
    page = contexts(language="en").new_page()
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate(FOCUSED)
    assert focused["tag"] == "a"
    assert focused["text"] == "Skip to content"
    assert_focus_is_visible(focused)
    # Visible when focused (it hides above the page otherwise).
    box = page.locator(".skip-link").bounding_box()
    assert box is not None
    assert box["y"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
