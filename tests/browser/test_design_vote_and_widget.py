"""In Chromium, on the demo: a resident opens a design project's "More" and votes for it
with JavaScript off; the widget is framed by a listed website served on another port,
refused to an unlisted one, and no other page of the portal can be framed at all.

Screenshots (desktop and 360 px) of the ballot with pictures, the design list, the
catalogue and the widget go to SCREENSHOT_DIR for people to look at."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from portal.accounts.models import User
from portal.demo import seed_demo
from projects.models import EmbedOrigin, Municipality
from tests.browser.conftest import ACTION_TIMEOUT_MS, DESKTOP, PHONE, log_in, screenshot
from votes.models import Ballot, Campaign, Participation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _context(browser, live, *, viewport=DESKTOP, hosts=(), **options):
    """A Russian browser context that reaches the live server and `hosts` only, and
    reads uploaded pictures from MEDIA_ROOT (the test server does not serve /media/)."""
    context = browser.new_context(viewport=viewport, locale="ru-RU", base_url=live.url, **options)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    allowed = {urlsplit(live.url).netloc, *hosts}
    media = Path(settings.MEDIA_ROOT)

    def handle(route):
        url = urlsplit(route.request.url)
        if url.netloc == urlsplit(live.url).netloc and url.path.startswith(settings.MEDIA_URL):
            route.fulfill(path=str(media / url.path.removeprefix(settings.MEDIA_URL)))
        elif url.netloc in allowed:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", handle)
    context.add_cookies([{"name": "django_language", "value": "ru", "url": live.url}])
    return context


def _pictures_loaded(page) -> int:
    """Scroll through the page (pictures load lazily), then count the pictures shown."""
    height = page.evaluate("document.body.scrollHeight")
    for y in range(0, height + 600, 600):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(60)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_load_state("load")
    return page.evaluate("[...document.images].filter(i => i.complete && i.naturalWidth > 0).length")


def test_a_resident_opens_more_and_votes_for_a_design_project_without_javascript(browser, live):
    seed_demo()
    design = Campaign.objects.get(kind=Campaign.Kind.DESIGN)
    resident = User.objects.get(email="resident@example.org")
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = _context(browser, live, viewport=viewport)
        log_in(context, live, resident)
        page = context.new_page()
        page.goto(f"/campaigns/{design.pk}/ballot/")
        entries = page.locator(".ballot-entry")
        assert entries.count() == 3
        page.wait_for_load_state("load")
        assert _pictures_loaded(page) >= 3
        first = entries.nth(0)
        first.locator("summary").click()
        gallery = first.locator(".entry-gallery img")
        assert gallery.count() == 4  # two renderings, the plan and the park as it is today
        assert first.locator(".entry-more").get_attribute("open") is not None
        assert "План" in first.locator(".entry-gallery").inner_text()
        screenshot(page, f"fed-ballot-design-{name}")
        page.goto(design.get_absolute_url())
        assert _pictures_loaded(page) == 3
        screenshot(page, f"fed-design-list-{name}")
        page.goto("/proposals/?municipality=ekaterinburg")
        page.wait_for_load_state("load")
        assert _pictures_loaded(page) == page.locator(".proposal-card").count() >= 10
        screenshot(page, f"fed-catalogue-{name}")
        context.close()

    # The vote itself with JavaScript off: <details> and the form need none.
    context = _context(browser, live, java_script_enabled=False)
    log_in(context, live, resident)
    page = context.new_page()
    page.goto(f"/campaigns/{design.pk}/ballot/")
    second = page.locator(".ballot-entry").nth(1)
    second.locator("summary").click()
    assert second.locator(".entry-more__body").is_visible()
    title = second.locator(".ballot-label strong").inner_text()
    second.locator("input[type=radio]").check()
    page.get_by_role("button", name="Проверить бюллетень").click()
    assert title in page.locator(".chosen-list").inner_text()
    page.get_by_role("button", name="Подтвердить и отправить бюллетень").click()
    page.wait_for_url(f"**/campaigns/{design.pk}/ballot/receipt/")
    context.close()
    assert Participation.objects.filter(campaign=design, voter=resident).exists()

    # The territory list of the same vote: one ballot in the whole vote, and it says where.
    territories = Campaign.objects.get(vote_group=design.vote_group, kind=Campaign.Kind.TERRITORIES)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = _context(browser, live, viewport=viewport)
        log_in(context, live, resident)
        page = context.new_page()
        response = page.goto(f"/campaigns/{territories.pk}/ballot/")
        assert response is not None
        assert response.status == 409
        assert page.get_by_role("heading", level=1).inner_text() == "Вы уже проголосовали"
        assert page.locator('[data-refusal="already_voted_in_vote"]').count() == 1
        assert design.title in page.locator("main").inner_text()
        assert page.locator("input[type=checkbox], input[type=radio]").count() == 0  # no ballot to fill in
        screenshot(page, f"fed-second-list-refused-{name}")
        page.goto(territories.get_absolute_url())
        assert "в другом его списке" in page.locator("main").inner_text()
        context.close()
    assert Participation.objects.filter(voter=resident).count() == 1
    ballot = Ballot.objects.get(campaign=design)  # the only ballot of this list
    assert [choice.entry.proposal.title for choice in ballot.choices.select_related("entry__proposal")] == [title]


class _FramingPage(BaseHTTPRequestHandler):
    """A municipal website's page that frames a URL of the portal."""

    target = ""

    def do_GET(self):
        body = (
            "<!doctype html><html lang='ru'><head><meta charset='utf-8'><title>Сайт администрации</title></head>"
            "<body style='margin:0;font-family:sans-serif'><h1 style='margin:8px'>Администрация города</h1>"
            f"<iframe src='{self.target}' title='Голосование' style='width:100%;height:1400px;border:0'></iframe>"
            "</body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve_page(target: str) -> tuple[ThreadingHTTPServer, str]:
    handler = type("Page", (_FramingPage,), {"target": target})
    with socket.socket() as probe:  # a free port of this machine
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"127.0.0.1:{port}"


def _framed(browser, live, host: str, *, viewport=DESKTOP) -> tuple[Any, Any, list[str]]:
    context = _context(browser, live, viewport=viewport, hosts=[host])
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"http://{host}/")
    page.wait_for_load_state("load")
    return context, page, console


