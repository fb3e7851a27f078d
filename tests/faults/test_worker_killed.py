"""A Celery worker is SIGKILLed in the middle of a final tally.

acks_late and reject_on_worker_lost keep the message unacknowledged, so it is
delivered again (after the broker's visibility timeout, shortened here) to the next
worker, which completes the tally; its stored result equals a clean recount's.
The tally is slow because of real data volume (tens of thousands of ballots counted
by the Method of Equal Shares), not a test hook.
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import manage, scenario, send_task, wait_until

pytestmark = [pytest.mark.faults]

BALLOTS = 12_000


def test_killed_worker_final_tally_is_completed_by_the_next_run(
    fault_database, private_postgres, private_redis, celery_worker, services
):
    # The unacked message comes back to a live worker this many seconds after delivery.
    worker_env = {"CELERY_VISIBILITY_TIMEOUT": "5"}
    env = services.env(fault_database, private_redis.url)
    campaign = scenario(env, "imported_ballots", str(BALLOTS))["campaign"]
    db = fault_database.rsplit("/", 1)[1]

    def tally_state():
        rows = private_postgres.query(
            "SELECT status, ballots_counted FROM votes_tally WHERE campaign_id = %s AND kind = 'final'", db, [campaign]
        )
        return rows[0] if rows else None

    first = celery_worker(fault_database, private_redis.url, name="first", **worker_env)
    send_task(private_redis.url, "votes.tasks.tally_final", campaign)
    wait_until(
        lambda: tally_state() is not None and tally_state()[0] == "running",
        timeout=60,
        interval=0.05,
        what="the final tally to start",
    )
    first.kill()
    assert tally_state() == ("running", 0), "the tally finished before the kill: make it slower (more ballots)"

    second = celery_worker(fault_database, private_redis.url, name="second", **worker_env)
    try:
        wait_until(
            lambda: tally_state() == ("done", BALLOTS), timeout=120, interval=0.5, what="the redelivered final tally"
        )
    except TimeoutError:
        pytest.fail(f"final tally not completed: {tally_state()}\n{second.output()[-4000:]}")
    assert "Task votes.tasks.tally_final" in second.output()  # the redelivered message, not a new one

    after_kill = scenario(env, "tally_rows", str(campaign), "final")
    second.kill()
    manage(env, "tally", str(campaign), "--final")  # a clean run, in the foreground
    clean = scenario(env, "tally_rows", str(campaign), "final")
    assert clean["status"] == after_kill["status"] == "done"
    assert after_kill["rows"] == clean["rows"]
    assert after_kill["ballots"] == clean["ballots"] == BALLOTS
    assert any(selected for *_rest, selected in clean["rows"])
