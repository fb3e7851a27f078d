"""Redis (cache, throttles and Celery broker) stops while residents vote.

The database is the source of truth: casting keeps answering 201 with Redis down, the
live tally counts every ballot once Redis and the worker are back, and the ballots in
the database are exactly those answered 201.
"""

from __future__ import annotations

import json
import threading
import urllib.error
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
