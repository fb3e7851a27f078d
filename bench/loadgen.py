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
  open     open loop: requests ARRIVE at a set rate (ramping from --rate-start to
           --rate-end over --duration), each on an idle connection or a new one, whatever
           the server's pace, with the real mix of --mix (name=weight,...; the paths
           from --paths name=path,...; "ballot" POSTs the next voter's ballot). Each
           request carries `X-Request-Start: t=<arrival time>`, as the front would set
           it, and is given up after --timeout s. Reported per --phases slices of the
           run: offered and admitted rates, 503s (shed), p50/p99 of admitted requests
           (and of ballots alone), errors by kind; plus the voters answered 201.
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
        keep_alive, chunked = True, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and value.strip().lower() == b"close":
                keep_alive = False
        if chunked:  # a reply without a length on a kept-alive connection
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")  # the empty trailer
        else:
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


async def run_open(args) -> dict:
    host = f"{args.host}:{args.port}"
    paths = dict(item.split("=", 1) for item in args.paths.split(",")) if args.paths else {}
    mix = [(name, float(weight)) for name, weight in (item.split("=") for item in args.mix.split(","))]
    total = sum(weight for _n, weight in mix)
    voters: list[list[str]] = []
    if args.tokens:
        with open(args.tokens, encoding="utf-8") as handle:
            voters = [line.strip().split(",", 1) for line in handle if "," in line][args.skip :]
    next_voter = iter(voters)
    static_raw = {
        name: _request("GET", path, host, {"Accept": "text/html", "Accept-Encoding": "identity"})
        for name, path in paths.items()
    }
    idle: list[Client] = []
    phases = [
        {"statuses": {}, "errors": {}, "lat": [], "ballot_lat": [], "offered": 0, "admitted": 0, "shed": 0}
        for _ in range(args.phases)
    ]
    accepted: list[str] = []
    samples: list[str] = []
    in_flight = 0
    peak_in_flight = 0

    def raw_for(name: str) -> tuple[bytes, str | None]:
        if name != "ballot":
            return static_raw[name], None
        email, token = next(next_voter)
        body = args.body.replace("ENTRY", str(args.entries[len(accepted) % len(args.entries)])).encode()
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"}
        return _request("POST", f"/api/v1/campaigns/{args.campaign}/ballots/", host, headers, body), email

    async def one(phase: dict, name: str, arrived: float, wall: float) -> None:
        nonlocal in_flight, peak_in_flight
        try:
            raw, email = raw_for(name)
        except StopIteration:
            phase["errors"]["client: out of voters"] = phase["errors"].get("client: out of voters", 0) + 1
            return
        raw = raw.replace(b"\r\n\r\n", f"\r\nX-Request-Start: t={wall:.6f}\r\n\r\n".encode(), 1)
        client = idle.pop() if idle else Client(args.host, args.port)
        in_flight += 1
        peak_in_flight = max(peak_in_flight, in_flight)
        kind = None
        try:
            status, reply = await asyncio.wait_for(client.request(raw), args.timeout)
        except TimeoutError:
            kind, status = "timeout", 0
        except (OSError, asyncio.IncompleteReadError) as exc:
            kind, status = f"connection: {type(exc).__name__}", 0
        except Exception as exc:  # a reply that is not HTTP: counted, never a silent loss
            kind, status = f"reply: {type(exc).__name__}", 0
        finally:
            in_flight -= 1
        if kind is not None:
            client.close()
            phase["errors"][kind] = phase["errors"].get(kind, 0) + 1
            return
        idle.append(client)
        elapsed_ms = (time.perf_counter() - arrived) * 1000
        key = f"{name} {status}"
        phase["statuses"][key] = phase["statuses"].get(key, 0) + 1
        if status == 503:
            phase["shed"] += 1
            return
        phase["admitted"] += 1
        phase["lat"].append(elapsed_ms)
        if name == "ballot":
            phase["ballot_lat"].append(elapsed_ms)
            if status == 201:
                accepted.append(email or "")
        expected = {"ballot": (201,), "ballot_page": (200, 302)}.get(name, (200,))
        if status not in expected:
            label = f"{status} on {name}"
            phase["errors"][label] = phase["errors"].get(label, 0) + 1
            if len(samples) < 10:
                samples.append(f"{label}: {reply[:160]!r}")

    tasks: set[asyncio.Task] = set()
    phase_of: dict[asyncio.Task, dict] = {}
    # --warmup s at the starting rate first, answered and checked but not in the figures:
    # the client's connections are opened then, as a steady state has them.
    warm = {"statuses": {}, "errors": {}, "lat": [], "ballot_lat": [], "offered": 0, "admitted": 0, "shed": 0}
    started = time.perf_counter()
    slice_s = args.duration / args.phases
    sent = 0
    choice_at = 0.0
    while True:
        now = time.perf_counter() - started
        if now >= args.warmup + args.duration:
            break
        t = now - args.warmup
        if t < 0:
            due = int(args.rate_start * now)
        else:
            # Arrivals due by now at the (linearly ramping) rate: the integral of the rate.
            rate_now = args.rate_start + (args.rate_end - args.rate_start) * t / args.duration
            due = int(args.rate_start * args.warmup) + int(args.rate_start * t + (rate_now - args.rate_start) * t / 2)
        while sent < due:
            sent += 1
            phase = warm if t < 0 else phases[min(args.phases - 1, int(t / slice_s))]
            phase["offered"] += 1
            choice_at = (choice_at + 0.6180339887) % 1.0  # a low-discrepancy walk through the mix
            pick, acc = mix[-1][0], 0.0
            for name, weight in mix:
                acc += weight / total
                if choice_at < acc:
                    pick = name
                    break
            task = asyncio.ensure_future(one(phase, pick, time.perf_counter(), time.time()))
            tasks.add(task)
            phase_of[task] = phase
            task.add_done_callback(tasks.discard)
        await asyncio.sleep(0.002)
    if tasks:
        await asyncio.wait(tasks, timeout=args.timeout + 5)
    # A request neither answered nor timed out by now (the load generator itself fell
    # behind) is counted, never dropped from the report.
    for task in list(tasks):
        task.cancel()
        errors = phase_of[task]["errors"]
        errors["unanswered at the end"] = errors.get("unanswered at the end", 0) + 1
    for client in idle:
        client.close()
    # Nothing of the warm-up is hidden but its latencies: its failures and 503s count.
    for kind, count in warm["errors"].items():
        phases[0]["errors"][f"warm-up: {kind}"] = count
    if warm["shed"]:
        phases[0]["errors"]["warm-up: 503"] = warm["shed"]
    report = []
    for i, phase in enumerate(phases):
        lat, ballot_lat = sorted(phase["lat"]), sorted(phase["ballot_lat"])
        t0, t1 = i * slice_s, (i + 1) * slice_s
        rate = args.rate_start + (args.rate_end - args.rate_start) * (t0 + t1) / 2 / args.duration
        report.append(
            {
                "from_s": round(t0, 1),
                "offered_per_s": round(rate, 1),
                "offered": phase["offered"],
                "admitted_per_s": phase["admitted"] / slice_s,
                "shed_per_s": phase["shed"] / slice_s,
                "p50_ms": _percentile(lat, 0.5),
                "p99_ms": _percentile(lat, 0.99),
                "ballots_admitted": len(ballot_lat),
                "ballot_p50_ms": _percentile(ballot_lat, 0.5),
                "ballot_p99_ms": _percentile(ballot_lat, 0.99),
                "errors": phase["errors"],
                "statuses": phase["statuses"],
            }
        )
    return {
        "phases": report,
        "accepted": accepted,
        "samples": samples,
        "peak_in_flight": peak_in_flight,
        "voters_used": len(voters) - sum(1 for _ in next_voter),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["ballots", "get", "open"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=0.0, help="seconds not timed first (open: at --rate-start)")
    parser.add_argument("--path", default="/")
    parser.add_argument("--tokens")
    parser.add_argument("--skip", type=int, default=0, help="voters at the top of the file already used")
    parser.add_argument("--campaign", type=int)
    parser.add_argument("--entries", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument(
        "--body", default='{"choices": [{"entry": ENTRY}]}', help="JSON body; ENTRY is replaced by an entry id"
    )
    parser.add_argument("--rate-start", type=float, default=0.0, help="open: arrivals/s at the start")
    parser.add_argument("--rate-end", type=float, default=100.0, help="open: arrivals/s at the end")
    parser.add_argument("--phases", type=int, default=1, help="open: slices of the run reported apart")
    parser.add_argument("--mix", default="ballot=1", help="open: name=weight,...")
    parser.add_argument("--paths", default="", help="open: name=path,... for the GETs of the mix")
    parser.add_argument("--timeout", type=float, default=10.0, help="open: a request not answered by then is lost")
    args = parser.parse_args()
    runner = {"ballots": run_ballots, "get": run_get, "open": run_open}[args.mode]
    json.dump(asyncio.run(runner(args)), sys.stdout)


if __name__ == "__main__":
    main()
