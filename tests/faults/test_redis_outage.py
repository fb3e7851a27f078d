"""Redis (cache, throttles and Celery broker) stops while residents vote.

The database is the source of truth: casting keeps answering 201 with Redis down, the
live tally counts every ballot once Redis and the worker are back, and the ballots in
the database are exactly those answered 201.
"""

from __future__ import annotations

import html
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.faults.conftest import scenario, send_task, wait_until

pytestmark = [pytest.mark.faults]

VOTERS = 90


def post_ballot(base_url: str, campaign: int, token: str, entries: list[int]) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - our own local server
        f"{base_url}/api/v1/campaigns/{campaign}/ballots/",
        data=json.dumps({"choices": [{"entry": entry} for entry in entries]}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body)
        except ValueError:
            return error.code, {"raw": body.decode(errors="replace")[:2000]}


def cast_all(base_url: str, campaign: int, tokens: list[str], entries: list[int], threads: int = 6) -> list:
    answers: list = [None] * len(tokens)

    def work(offset: int) -> None:
        for i in range(offset, len(tokens), threads):
            basket = [entries[i % len(entries)], entries[(i + 1) % len(entries)]]
            answers[i] = post_ballot(base_url, campaign, tokens[i], basket)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return answers


def test_casting_survives_a_redis_outage_and_live_tally_resumes(
    fault_database, private_postgres, private_redis, portal_server, celery_worker, services
):
    env = services.env(fault_database, private_redis.url)
    data = scenario(env, "voters", str(VOTERS))
    tokens, campaign, entries = data["tokens"], data["campaign"], data["entries"]
    # Throttles on, so the cache really is on the casting path.
    web = portal_server(fault_database, private_redis.url, THROTTLE="1", THROTTLE_BALLOT_IP="100000/min")
    worker = celery_worker(fault_database, private_redis.url)

    third = VOTERS // 3
    before = cast_all(web.url, campaign, tokens[:third], entries)
    results_page = f"{web.url}/campaigns/{campaign}/results/"
    with urllib.request.urlopen(results_page, timeout=30) as response:  # noqa: S310 - our own local server
        assert response.status == 200  # rendered, and stored in the whole-page cache
    private_redis.stop()
    during = cast_all(web.url, campaign, tokens[third : 2 * third], entries)
    # The results page's cache fails open: rendered from the database with Redis down.
    with urllib.request.urlopen(results_page, timeout=30) as response:  # noqa: S310
        assert response.status == 200
        assert b"<html" in response.read()
    private_redis.start()
    after = cast_all(web.url, campaign, tokens[2 * third :], entries)

    answers = before + during + after
    statuses = [status for status, _body in answers]
    assert statuses == [201] * VOTERS, [a for a in answers if a[0] != 201][:3]

    db = fault_database.rsplit("/", 1)[1]
    stored = {
        row[0]
        for row in private_postgres.query(
            "SELECT receipt_hash FROM votes_ballot WHERE campaign_id = %s", db, [campaign]
        )
    }
    answered = [body["receipt_hash"] for _status, body in answers]
    assert len(answered) == len(set(answered)) == VOTERS
    assert stored == set(answered)  # nothing lost, nothing doubled

    # Beat's live-tally task through the restarted Redis: the worker reconnects and counts all.
    send_task(private_redis.url, "votes.tasks.live_tallies_refresh")

    def live_tally_counts_everything():
        rows = private_postgres.query(
            "SELECT status, ballots_counted FROM votes_tally WHERE campaign_id = %s AND kind = 'live'", db, [campaign]
        )
        return rows and rows[0] == ("done", VOTERS)

    try:
        wait_until(live_tally_counts_everything, timeout=90, what="the live tally after Redis came back")
    except TimeoutError:
        pytest.fail(f"live tally not done; worker log:\n{worker.output()[-4000:]}")
    votes = dict(
        private_postgres.query(
            "SELECT r.entry_id, r.votes FROM votes_tallyrow r JOIN votes_tally t ON t.id = r.tally_id "
            "WHERE t.campaign_id = %s AND t.kind = 'live'",
            db,
            [campaign],
        )
    )
    assert sum(votes.values()) == 2 * VOTERS  # two choices on every ballot


# --- Log-in, sign-up and the admin with Redis stopped -----------------------------------


class Browser:
    """A cookie-keeping HTTP client for the portal's pages.

    The portal runs with production settings (DEBUG=0), so its cookies are `Secure`;
    http.cookiejar would not send them back over plain HTTP, hence the cookies by hand.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies: dict[str, str] = {}

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, dict]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers)  # noqa: S310
        opener = urllib.request.build_opener(NoRedirect)
        try:
            response = opener.open(request, timeout=30)
            status, text, response_headers = response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            status, text, response_headers = error.code, error.read().decode(errors="replace"), error.headers
        for header in response_headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value in ("", '""'):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return status, text, dict(response_headers)

    def csrf(self, path: str) -> str:
        status, text, _headers = self.request(path)
        assert status == 200, (path, status, text[:2000])
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)

    def post_form(self, path: str, data: dict) -> tuple[int, str, dict]:
        return self.request(path, {**data, "csrfmiddlewaretoken": self.csrf(path)})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_log_in_sign_up_and_recount_keep_working_with_redis_stopped(
    fault_database, private_redis, portal_server, services
):
    from django.utils import translation
    from django.utils.translation import gettext

    from votes.admin import recount_refused_text

    env = services.env(fault_database, private_redis.url)
    data = scenario(env, "voters", "3")
    scenario(env, "superuser", "root@example.org", "root-password-2026")
    # Rate limits on, as in production: allauth's lock and the throttles call the cache.
    web = portal_server(fault_database, private_redis.url, THROTTLE="1")
    private_redis.stop()

    statuses = []
    for attempt in range(16):
        browser = Browser(web.url)
        password = "demo-voter-2026" if attempt % 2 == 0 else "a wrong password"
        status, _text, headers = browser.post_form(
            "/accounts/login/", {"login": "voter000001@demo.local", "password": password}
        )
        statuses.append(status)
        if attempt % 2 == 0:
            assert status == 302, (status, headers)
            assert headers["Location"] != "/accounts/login/", headers
    assert statuses == [302, 200] * 8

    browser = Browser(web.url)
    status, text, headers = browser.post_form(
        "/accounts/signup/",
        {
            "email": "new.resident@example.org",
            "password1": "Sekret-pass-2026",
            "password2": "Sekret-pass-2026",
            "privacy_consent": "on",
        },
    )
    assert status == 302, text[:2000]

    # The admin's "recount now" says the task was not queued, instead of "queued".
    admin = Browser(web.url)
    status, _text, _headers = admin.post_form(
        "/admin/login/?next=/admin/", {"username": "root@example.org", "password": "root-password-2026"}
    )
    assert status == 302
    changelist = "/admin/votes/campaign/"
    status, _text, _headers = admin.post_form(
        changelist, {"action": "recount_now", "_selected_action": [str(data["campaign"])], "index": "0"}
    )
    assert status == 302
    status, text, _headers = admin.request(changelist)
    assert status == 200
    with translation.override("ru"):
        refused = recount_refused_text(f"manage.py tally {data['campaign']}")
        queued = gettext("A recount was queued for %(n)d campaign.") % {"n": 1}
    assert refused in html.unescape(text)
    assert queued not in html.unescape(text)

    log = web.output()
    assert "Traceback" not in log, log[-4000:]
    # Limits fail open with one warning a minute per web process (two here), not one per request.
    warnings = log.count("rate limits are off")
    assert 1 <= warnings <= 2, log[-4000:]
