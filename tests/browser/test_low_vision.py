"""The version for the visually impaired (GOST R 52872-2019) and text at 200 %.

A resident switches it on from the header, it is remembered on every page, the pages keep
to WCAG 2.1 AA (axe-core) and fit the window in it, and the whole vote works in it."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import DESKTOP, axe_violations, describe_violations, horizontal_overflow, screenshot
from tests.browser.town import build_town, published_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BODY_PX = "parseFloat(getComputedStyle(document.body).fontSize)"
LARGE_INVERSE = {"size": "3", "color": "inverse", "images": "off", "spacing": "wide"}
LARGE_BLUE = {"size": "2", "color": "blue", "images": "on", "spacing": "normal"}


def low_vision(context, settings: dict) -> None:
    """Start every page of `context` with these settings, as a returning visitor has them."""
    context.add_init_script(f"window.localStorage.setItem('portal-a11y', {json.dumps(json.dumps(settings))});")


def test_the_header_switch_turns_it_on_and_every_page_remembers_it(contexts):
    build_town()
    page = contexts(viewport=DESKTOP).new_page()
    page.goto("/")
    usual = page.evaluate(BODY_PX)
    toggle = page.get_by_role("button", name="Версия для слабовидящих")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.get_by_role("button", name="200 %").click()
    page.get_by_role("button", name="белым по чёрному").click()
    assert page.get_by_role("button", name="200 %").get_attribute("aria-pressed") == "true"
    assert page.evaluate(BODY_PX) == 2 * usual
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(0, 0, 0)"

    page.goto("/proposals/")  # another page, loaded afresh: the settings follow
    assert page.evaluate("document.documentElement.classList.contains('a11y-size-3')")
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).color") == "rgb(255, 255, 255)"
    screenshot(page, "low-vision-catalogue")

    page.get_by_role("button", name="Версия для слабовидящих").click()
    page.get_by_role("button", name="Обычная версия сайта").click()
    assert page.evaluate(BODY_PX) == usual
    page.reload()
    assert not page.evaluate("document.documentElement.className.includes('a11y-')")


PAGES = {
    "home": lambda town, page: page.goto("/"),
    "catalogue": lambda town, page: page.goto("/proposals/"),
    "proposal": lambda town, page: page.goto(town.proposals[0].get_absolute_url()),
    "ballot": lambda town, page: page.goto(f"/campaigns/{town.campaign.pk}/ballot/"),
    "results": lambda town, page: page.goto(f"/campaigns/{published_campaign(town)[0].pk}/results/"),
}


@pytest.mark.parametrize("mode", [LARGE_INVERSE, LARGE_BLUE], ids=["200-white-on-black", "150-blue"])
@pytest.mark.parametrize("name", list(PAGES))
def test_pages_in_the_low_vision_version_pass_axe_and_fit_the_window(name, mode, contexts):
    town = build_town()
    context = contexts(viewport=DESKTOP, user=town.resident)
    low_vision(context, mode)
    page = context.new_page()
    PAGES[name](town, page)
    assert page.evaluate("document.documentElement.classList.contains('a11y-on')")
    screenshot(page, f"low-vision-{name}-{mode['color']}")
    problems = []
    violations = axe_violations(page)
    if violations:
        problems.append(f"axe on {page.url}:\n{describe_violations(violations)}")
    overflow = horizontal_overflow(page)
    if overflow:
        problems.append(f"horizontal scrolling on {page.url}: {overflow}")
    assert not problems, "\n\n".join(problems)


def test_the_whole_vote_in_the_low_vision_version(contexts):
    town = build_town()
    context = contexts(viewport=DESKTOP, user=town.resident)
    low_vision(context, LARGE_INVERSE)
    page = context.new_page()
    page.goto(f"/campaigns/{town.campaign.pk}/ballot/")
    page.get_by_label(town.proposals[0].title).check()
    assert "Выбрано: 1 из 2" in page.locator("[data-ballot-status]").inner_text()
    page.locator("button[value=review]").click()
    assert town.proposals[0].title in page.locator("#chosen-heading + ol").inner_text()
    page.locator("button[value=confirm]").click()
    page.wait_for_url(f"**/campaigns/{town.campaign.pk}/ballot/receipt/")
    assert len(page.locator(".receipt-code").inner_text().strip()) >= 20
    assert page.evaluate("document.documentElement.classList.contains('a11y-size-3')")
    assert not horizontal_overflow(page)
    screenshot(page, "low-vision-receipt")
