"""Counting, sealing and mail on separate queues with separate workers: a flood of
notification e-mails never delays a final count.

Thousands of "your idea was decided" e-mails are waiting in the `mail` queue, and a mail
worker is sending them, when a campaign closes: the counting worker (queues `counting`
and `seal`) has the final tally done and the ledger sealed while thousands of e-mails
still wait.
"""

from __future__ import annotations

import pytest
import redis

from tests.faults.conftest import scenario, send_task, send_tasks, wait_until

pytestmark = [pytest.mark.faults]

MAILS = 3000
BALLOTS = 3000


def test_final_tally_is_done_while_thousands_of_mails_wait(
    fault_database, private_postgres, private_redis, celery_worker, services
):
    env = services.env(fault_database, private_redis.url)
    ideas = scenario(env, "decided_ideas", str(MAILS))["ideas"]
    campaign = scenario(env, "imported_ballots", str(BALLOTS))["campaign"]
    db = fault_database.rsplit("/", 1)[1]
    broker = redis.Redis.from_url(private_redis.url)

    send_tasks(private_redis.url, "portal.tasks.notify_idea_decided", [(idea,) for idea in ideas])
    assert broker.llen("mail") == MAILS
    mail = celery_worker(fault_database, private_redis.url, name="mail", queues="mail")
    counting = celery_worker(fault_database, private_redis.url, name="counting", queues="counting,seal")
    mail_dir = services.tmp_path / "var" / "mail"
    wait_until(lambda: mail_dir.exists() and any(mail_dir.iterdir()), timeout=60, what="the mail worker to send")

    send_task(private_redis.url, "votes.tasks.tally_final", campaign)

    def sealed():
        rows = private_postgres.query(
            "SELECT status, ballots_counted, ledger_head FROM votes_tally WHERE campaign_id = %s AND kind = 'final'",
            db,
            [campaign],
        )
        return rows and rows[0][0] == "done" and rows[0][2] != ""

    try:
        wait_until(sealed, timeout=120, interval=0.2, what="the final tally and its seal")
    except TimeoutError:
        pytest.fail(f"not sealed:\n{counting.output()[-3000:]}")
    waiting = broker.llen("mail")
    sent = len(list(mail_dir.iterdir()))
    assert waiting >= 1000, f"only {waiting} e-mails left: the flood was not waiting any more"
    assert sent > 0  # the mail worker was sending all along: the queues are separate, not stalled
    assert "notify_idea_decided[" not in counting.output()  # the counting worker took no e-mail
    assert "tally_final[" not in mail.output()
    assert "tally_final[" in counting.output()
