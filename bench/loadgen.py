"""The load generator: N concurrent HTTP/1.1 clients on plain asyncio streams.

Run by bench/run.py in its own process, so the portal (gunicorn) and the load do not
share an interpreter. Why not locust, httpx or aiohttp: the machine has two cores shared
by the server and the client, so every CPU cycle the client spends is taken from the
server being measured. A hand-rolled keep-alive HTTP/1.1 client on asyncio streams does
the least work per request (pre-built request bytes, no per-request object graph, no
cookie jar, no dependency to add to requirements.txt) and speaks exactly what the
benchmark needs: fixed requests, Content-Length bodies, Connection: close. (Locust's
workers would also need gevent next to the server; httpx and aiohttp are general
clients whose per-request Python cost would be billed to the server's cores.)

Modes (one JSON document on stdout):
  ballots  each client takes the next voter from the tokens file (`email,token` lines),
           POSTs one ballot with `Authorization: Token ...`, and records status and latency.
  get      each client GETs the same path repeatedly for the duration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time


class Client:
    """One persistent connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                await self._connect()
            try:
                self.writer.write(raw)
                head = await self.reader.readuntil(b"\r\n\r\n")
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                # A kept-alive connection the server had already closed: retry once on a
                # fresh one (the request was never read, so nothing was written twice).
                self.close()
                if attempt == 2:
                    raise
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        keep_alive = True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep_alive = False
        body = await self.reader.readexactly(length) if length else b""
        if not keep_alive:
            self.close()
        return status, body


def _request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _summary(statuses: dict[int, int], latencies: list[float], elapsed: float, ok: int) -> dict:
    latencies.sort()
    return {
        "elapsed_s": elapsed,
        "requests": sum(statuses.values()),
        "ok": ok,
        "ok_per_s": ok / elapsed if elapsed else 0.0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else None,
    }


async def run_ballots(args) -> dict:
    with open(args.tokens, encoding="utf-8") as handle:
        voters = [line.strip().split(",", 1) for line in handle if "," in line]
    voters = voters[args.skip :]
    body_template = args.body
    path = f"/api/v1/campaigns/{args.campaign}/ballots/"
    host = f"{args.host}:{args.port}"
    queue = iter(voters)
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    accepted: list[str] = []
    errors: list[str] = []
    deadline = time.perf_counter() + args.duration

    async def client_loop(n: int) -> None:
        client = Client(args.host, args.port)
        for i, (email, token) in enumerate(queue):
            if time.perf_counter() >= deadline:
                break
            body = body_template.replace("ENTRY", str(args.entries[(n + i) % len(args.entries)])).encode()
            raw = _request(
                "POST",
                path,
                host,
                {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"},
                body,
            )
            started = time.perf_counter()
            try:
                status, reply = await client.request(raw)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                client.close()
                statuses[0] = statuses.get(0, 0) + 1
                errors.append(f"{email}: {exc!r}")
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 201:
                accepted.append(email)
            elif len(errors) < 20:
                errors.append(f"{email}: {status} {reply[:200]!r}")
        client.close()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(n) for n in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    result = _summary(statuses, latencies, elapsed, len(accepted))
    result.update(accepted=accepted, errors=errors, voters_available=len(voters))
    return result


async def run_get(args) -> dict:
    host = f"{args.host}:{args.port}"
    raw = _request("GET", args.path, host, {"Accept": "text/html", "Accept-Encoding": "identity"})
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    ok = 0
    errors: list[str] = []

    async def client_loop(deadline: float, record: bool) -> None:
        nonlocal ok
        client = Client(args.host, args.port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                status, reply = await client.request(raw)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                client.close()
                status, reply = 0, repr(exc).encode()
            if not record:
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                ok += 1
            elif len(errors) < 5:
                errors.append(f"{status} {reply[:200]!r}")
        client.close()

    if args.warmup:
        warm_deadline = time.perf_counter() + args.warmup
        await asyncio.gather(*(client_loop(warm_deadline, False) for _ in range(args.concurrency)))
    started = time.perf_counter()
    await asyncio.gather(*(client_loop(started + args.duration, True) for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    result = _summary(statuses, latencies, elapsed, ok)
    result["errors"] = errors
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["ballots", "get"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=0.0)
    parser.add_argument("--path", default="/")
    parser.add_argument("--tokens")
    parser.add_argument("--skip", type=int, default=0, help="voters at the top of the file already used")
    parser.add_argument("--campaign", type=int)
    parser.add_argument("--entries", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument(
        "--body", default='{"choices": [{"entry": ENTRY}]}', help="JSON body; ENTRY is replaced by an entry id"
    )
    args = parser.parse_args()
    runner = run_ballots if args.mode == "ballots" else run_get
    json.dump(asyncio.run(runner(args)), sys.stdout)


if __name__ == "__main__":
    main()
