"""A task fails in a real worker: the error reaches Sentry (a local server that speaks
the envelope protocol stands in for sentry.io) without local variables or personal data,
and the worker's JSON log line carries the request id the task was enqueued with."""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_guid import clear_guid, set_guid

from tests.faults.conftest import free_port, send_tasks, wait_until

pytestmark = [pytest.mark.faults]


class _Envelopes(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":  # sentry-sdk prefers brotli when it is installed (WeasyPrint brings it)
            import brotli

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def sentry_server():
    _Envelopes.received = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Envelopes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_a_failing_task_reaches_sentry_and_logs_its_request_id(
    fault_database, private_redis, celery_worker, sentry_server
):
    port = sentry_server.server_address[1]
    worker = celery_worker(
        fault_database,
        private_redis.url,
        SENTRY_DSN=f"http://public@127.0.0.1:{port}/1",
        LOG_FORMAT="json",
    )
    request_id = str(uuid.uuid4())
    missing_campaign = 987654
    # As in a web request: django-guid's Celery signal puts the current request id into
    # the headers of every task sent.
    set_guid(request_id)
    try:
        send_tasks(private_redis.url, "votes.tasks.tally_final", [(missing_campaign,)])
    finally:
        clear_guid()

    def reported() -> list[bytes]:
        return [body for body in _Envelopes.received if b"DoesNotExist" in body]

    wait_until(reported, timeout=60, what="the error report")
    envelope = reported()[0].decode()
    items = [json.loads(line) for line in envelope.splitlines() if line.startswith("{")]
    event = next(item for item in items if "exception" in item)
    frames = [frame for value in event["exception"]["values"] for frame in value["stacktrace"]["frames"]]
    assert frames
    assert not any("vars" in frame for frame in frames)
    assert "user" not in event or not event["user"].get("ip_address")
    assert "votes.tasks.tally_final" in json.dumps(event)

    lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    failed = [line for line in lines if "raised unexpected" in line["message"]]
    assert failed
    assert failed[0]["request_id"] == request_id
    assert failed[0]["level"] == "ERROR"
