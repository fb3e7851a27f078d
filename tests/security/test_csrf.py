"""Every POST form of the site is refused without a CSRF token.

The URLs come from the URL conf (admindocs' walker), so a new form is covered as soon
as it is routed: a POST without a token must answer 403 (or 405 where the view takes
no POST). The API is the exception by design: DRF views are csrf_exempt for token
callers, and enforce CSRF themselves for session (browser) callers, tested below.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.admindocs.views import extract_views_from_urlpatterns, simplify_regex
from django.test import Client
from django.urls import get_resolver

from portal.accounts.models import User

pytestmark = pytest.mark.django_db

# Forms whose POST must be refused without a token (a test that they are in the URL conf
# keeps this list honest when a form moves).
NAMED_FORMS = [
    "/campaigns/1/ballot/",
    "/volunteer/",
    "/campaigns/1/ideas/new/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/logout/",
    "/admin/login/",
    "/admin/projects/space/add/",
    "/admin/votes/campaign/1/change/",
    "/me/",
]


def site_paths() -> list[str]:
    paths = set()
    for _view, regex, _namespace, _name in extract_views_from_urlpatterns(get_resolver().url_patterns):
        path = simplify_regex(regex)  # type: ignore[arg-type]  # a Pattern works: it is str()-ed
        if path.startswith(("/api/", "/static/", "/media/")):
            continue
        path = re.sub(r"<[^>]+>", "1", path)
        if re.search(r"[\\()\[\]*+?|^$]", path):
            continue  # a bare regex (e.g. the API's catch-all) has no sample URL
        paths.add(path)
    return sorted(paths)


# Deliberate exceptions, with the reason; each is tested for what protects it instead.
CSRF_EXEMPT = {
    # RFC 8058 one-click unsubscribe: mail clients POST without a token; the signed
    # token in the URL is the authorisation (a forged or foreign one answers 400).
    "/me/unsubscribe/1/": "signed token in the URL",
}
PATHS = [path for path in site_paths() if path not in CSRF_EXEMPT]


def test_the_named_forms_are_in_the_walk():
    assert set(NAMED_FORMS) - set(PATHS) == set()


@pytest.fixture
def browser():
    user = User.objects.create_superuser("csrf-root@example.org", "correct horse battery staple")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", PATHS)
def test_post_without_csrf_token_is_refused(browser, path):
    response = browser.post(path, {"title": "x", "text": "x", "email": "a@example.org"})
    assert response.status_code in (403, 405), (path, response.status_code)


def test_csrf_exempt_unsubscribe_refuses_a_forged_token(browser):
    user = User.objects.get(email="csrf-root@example.org")
    response = browser.post(f"/me/unsubscribe/{user.pk}/")
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.notify_by_email


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_anonymous_post_without_csrf_token_is_refused(path):
    response = Client(enforce_csrf_checks=True).post(path, {"login": "a@example.org", "password": "x"})
    assert response.status_code == 403


def test_api_with_a_session_login_needs_the_csrf_token(browser):
    body = {"choices": [{"entry": 1}]}
    response = browser.post("/api/v1/campaigns/1/ballots/", body, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
