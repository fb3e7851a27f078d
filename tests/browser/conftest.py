"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

The bundled Playwright browsers are never downloaded (`playwright install` does not work
on these machines); `.ci/run` installs the `chromium` package instead. Without
/usr/bin/chromium the tests are skipped with the reason. axe-core comes from the npm
registry (`make test` runs `npm ci`, see package.json) and is injected into the pages by
the tests; without node/npm those tests are skipped with the reason.

Every test marked `browser` needs `@pytest.mark.django_db(transaction=True)`: the live
server answers from another thread, so the test's rows must be committed to be seen.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
]
AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Screenshots are for people to look at, outside the repository; never read back.
SCREENSHOT_DIR = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp/portal-browser"))  # noqa: S108
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ACTION_TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's async-safety
    # check would then refuse every ORM call the tests make. The loop never runs Django
    # code. Allowed only while the browser lives, so it never leaks into the rest of the
    # suite (a subprocess running `check --deploy` would inherit it and fail).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def live(live_server, settings):
    """The live server with Celery eager (tasks run in the request that enqueues them)
    and the locmem mail outbox, which the server thread shares with the test."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Links in e-mails (allauth's confirmation too) lead to this server.
    settings.SITE_URL = live_server.url
    from portal.celery import app

    # The Celery app read its configuration at import; eager mode is switched on it too.
    eager_before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield live_server
    app.conf.task_always_eager = eager_before


def _only_the_live_server(context, base_url: str) -> None:
    """Refuse every request that leaves the live server (map tiles, anything external):
    tests never depend on the network, and the pages must work without it."""
    allowed = urlsplit(base_url).netloc

    def handle(route):
        if urlsplit(route.request.url).netloc == allowed or route.request.url.startswith("data:"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", handle)


def new_context(browser, live, *, viewport=DESKTOP, user=None, language="ru", **options):
    """A browser context bound to the live server, logged in as `user`, in `language`
    (Russian, the portal's default, unless a test reads the English texts)."""
    locale = {"ru": "ru-RU", "en": "en-US"}[language]
    context = browser.new_context(viewport=viewport, locale=locale, base_url=live.url, **options)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    _only_the_live_server(context, live.url)
    context.add_cookies([{"name": "django_language", "value": language, "url": live.url}])
    if user is not None:
        log_in(context, live, user)
    return context


def log_in(context, live, user) -> None:
    """Log `user` in by a session cookie (the log-in form has its own journey test)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live.url}])


@pytest.fixture
def contexts(browser, live):
    """Factory of browser contexts, all closed at teardown."""
    opened = []

    def make(**kwargs):
        context = new_context(browser, live, **kwargs)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


@pytest.fixture
def page(contexts):
    return contexts().new_page()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot to SCREENSHOT_DIR (outside the repository)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (WCAG 2.1 A/AA) on the page and return the violations of `impacts`."""
    if not AXE_JS.exists():
        if shutil.which("npm") is None:
            pytest.skip("node/npm is not installed, so axe-core is missing: apt-get install nodejs npm")
        pytest.fail(f"{AXE_JS} is missing: run `make test` (or `npm ci`) at the repository root")
    # The pages' CSP (script-src 'self') refuses an injected <script> tag; evaluating the
    # source through the DevTools protocol is not subject to CSP, so the policy stays on.
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {json.dumps(node['target'], ensure_ascii=False)}: {node.get('failureSummary', '')}")
    return "\n".join(lines)


def horizontal_overflow(page) -> dict | None:
    """None when the page fits its viewport; else the widths and the widest elements."""
    return page.evaluate(
        """() => {
            const doc = document.documentElement;
            if (doc.scrollWidth <= window.innerWidth) return null;
            const wide = [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
                .slice(0, 8)
                .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                     + (typeof el.className === 'string' && el.className
                        ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
                     + ' right=' + Math.round(el.getBoundingClientRect().right));
            return {scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, wide};
        }"""
    )
