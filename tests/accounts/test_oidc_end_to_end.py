"""The identity provider path against a real OpenID Connect provider: node's oidc-provider
(tests/accounts/oidc/provider.mjs) on 127.0.0.1, the portal on pytest-django's live server,
configured from the same environment variables as production (portal.settings.oidc_providers).
A resident follows the log-in page's provider link through the authorization-code flow
(the provider's log-in and consent pages, submitted with `requests`) back to the portal,
and comes out with an account at level "provider" whose birth date and municipality are
the provider's claims and cannot be changed on /me/.

Skipped, with the reason, without node or node_modules/oidc-provider (`npm ci`)."""

from __future__ import annotations

import datetime
import html
import json
import os
import queue
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connections

from portal.accounts.models import Assurance, User
from portal.accounts.services import user_profile_update
from tests.builders import make_municipality

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_JS = Path(__file__).resolve().parent / "oidc" / "provider.mjs"
CLIENT_ID, CLIENT_SECRET, PROVIDER_ID = "portal-e2e", "e2e-client-secret", "regional-id"
OKTMO = "65701000"
CLAIMS: dict[str, Any] = {
    "sub": "resident-0001",
    "email": "olga@example.org",
    "email_verified": True,
    "name": "Ольга Петрова",
    "birthdate": "1990-03-15",
    "oktmo": OKTMO,
    # The locality names the other town: the OKTMO code is what decides (identity.py).
    "address": {"locality": "Нижний Тагил", "country": "RU"},
}
STARTUP_SECONDS = 20
TIMEOUT = 10  # every HTTP request the test makes

pytestmark = [pytest.mark.django_db(transaction=True)]


def _provider_unavailable() -> str | None:
    if shutil.which("node") is None:
        return "node is missing (apt-get install nodejs)"
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        return "node_modules/oidc-provider is missing: run `npm ci`"
    return None


