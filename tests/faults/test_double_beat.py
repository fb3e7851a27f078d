"""Beat runs twice by mistake: each campaign is opened and closed once, its final
tally is enqueued once and equals a clean recount, and residents get one e-mail."""

from __future__ import annotations

import datetime
import re
import threading
from collections import Counter
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from tests.builders import make_campaign, make_entry, make_municipality
from tests.faults.conftest import manage, scenario, wait_until
from votes import services
from votes.models import Campaign

pytestmark = [pytest.mark.faults]

RESIDENTS = 12


def test_two_beat_processes_open_close_and_tally_each_campaign_once(
    fault_database, private_postgres, private_redis, celery_worker, celery_beat, services
):
    fast_clock = {"CAMPAIGN_CLOCK_INTERVAL": "1", "LIVE_TALLY_INTERVAL": "3600"}
    env = services.env(fault_database, private_redis.url, **fast_clock)
    data = scenario(env, "clock_campaigns", str(RESIDENTS))
    opening, closing = data["opening"], data["closing"]
    db = fault_database.rsplit("/", 1)[1]
    workers = [celery_worker(fault_database, private_redis.url, name=f"w{n}", **fast_clock) for n in range(2)]
    beats = [celery_beat(fault_database, private_redis.url, **fast_clock) for _ in range(2)]

    def state():
        return private_postgres.query(
            "SELECT c.id, c.opened_at, c.closed_at, t.status FROM votes_campaign c "
            "LEFT JOIN votes_tally t ON t.campaign_id = c.id AND t.kind = 'final' ORDER BY c.id",
            db,
        )

    def settled():
        rows = {row[0]: row for row in state()}
        return rows[opening][1] is not None and rows[closing][2] is not None and rows[closing][3] == "done"

    try:
        wait_until(settled, timeout=60, interval=0.5, what="the clock to open, close and tally")
    except TimeoutError:
        pytest.fail(f"{state()}\n{beats[0].output()[-2000:]}\n{workers[0].output()[-3000:]}")
    first = state()
    mail_dir = services.tmp_path / "var" / "mail"
    # Both beats keep ticking for a while: nothing may change any more.
    wait_until(
        lambda: sum(w.output().count("votes.tasks.campaigns_clock[") for w in workers) >= 10,
        timeout=30,
        what="ten more clock ticks",
    )
    wait_until(
        lambda: (
            sum(w.output().count("notify_campaign_opened[") for w in workers) >= 1
            and mail_dir.exists()
            and any(mail_dir.iterdir())
        ),
        timeout=30,
        what="the opening e-mails",
    )
    for service in beats + workers:
        service.kill()
    assert state() == first  # opened_at / closed_at stamped once, never re-stamped

    logs = "".join(w.output() for w in workers)
    assert len(re.findall(r"Task votes\.tasks\.tally_final\[[^\]]+\] received", logs)) == 1
    assert len(re.findall(r"Task portal\.tasks\.notify_campaign_opened\[[^\]]+\] received", logs)) == 1
    recipients: Counter[str] = Counter()
    for path in mail_dir.iterdir():
        recipients.update(re.findall(r"^To: (\S+)$", path.read_text(errors="replace"), flags=re.M))
    assert len(recipients) == RESIDENTS
    assert set(recipients.values()) == {1}

    after_beats = scenario(env, "tally_rows", str(closing), "final")
    manage(env, "tally", str(closing), "--final")
    assert scenario(env, "tally_rows", str(closing), "final") == after_beats
    assert after_beats["ballots"] == RESIDENTS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_clock_ticks_open_and_close_once():
    """Two `campaigns_clock` runs at once against one database (two beats, two workers)."""
    town = make_municipality()
    now = timezone.now()
    due_open = [make_campaign(town, voting_opens_at=now - datetime.timedelta(minutes=1)) for _ in range(5)]
    due_close = [
        make_campaign(
            town, voting_opens_at=now - datetime.timedelta(days=2), voting_closes_at=now - datetime.timedelta(minutes=1)
        )
        for _ in range(5)
    ]
    for campaign in due_open + due_close:
        make_entry(campaign)
    barrier = threading.Barrier(2)
    results: list = []

    def tick():
        try:
            barrier.wait(timeout=10)
            results.append(services.campaigns_clock_tick())
        finally:
            connection.close()

    with (
        mock.patch("votes.tasks.tally_final.delay") as tally_final,
        mock.patch("votes.tasks.notify_campaign_opened.delay") as notify_opened,
    ):
        threads = [threading.Thread(target=tick) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    opened = sorted(pk for run in results for pk in run[0])
    closed = sorted(pk for run in results for pk in run[1])
    assert opened == sorted(c.pk for c in due_open)
    assert closed == sorted(c.pk for c in due_close)
    assert sorted(call.args[0] for call in tally_final.call_args_list) == closed
    assert sorted(call.args[0] for call in notify_opened.call_args_list) == opened
    assert Campaign.objects.filter(pk__in=closed, closed_at__isnull=True).count() == 0
