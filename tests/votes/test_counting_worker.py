"""The worker path: a real Celery worker, over Redis, counts a campaign in the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.votes.counting_fixtures import campaign, cast
from votes import tasks
from votes.models import Tally

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a Redis broker the worker shares)")
def test_a_real_worker_runs_the_final_tally() -> None:
    obj = campaign(costs={"a": 60, "b": 50, "c": 30}, budget=100)
    cast(obj, "v1", {"a": 1})
    cast(obj, "v2", {"b": 1, "c": 1})
    cast(obj, "v3", {"b": 1})
    db = connection.settings_dict
    env = {
        **os.environ,
        # The worker must use pytest-django's test database, not the development one.
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    celery = Path(sys.executable).with_name("celery")
    # A fixed argv from our own virtualenv.
    worker = subprocess.Popen(
        [str(celery), "-A", "portal", "worker", "--pool=solo", "--loglevel=WARNING", "--without-heartbeat"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        tasks.tally_final.delay(obj.pk)
        deadline = time.monotonic() + 60
        tally = None
        while time.monotonic() < deadline:
            tally = Tally.objects.filter(campaign=obj, kind="final").first()
            if tally is not None and tally.status in ("done", "failed"):
                break
            time.sleep(0.5)
        assert tally is not None, "no tally within 60 s"
        assert tally.status == "done", tally.error
        assert tally.ballots_counted == 3
        # b (2 votes, 50) first, then a (60) does not fit 50 left, c (30) does.
        assert sorted(r.entry.external_id for r in tally.rows.select_related("entry") if r.selected) == ["b", "c"]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