@pytest.fixture
def oidc_issuer(live_server):
    """A running oidc-provider whose one client redirects to the live server's callback;
    its issuer URL. The node process is stopped after the test, whatever happened."""
    reason = _provider_unavailable()
    if reason:
        pytest.skip(reason)
    env = {
        **os.environ,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URI": f"{live_server.url}/accounts/oidc/{PROVIDER_ID}/login/callback/",
        "OIDC_ACCOUNT": json.dumps(CLAIMS),
    }
    process = subprocess.Popen(
        ["node", str(PROVIDER_JS)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    errors: list[str] = []

    # Both pipes are drained in threads: a full pipe would block the provider.
    def drain(pipe: Any, into: Any) -> None:
        for line in pipe:
            into(line)

    threading.Thread(target=drain, args=(process.stdout, lines.put), daemon=True).start()
    threading.Thread(target=drain, args=(process.stderr, errors.append), daemon=True).start()
    try:
        try:
            issuer = json.loads(lines.get(timeout=STARTUP_SECONDS))["issuer"]
        except queue.Empty:
            pytest.fail(f"oidc-provider did not start in {STARTUP_SECONDS}s: {''.join(errors)}")
        yield issuer
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert not [line for line in errors if "server_error" in line], "".join(errors)


@pytest.fixture
def portal_with_provider(live_server, oidc_issuer, settings, monkeypatch):
    """The live server with the provider configured as production would be: by env."""
    from portal.settings import oidc_providers

    monkeypatch.setenv("OIDC_SERVER_URL", oidc_issuer)
    monkeypatch.setenv("OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("OIDC_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("OIDC_PROVIDER_ID", PROVIDER_ID)
    monkeypatch.setenv("OIDC_PROVIDER_NAME", "Госуслуги региона")
    settings.SOCIALACCOUNT_PROVIDERS = oidc_providers()
    # The session keeps its HTTP connection alive, so the live server answers it from one
    # thread whose database connection (CONN_MAX_AGE) would outlive the test and block
    # dropping the test database: close it after every request there.
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)
    cache.clear()  # allauth's rate limits, and the provider's discovery document
    yield live_server
    cache.clear()


def _form(page: str, *, containing: str = "") -> tuple[str, dict[str, str]]:
    """The first form whose markup has `containing`: its action ("" posts to the page
    itself) and the inputs that carry a value."""
    for match in re.finditer(r"(<form\b[^>]*>).*?</form>", page, re.S):
        if containing not in match.group(0):
            continue
        found = re.search(r'action="([^"]*)"', match.group(1))
        fields = re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', match.group(0))
        return html.unescape(found.group(1)) if found else "", {
            html.unescape(name): html.unescape(value) for name, value in fields
        }
    raise AssertionError(f"no form with {containing!r}:\n{page[:3000]}")


def _log_in_with_provider(session, portal_url: str):
    """The resident's way: the log-in page's provider link, allauth's confirmation, the
    provider's log-in and consent pages, back to the portal. The last response."""
    login_page = session.get(f"{portal_url}/accounts/login/", timeout=TIMEOUT)
    link = re.search(rf'href="([^"]*/accounts/oidc/{PROVIDER_ID}/login/[^"]*)"', login_page.text)
    assert link, "the log-in page offers no provider link"
    # allauth asks to confirm with a POST (a GET alone never leaves the site).
    confirm = session.get(urljoin(portal_url, html.unescape(link.group(1))), timeout=TIMEOUT)
    action, fields = _form(confirm.text, containing="csrfmiddlewaretoken")
    response = session.post(
        urljoin(confirm.url, action), data=fields, headers={"Referer": confirm.url}, timeout=TIMEOUT
    )
    # The provider's development pages: whatever login, then consent to the scopes asked.
    for _step in range(4):
        if "/interaction/" not in response.url:
            break
        action, fields = _form(response.text, containing="prompt")
        if fields.get("prompt") == "login":
            fields.update(login=str(CLAIMS["sub"]), password="any")
        response = session.post(urljoin(response.url, action), data=fields, timeout=TIMEOUT)
    return response


@pytest.mark.postgres
def test_resident_logs_in_through_the_provider_and_its_claims_stand(portal_with_provider):
    import requests

    town = make_municipality(name="Екатеринбург", oktmo=OKTMO)
    other_town = make_municipality(region=town.region, name="Нижний Тагил", oktmo="65751000")
    portal_url = portal_with_provider.url

    with requests.Session() as session:
        landed = _log_in_with_provider(session, portal_url)
        assert landed.status_code == 200, landed.text[:2000]
        assert landed.url.startswith(portal_url), landed.url
        assert "/accounts/oidc/" not in landed.url, landed.text[:2000]

        user = User.objects.get(email=CLAIMS["email"])
        assert user.assurance_level == Assurance.PROVIDER
        assert (user.identity_provider, user.identity_subject) == (PROVIDER_ID, CLAIMS["sub"])
        assert user.birth_date == datetime.date(1990, 3, 15)
        assert user.municipality == town
        assert user.full_name == CLAIMS["name"]
        assert user.emailaddress_set.get().verified
        assert User.objects.with_assurance().get(pk=user.pk).assurance == Assurance.PROVIDER

        # Logged in: /me/ is the resident's, the eligibility fields shown and locked.
        me = session.get(f"{portal_url}/me/", timeout=TIMEOUT)
        assert me.url == f"{portal_url}/me/"
        assert "Получено от сервиса идентификации; здесь изменить нельзя." in me.text
        assert re.search(r'<input[^>]*name="birth_date"[^>]*disabled', me.text)
        # A forged form with other values changes nothing the provider gave.
        _action, fields = _form(me.text, containing='name="birth_date"')
        session.post(
            f"{portal_url}/me/",
            data={
                "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],
                "full_name": CLAIMS["name"],
                "birth_date": "2000-01-01",
                "municipality": str(other_town.pk),
                "phone": "",
            },
            headers={"Referer": f"{portal_url}/me/"},
            timeout=TIMEOUT,
        )
        user.refresh_from_db()
        assert (user.birth_date, user.municipality) == (datetime.date(1990, 3, 15), town)
        # What the form stands on: the service refuses, saying why.
        with pytest.raises(ValidationError) as refused:
            user_profile_update(
                user=user, full_name=user.full_name, birth_date=datetime.date(2000, 1, 1), municipality=town
            )
        assert refused.value.error_dict["birth_date"][0].code == "verified_by_provider"
        with pytest.raises(ValidationError) as refused:
            user_profile_update(
                user=user, full_name=user.full_name, birth_date=user.birth_date, municipality=other_town
            )
        assert refused.value.error_dict["municipality"][0].code == "verified_by_provider"

        # Logging in again (the provider remembers the session and the consent) is the
        # same account, refreshed from the claims (pre_social_login), not a second one.
        logout = session.get(f"{portal_url}/accounts/logout/", timeout=TIMEOUT)
        _action, fields = _form(logout.text, containing="csrfmiddlewaretoken")
        session.post(logout.url, data=fields, headers={"Referer": logout.url}, timeout=TIMEOUT)
        User.objects.filter(pk=user.pk).update(birth_date=datetime.date(1991, 1, 1))
        again = _log_in_with_provider(session, portal_url)
        assert again.status_code == 200, again.text[:2000]
        assert again.url.startswith(portal_url), again.url
        assert User.objects.filter(email=CLAIMS["email"]).count() == 1
        user.refresh_from_db()
        assert user.birth_date == datetime.date(1990, 3, 15)