def test_the_widget_is_framed_by_listed_websites_only_and_nothing_else_can_be(browser, live):
    seed_demo()
    ekaterinburg = Municipality.objects.get(slug="ekaterinburg")
    widget = f"{live.url}/embed/ekaterinburg/"
    listed, listed_host = _serve_page(widget)
    unlisted, unlisted_host = _serve_page(widget)
    home_framer, home_host = _serve_page(f"{live.url}/")
    try:
        EmbedOrigin.objects.create(municipality=ekaterinburg, origin=f"http://{listed_host}")
        EmbedOrigin.objects.create(municipality=ekaterinburg, origin=f"http://{home_host}")

        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context, page, _console = _framed(browser, live, listed_host, viewport=viewport)
            frame = page.frame_locator("iframe")
            assert "Екатеринбург" in frame.locator("h1").inner_text()
            assert frame.locator(".embed-list").count() == 2  # the territory list and the design list
            button = frame.get_by_role("link", name="Проголосовать на портале").first
            assert button.get_attribute("target") == "_blank"
            widget_page = context.new_page()
            widget_page.goto(widget)
            assert _pictures_loaded(widget_page) == widget_page.locator(".card__picture").count() == 11
            screenshot(widget_page, f"fed-widget-{name}")
            widget_page.close()
            with context.expect_page() as opened:
                button.click()
            assert "/accounts/login/" in opened.value.url or "/ballot/" in opened.value.url
            context.close()

        context, page, console = _framed(browser, live, unlisted_host)
        page.wait_for_timeout(500)
        assert page.frame_locator("iframe").locator(".embed__main").count() == 0
        assert not page.frames[1].url.startswith(live.url)  # Chromium's error page instead
        assert any("frame-ancestors" in line for line in console), console
        context.close()

        # A listed website may show the widget, never another page of the portal.
        context, page, console = _framed(browser, live, home_host)
        page.wait_for_timeout(500)
        assert page.frame_locator("iframe").locator(".site-header").count() == 0
        assert not page.frames[1].url.startswith(live.url)
        assert any("frame-ancestors" in line or "X-Frame-Options" in line for line in console), console
        context.close()
    finally:
        for server in (listed, unlisted, home_framer):
            server.shutdown()
            server.server_close()
