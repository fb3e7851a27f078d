"""`make bench`: the portal against the bare limits of the same machine, in one run.

Every figure is a ratio against a baseline measured in the same run, because absolute
times drift on a shared two-core machine. Steps (progress lines go to stdout):

1. A fresh database (portal_bench): migrate, collectstatic, `seed_demo --voters N --tokens FILE`.
2. gunicorn serves the portal (gunicorn.conf.py: GUNICORN_WORKERS, default one per core,
   GUNICORN_THREADS, default 4) with DEBUG=0, THROTTLE=0; the load comes from bench/loadgen.py in its
   own process.
3. Ballots: bench/pg_baseline.py (32 bare psycopg connections) writes the same rows, then
   32 HTTP clients cast ballots through POST /api/v1/campaigns/{id}/ballots/. Afterwards
   every voter's rows are counted and compared with the 201 answers.
4. Results page vs a static file (whitenoise) through the same gunicorn.
5. Final tallies of 1 M and 5 M generated choose-1 ballots (database portal_bench_tally,
   kept between runs) with votes.services.tally_compute in a child process, against the
   bare GROUP BY; the child's peak RSS from wait4(). Then votes.services.ledger_seal in
   another child against a bare SELECT of the receipt hashes in ledger order.
6. Method of Equal Shares vs pabutools: bench/bench_mes.py (branch `rules`).

Writes bench/results/latest.json. Environment knobs: BENCH_VOTERS, BENCH_DURATION,
BENCH_CLIENTS, BENCH_TALLY_SIZES (e.g. "1000000,5000000"), BENCH_SKIP (comma list of
ballots,results,tally,mes), BENCH_TALLY_REPEAT (tally runs per child, best reported),
GUNICORN_WORKERS, GUNICORN_THREADS.
"""

from __future__ import annotations

import json
import os
import resource
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
VAR = ROOT / "var" / "bench"
RESULTS = BENCH / "results"
PY = sys.executable
sys.path.insert(0, str(BENCH))

from tallydata import ballots_generate, campaign_ballots  # noqa: E402

DB = os.environ.get("BENCH_DB", "portal_bench")
TALLY_DB = f"{DB}_tally"
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
PORT = int(os.environ.get("BENCH_PORT", "8107"))
# Each voter casts one ballot: the closed loop (up to ~5,000 in 10 s), the ramp (~3,600),
# the fixed rates (4,500) and the microbench (900, the last of the file) need ~14,000.
VOTERS = int(os.environ.get("BENCH_VOTERS", "24000"))
BASELINE_VOTERS = int(os.environ.get("BENCH_BASELINE_VOTERS", "60000"))
DURATION = float(os.environ.get("BENCH_DURATION", "10"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
TALLY_SIZES = [int(x) for x in os.environ.get("BENCH_TALLY_SIZES", "1000000,5000000").split(",")]
TALLY_REPEAT = int(os.environ.get("BENCH_TALLY_REPEAT", "3"))
RAMP_S = float(os.environ.get("BENCH_RAMP_S", "120"))
RAMP_PEAK = float(os.environ.get("BENCH_RAMP_PEAK", "600"))  # arrivals/s at the end of the ramp
RAMP_PHASES = int(os.environ.get("BENCH_RAMP_PHASES", "8"))
FIXED_S = float(os.environ.get("BENCH_FIXED_S", "15"))
FIXED_WARMUP_S = float(os.environ.get("BENCH_FIXED_WARMUP_S", "3"))
SETTLE_S = float(os.environ.get("BENCH_SETTLE_S", "5"))
SHED_MAX_QUEUE_MS = os.environ.get("BENCH_SHED_MAX_QUEUE_MS", "250")
# The opening-day mix, mostly reads (weights): pages of an anonymous visitor, static
# files, and the API ballot. The ballot page is seen logged out (its redirect to log-in).
MIX = "home=20,catalogue=15,campaign=20,ballot_page=10,results=15,static=10,ballot=10"
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))

STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.1f}s] {message}", flush=True)


def portal_env(db: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=f"{PG}/{db}",
        REDIS_URL=REDIS_URL,
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1",
        THROTTLE="0",
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="0",
        FAST_PASSWORD_HASHER="1",  # noqa: S106 - thousands of seeded voters; they authenticate by token
        LOG_LEVEL="WARNING",
        VAR_DIR=str(VAR / "portal-var"),
        GUNICORN_BIND=f"127.0.0.1:{PORT}",
        # Shedding (portal/shedding.py): the load generator stamps X-Request-Start as a
        # front would; the closed-loop phases send none and are never shed.
        SHED_MAX_QUEUE_MS=SHED_MAX_QUEUE_MS,
    )
    return env


def manage(db: str, *args: str) -> str:
    done = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=portal_env(db), capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def django_json(db: str, code: str) -> dict:
    """Run `code` (which sets `result`) in a child with Django set up; return `result`."""
    script = f"import django, json\ndjango.setup()\n{code}\nprint('JSON:' + json.dumps(result))\n"
    done = subprocess.run([PY, "-c", script], cwd=ROOT, env=portal_env(db), capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"child failed:\n{code}\n{done.stdout}\n{done.stderr}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("JSON:"))
    return json.loads(line[5:])


def connect(db: str) -> psycopg.Connection:
    return psycopg.connect(f"{PG}/{db}", autocommit=True)


def database_recreate(db: str) -> None:
    with connect("postgres") as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (db,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
        conn.execute(f'CREATE DATABASE "{db}"')


def database_ensure(db: str) -> None:
    with connect("postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
            conn.execute(f'CREATE DATABASE "{db}"')


# --------------------------------------------------------------------------- gunicorn


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return children


def cpu_snapshot(gunicorn_pid: int) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the gunicorn workers and of the PostgreSQL backends of DB."""
    with connect("postgres") as conn:
        backends = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (DB,))]
    return {
        "django": {pid: _cpu_of(pid) for pid in _children_of(gunicorn_pid)},
        "postgres": {pid: _cpu_of(pid) for pid in backends},
    }


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    return {kind: sum(seconds - before[kind].get(pid, 0.0) for pid, seconds in after[kind].items()) for kind in after}


class Gunicorn:
    def __init__(self) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        self.log_path = VAR / "gunicorn.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [PY, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "portal.wsgi:application"],
            cwd=ROOT,
            env=portal_env(DB),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"gunicorn exited:\n{self.log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.2)
        sys.exit("gunicorn did not start in 30 s")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the master stops its own workers
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def loadgen(*args: str) -> dict:
    done = subprocess.run(
        [PY, str(BENCH / "loadgen.py"), *args, "--port", str(PORT), "--concurrency", str(CLIENTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"loadgen failed:\n{done.stderr}")
    return json.loads(done.stdout)


def http_get(path: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2]


# --------------------------------------------------------------------------- phases


def prepare_portal() -> dict:
    log(f"database {DB}: recreate, migrate, collectstatic")
    database_recreate(DB)
    manage(DB, "migrate", "--no-input", "-v", "0")
    manage(DB, "collectstatic", "--no-input", "-v", "0")
    VAR.mkdir(parents=True, exist_ok=True)
    tokens = VAR / "tokens.csv"
    log(f"seed_demo --voters {VOTERS} --tokens {tokens.relative_to(ROOT)}")
    began = time.perf_counter()
    manage(DB, "seed_demo", "--allow-production", "--voters", str(VOTERS), "--tokens", str(tokens))
    log(f"seeded in {time.perf_counter() - began:.1f} s")
    info = django_json(
        DB,
        """
from votes.models import Campaign
open_c = Campaign.objects.open().filter(municipality__slug='ekaterinburg').order_by('pk').first()  # demo voters' own
closed_c = Campaign.objects.closed().filter(method='choose-1').order_by('pk').first()
result = {
    'campaign': open_c.pk, 'entries': list(open_c.entries.values_list('pk', flat=True)),
    'municipality': open_c.municipality_id,
    'closed_campaign': closed_c.pk,
}
""",
    )
    info["tokens"] = str(tokens)
    # Baseline voters: copies of one seeded voter made in SQL (unique columns replaced),
    # so that the bare-SQL baseline has as many fresh voters as it can use.
    with connect(DB) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts_user' "
                "AND column_name NOT IN ('id', 'email', 'phone', 'phone_verified_at') ORDER BY ordinal_position"
            )
        ]
        template = conn.execute(
            "SELECT id FROM accounts_user WHERE municipality_id = %s AND verified_at IS NOT NULL ORDER BY id LIMIT 1",
            (info["municipality"],),
        ).fetchone()[0]
        cols = ", ".join(columns)
        ids = conn.execute(
            f"INSERT INTO accounts_user (email, phone, {cols}) "
            f"SELECT 'bench-baseline-' || g || '@example.invalid', NULL, {cols} "
            "FROM accounts_user, generate_series(1, %s) AS g WHERE id = %s RETURNING id",
            (BASELINE_VOTERS, template),
        ).fetchall()
    baseline_voters = VAR / "baseline_voters.txt"
    baseline_voters.write_text("\n".join(str(row[0]) for row in ids))
    info["baseline_voters"] = str(baseline_voters)
    log(f"open campaign {info['campaign']} with {len(info['entries'])} entries; {len(ids)} baseline voters")
    return info


def bench_ballots(info: dict, gunicorn_pid: int) -> dict:
    entries = ",".join(map(str, info["entries"]))
    log(f"ballots, baseline: {CLIENTS} bare psycopg connections for {DURATION:.0f} s")
    done = subprocess.run(
        [
            PY,
            str(BENCH / "pg_baseline.py"),
            "--dsn",
            f"{PG}/{DB}",
            "--campaign",
            str(info["campaign"]),
            "--entries",
            entries,
            "--voters",
            info["baseline_voters"],
            "--concurrency",
            str(CLIENTS),
            "--duration",
            str(DURATION),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"pg_baseline failed:\n{done.stderr}")
    baseline = json.loads(done.stdout)
    log(f"  {baseline['ok_per_s']:.0f} ballots/s, p50 {baseline['p50_ms']:.1f} ms, p99 {baseline['p99_ms']:.1f} ms")

    log(f"ballots, portal: {CLIENTS} HTTP clients for {DURATION:.0f} s")
    # Where the CPU goes: gunicorn workers, their PostgreSQL backends, the load generator
    # (the only child that ends inside the window, so RUSAGE_CHILDREN's delta is its own).
    cpu_before = cpu_snapshot(gunicorn_pid)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    api = loadgen(
        "ballots",
        "--tokens",
        info["tokens"],
        "--campaign",
        str(info["campaign"]),
        "--entries",
        entries,
        "--duration",
        str(DURATION),
    )
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu_used(cpu_before, cpu_snapshot(gunicorn_pid))
    cpu["loadgen"] = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    answered = max(1, sum(api["statuses"].values()))
    api["cpu_ms_per_request"] = {kind: 1000 * seconds / answered for kind, seconds in cpu.items()}
    log(
        f"  {api['ok_per_s']:.0f} ballots/s, p50 {api['p50_ms']:.1f} ms, p99 {api['p99_ms']:.1f} ms, "
        f"statuses {api['statuses']}; CPU per request: "
        + ", ".join(f"{kind} {ms:.2f} ms" for kind, ms in api["cpu_ms_per_request"].items())
    )
    if api["errors"]:
        log(f"  first errors: {api['errors'][:3]}")
    if api["requests"] >= api["voters_available"]:
        log("  WARNING: the clients ran out of voters; raise BENCH_VOTERS")

    return {"baseline": baseline, "api": api}


def integrity_check(info: dict, accepted: set[str], ignore: set[str]) -> tuple[bool, str]:
    """After every ballot phase: each 201 stored exactly once, nothing stored without one."""
    # Integrity: every 201 left exactly one participation in the register, and the box
    # holds exactly as many ballots as the register has participations, each with its one
    # choice (register and box share no column, so they are counted apart); nothing else.
    with connect(DB) as conn:
        rows = conn.execute(
            """
            SELECT u.email, count(*)
            FROM accounts_user u
            JOIN votes_participation p ON p.voter_id = u.id AND p.campaign_id = %s AND p.channel = 'api'
            WHERE u.email NOT LIKE 'bench-baseline-%%'
            GROUP BY u.email
            """,
            (info["campaign"],),
        ).fetchall()
        ((participations, ballots, not_one_choice),) = conn.execute(
            """
            SELECT (SELECT count(*) FROM votes_participation WHERE campaign_id = %(c)s),
                   (SELECT count(*) FROM votes_ballot WHERE campaign_id = %(c)s),
                   (SELECT count(*) FROM (
                        SELECT b.id FROM votes_ballot b LEFT JOIN votes_ballotchoice c ON c.ballot_id = b.id
                        WHERE b.campaign_id = %(c)s GROUP BY b.id HAVING count(c.id) <> 1) odd)
            """,
            {"c": info["campaign"]},
        ).fetchall()
    # The microbench's voters were answered in-process, not by the HTTP clients.
    stored = {email: count for email, count in rows if email not in ignore}
    missing = sorted(accepted - stored.keys())
    extra = sorted(stored.keys() - accepted)
    not_one = sorted(email for email, count in stored.items() if count != 1)
    integrity_ok = not missing and not extra and not not_one and participations == ballots and not not_one_choice
    integrity = (
        f"{len(accepted)} x 201 = {len(stored)} voters with exactly one participation; "
        f"{participations} participations = {ballots} ballots of one choice each; none lost, none extra"
        if integrity_ok
        else f"MISMATCH: {len(missing)} 201s without a participation, {len(extra)} participations without a 201, "
        f"{len(not_one)} voters with other than one participation, {participations} participations vs "
        f"{ballots} ballots, {not_one_choice} ballots with other than one choice"
    )
    log(f"  integrity: {integrity}")
    return integrity_ok, integrity


def bench_results(info: dict) -> dict:
    campaign = info["closed_campaign"]
    log(f"results page: the published results of closed campaign {campaign}")
    # seed_demo counts, seals and publishes the closed vote; published results stand.
    django_json(
        DB,
        f"""
from votes import services
from votes.models import Campaign
c = Campaign.objects.get(pk={campaign})
if c.results_published_at is None:
    services.tally_compute(campaign_id={campaign}, final=True)
    services.ledger_seal(campaign_id={campaign})
    services.results_publish(campaign=c)
result = {{}}
""",
    )
    manifest = json.loads((ROOT / "staticfiles" / "staticfiles.json").read_text())
    static_path = "/static/" + manifest["paths"]["css/portal.css"]
    results_path = f"/campaigns/{campaign}/results/"
    for path in (results_path, static_path):
        status, body = http_get(path)
        if status != 200:
            sys.exit(f"GET {path} answered {status}: {body[:300]!r}")
    out = {}
    for name, path in (("static", static_path), ("results", results_path)):
        log(f"{name}: GET {path} by {CLIENTS} clients for {DURATION:.0f} s (2 s warm-up)")
        out[name] = loadgen("get", "--path", path, "--duration", str(DURATION), "--warmup", "2")
        log(
            f"  {out[name]['ok_per_s']:.0f} req/s, p50 {out[name]['p50_ms']:.1f} ms, p99 {out[name]['p99_ms']:.1f} ms, "
            f"statuses {out[name]['statuses']}"
        )
    out["paths"] = {"results": results_path, "static": static_path}
    return out


MICRO_BALLOTS = int(os.environ.get("BENCH_MICRO_BALLOTS", "400"))
MICRO_ROUNDS = int(os.environ.get("BENCH_MICRO_ROUNDS", "3"))  # per mode; the fastest is reported


def bench_micro(info: dict) -> dict:
    """CPU of one API ballot in-process (bench/microbench.py), with the last voters of the file."""
    need = 2 * (MICRO_ROUNDS * MICRO_BALLOTS + 50)
    skip = max(0, VOTERS - need)
    log(
        f"microbench: {MICRO_ROUNDS} rounds of {MICRO_BALLOTS} API ballots through the WSGI handler in-process, "
        "throttles off then on"
    )
    done = subprocess.run(
        [
            *(PY, str(BENCH / "microbench.py"), "--tokens", info["tokens"], "--skip", str(skip)),
            *("--campaign", str(info["campaign"]), "--entries", ",".join(map(str, info["entries"]))),
            *("--ballots", str(MICRO_BALLOTS), "--rounds", str(MICRO_ROUNDS)),
        ],
        cwd=ROOT,
        env=portal_env(DB),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"microbench failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    lines = Path(info["tokens"]).read_text().splitlines()[skip:]
    result["voters"] = [line.split(",", 1)[0] for line in lines]
    log(
        f"  CPU per ballot, fastest round: {result['cpu_ms_throttle_off']:.2f} ms throttles off, "
        f"{result['cpu_ms_throttle_on']:.2f} ms on (rounds {result['cpu_ms_rounds_throttle_off']}, "
        f"{result['cpu_ms_rounds_throttle_on']}); statuses {result['statuses']}"
    )
    return result


def bench_opening(info: dict, skip: int, static_path: str) -> dict:
    """Open loop: the ramp past saturation with the real mix, then ballots at 100/s and 200/s."""
    c = info["campaign"]
    paths = {
        "home": "/",
        "catalogue": "/campaigns/",
        "campaign": f"/campaigns/{c}/",
        "ballot_page": f"/campaigns/{c}/ballot/",
        "results": f"/campaigns/{info['closed_campaign']}/results/",
        "static": static_path,
    }
    common = [
        "--tokens",
        info["tokens"],
        "--campaign",
        str(c),
        "--entries",
        ",".join(map(str, info["entries"])),
        "--paths",
        ",".join(f"{k}={v}" for k, v in paths.items()),
    ]
    out: dict = {"paths": paths, "mix": MIX, "shed_max_queue_ms": SHED_MAX_QUEUE_MS}
    log(f"opening day: open-loop ramp 0 -> {RAMP_PEAK:.0f} arrivals/s over {RAMP_S:.0f} s, mix {MIX}")

    def run(name: str, rate_start: float, rate_end: float, seconds: float, mix: str, phases: int, warmup=0.0) -> None:
        nonlocal skip
        done = subprocess.run(
            [
                *(PY, str(BENCH / "loadgen.py"), "open", "--port", str(PORT), "--skip", str(skip), *common),
                *("--rate-start", str(rate_start), "--rate-end", str(rate_end), "--duration", str(seconds)),
                *("--mix", mix, "--phases", str(phases), "--warmup", str(warmup)),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            sys.exit(f"loadgen open failed:\n{done.stderr}")
        result = json.loads(done.stdout)
        skip += result["voters_used"]
        out[name] = result
        for phase in result["phases"]:
            log(
                f"  {name} {phase['offered_per_s']:5.0f}/s offered: admitted {phase['admitted_per_s']:5.0f}/s, "
                f"shed {phase['shed_per_s']:4.0f}/s, p50 {phase['p50_ms'] or 0:.0f} ms "
                f"p99 {phase['p99_ms'] or 0:.0f} ms, "
                f"ballots p99 {phase['ballot_p99_ms'] or 0:.0f} ms, errors {phase['errors']}"
            )
        if result["samples"]:
            log(f"  first unexpected answers: {result['samples'][:3]}")

    run("ramp", 0, RAMP_PEAK, RAMP_S, MIX, RAMP_PHASES)
    # The design peak, a steady state: N ballots/s, each with a static file fetched beside
    # it, after SETTLE_S of quiet (the ramp ended past saturation: PostgreSQL's autovacuum
    # and the workers' queues settle) and FIXED_WARMUP_S at the rate, checked but not timed.
    for rate in (100, 200):
        time.sleep(SETTLE_S)
        log(f"open loop: {rate} ballots/s (+ {rate} static files/s) for {FIXED_S:.0f} s after {FIXED_WARMUP_S:.0f} s")
        run(f"ballots_{rate}", 2 * rate, 2 * rate, FIXED_S, "ballot=1,static=1", 1, warmup=FIXED_WARMUP_S)
    out["accepted"] = [email for key in ("ramp", "ballots_100", "ballots_200") for email in out[key].pop("accepted")]
    return out


TALLY_CHILD = """
import json, sys, time
import django
django.setup()
from django.db import connection
from portal.celery import app
from votes import services
# A worker has its database and broker connections open and its task modules imported
# (celery worker does that at boot): the same here before the clock starts. The final
# tally enqueues the ledger seal on commit; a process's first publication still costs
# about 15 ms once (queue declaration), and that stays in the figure.
connection.ensure_connection()
with app.producer_or_acquire() as producer:
    producer.connection.ensure_connection()
app.loader.import_default_modules()
began = time.perf_counter()
if sys.argv[2] == "seal":
    # The ledger seal, in its own process as in its own task (after the final tally).
    head = services.ledger_seal(campaign_id=int(sys.argv[1]))
    print(json.dumps({"seconds": time.perf_counter() - began, "head": head}))
else:
    # Best of a few runs (the bare GROUP BY is the best of two): on a shared machine one
    # scheduling hiccup is the size of the whole 1 M count. All runs are reported.
    runs = []
    for _ in range(int(sys.argv[3])):
        began = time.perf_counter()
        tally = services.tally_compute(campaign_id=int(sys.argv[1]), final=sys.argv[2] == "final")
        runs.append(time.perf_counter() - began)
    print(json.dumps({"seconds": min(runs), "runs": runs, "ballots": tally.ballots_counted,
                      "status": tally.status}))
"""


def prepare_tally() -> dict[int, tuple[int, list[int]]]:
    """Campaigns of the tally database, by size: (campaign id, entry ids)."""
    database_ensure(TALLY_DB)
    log(f"database {TALLY_DB}: migrate, seed_demo, bench campaigns (kept between runs)")
    manage(TALLY_DB, "migrate", "--no-input", "-v", "0")
    manage(TALLY_DB, "seed_demo", "--allow-production")
    sizes_json = json.dumps(TALLY_SIZES)
    info = django_json(
        TALLY_DB,
        f"""
from votes.models import Campaign, Entry
template = Campaign.objects.closed().filter(method='choose-1').order_by('pk').first()
result = {{}}
for size in {sizes_json}:
    title = f'bench: {{size:,}} choose-1 ballots'
    # A bench fixture: the closed demo campaign's settings and entries, copied.
    campaign = Campaign.objects.filter(title=title).first()
    if campaign is None:
        campaign = Campaign.objects.get(pk=template.pk)
        campaign.pk = None
        campaign.title = title
        campaign.year = 2000 + len(result)  # seed_demo finds its own campaigns by municipality and year
        campaign.results_published_at = None
        campaign.save()
        for entry in template.entries.order_by('position'):
            Entry.objects.create(campaign=campaign, proposal=entry.proposal, external_id=entry.external_id,
                                 cost=entry.cost, position=entry.position)
    result[size] = [campaign.pk, list(campaign.entries.order_by('position').values_list('pk', flat=True))]
""",
    )
    campaigns = {int(size): (pk, entries) for size, (pk, entries) in info.items()}
    with connect(TALLY_DB) as conn:
        for size, (pk, entries) in campaigns.items():
            ballots_generate(conn, campaign_id=pk, entry_ids=entries, count=size, log=lambda m: log("  " + m))
    return campaigns


def bare_group_by(campaign_id: int) -> tuple[float, dict[int, int]]:
    with connect(TALLY_DB) as conn:
        began = time.perf_counter()
        rows = conn.execute(
            "SELECT entry_id, count(*) FROM votes_ballotchoice WHERE campaign_id = %s GROUP BY entry_id",
            (campaign_id,),
        ).fetchall()
        return time.perf_counter() - began, dict(rows)


def bare_ledger_order(campaign_id: int) -> float:
    """The ballots' receipt hashes in ledger order, fetched: the floor under any ledger seal."""
    with connect(TALLY_DB) as conn:
        began = time.perf_counter()
        # Read as the seal reads: a server-side cursor planned for all its rows, the sort
        # in memory, no JIT (votes.services.seal._ledger_head_sql sets the same).
        with conn.transaction():
            conn.execute("SET LOCAL cursor_tuple_fraction = 1.0")
            conn.execute("SET LOCAL work_mem = '64MB'")
            conn.execute("SET LOCAL jit = off")
            with conn.cursor(name="ledger_order") as cursor:
                cursor.execute(
                    'SELECT receipt_hash FROM votes_ballot WHERE campaign_id = %s ORDER BY receipt_hash COLLATE "C"',
                    (campaign_id,),
                )
                while cursor.fetchmany(20000):
                    pass
        return time.perf_counter() - began


def tally_child(campaign_id: int, kind: str = "final") -> tuple[dict, float]:
    """Run the tally service in a child; its result and its own peak RSS in MiB."""
    proc = subprocess.Popen(
        [PY, "-c", TALLY_CHILD, str(campaign_id), kind, str(TALLY_REPEAT)],
        cwd=ROOT,
        env=portal_env(TALLY_DB),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the max over all children).
    out = proc.stdout.read()
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"tally child failed:\n{err.decode()}")
    return json.loads(out.decode().strip().splitlines()[-1]), usage.ru_maxrss / 1024  # Linux: KiB


def bench_tally() -> dict:
    campaigns = prepare_tally()
    out = {}
    for size, (pk, _entries) in sorted(campaigns.items()):
        assert campaign_ballots(connect(TALLY_DB), pk) == (size, size)
        bare_1, counts = bare_group_by(pk)  # also warms the cache for both
        log(f"tally of {size:,}: service in a child process")
        service, rss = tally_child(pk)
        seal, seal_rss = tally_child(pk, "seal")
        # The live tally is the same count without the ballot ledger's hash chain: the
        # difference between the two is what the chain costs.
        live, _live_rss = tally_child(pk, "live")
        bare_2, _ = bare_group_by(pk)
        bare = min(bare_1, bare_2)
        bare_order = bare_ledger_order(pk)
        with connect(TALLY_DB) as conn:
            stored = dict(
                conn.execute(
                    "SELECT r.entry_id, r.votes FROM votes_tallyrow r JOIN votes_tally t ON t.id = r.tally_id "
                    "WHERE t.campaign_id = %s AND t.kind = 'final'",
                    (pk,),
                ).fetchall()
            )
        same = {k: v for k, v in stored.items() if v} == counts and service["ballots"] == size
        out[size] = {
            "campaign": pk,
            "service_s": service["seconds"],
            "bare_s": bare,
            "ratio": service["seconds"] / bare,
            "peak_rss_mib": rss,
            "live_s": live["seconds"],
            "runs": service.get("runs", []),
            "counts_match": same,
            "seal_s": seal["seconds"],
            "seal_rss_mib": seal_rss,
            "bare_order_s": bare_order,
        }
        log(
            f"  service {service['seconds']:.2f} s, bare GROUP BY {bare:.2f} s (x{service['seconds'] / bare:.1f}), "
            f"peak RSS {rss:.0f} MiB, counts match: {same}; live tally {live['seconds']:.2f} s; "
            f"ledger seal {seal['seconds']:.2f} s ({seal_rss:.0f} MiB), bare ORDER BY receipt_hash {bare_order:.2f} s"
        )
    return out


MES_CHILD = """
import json, sys
sys.path.insert(0, "bench")
import bench_mes
from votes import pabulib, rules
bench_mes.PABUTOOLS_LIMIT_S = 120.0  # keeps `make bench` bounded
files = sorted(bench_mes._pabulib_dir().glob("*.pb"), key=lambda p: p.stat().st_size)
cases = []
if files:
    ri = pabulib.to_rules_input(pabulib.parse(files[-1]))
    cases.append(bench_mes.compare(files[-1].name, ri, rules.EQUAL_SHARES))
cases.append(bench_mes.compare("generated approval, 100k voters", bench_mes.generate(100_000), rules.EQUAL_SHARES))
print("JSON:" + json.dumps(cases))
"""


def bench_mes() -> list[dict]:
    """bench/bench_mes.py's comparison (branch `rules`) on the two cases of the table."""
    log("MES: votes.rules vs pabutools (bench/bench_mes.py), largest pabulib file and 100k voters")
    done = subprocess.run([PY, "-c", MES_CHILD], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"bench_mes failed:\n{done.stderr[-2000:]}")
    for line in done.stdout.splitlines():
        if not line.startswith("JSON:"):
            log("  " + " ".join(line.split()))
    return json.loads(next(line for line in done.stdout.splitlines() if line.startswith("JSON:"))[5:])


# --------------------------------------------------------------------------- table


def _row(figure: str, measured: str, baseline: str, ratio: str, target: str, ok: bool | None) -> dict:
    verdict = "n/a" if ok is None else ("PASS" if ok else "MISS")
    return {
        "figure": figure,
        "measured": measured,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "verdict": verdict,
    }


def table_rows(results: dict) -> list[dict]:
    rows = []
    if "ballots" in results:
        b = results["ballots"]
        api, base = b["api"], b["baseline"]
        ratio = api["ok_per_s"] / base["ok_per_s"]
        rows.append(
            _row(
                f"ballots/s via POST /api/v1/campaigns/{{id}}/ballots/, {CLIENTS} clients",
                f"{api['ok_per_s']:.0f}/s, p50 {api['p50_ms']:.0f} ms, p99 {api['p99_ms']:.0f} ms"
                + (
                    "; CPU per ballot: "
                    + ", ".join(f"{kind} {ms:.1f} ms" for kind, ms in api["cpu_ms_per_request"].items())
                    if "cpu_ms_per_request" in api
                    else ""
                ),
                f"{base['ok_per_s']:.0f}/s bare psycopg (p50 {base['p50_ms']:.1f} ms, p99 {base['p99_ms']:.1f} ms)",
                f"{ratio:.2f}",
                ">= 0.3 (aim 0.5); p99 < 100 ms",
                ratio >= 0.3 and api["p99_ms"] < 100,
            )
        )
        rows.append(
            _row("every 201 left exactly one ballot row; none lost", b["integrity"], "-", "-", "all", b["integrity_ok"])
        )
    if "micro" in results:
        m = results["micro"]
        off, on = m["cpu_ms_throttle_off"], m["cpu_ms_throttle_on"]
        rounds = " ".join(
            f"{mode} " + ", ".join(f"{ms:.2f}" for ms in m.get(f"cpu_ms_rounds_throttle_{mode}", []))
            for mode in ("off", "on")
        )
        rows.append(
            _row(
                "Django CPU per API ballot, in-process (WSGI handler, PostgreSQL), throttles off / on",
                f"{off:.2f} / {on:.2f} ms, fastest of {m.get('rounds', 1)} rounds ({rounds})",
                "4.8 / 5.5 ms on main (issue 18's profile, another run)",
                f"{off / 4.8:.2f} / {on / 5.5:.2f}",
                "<= 1.5 / <= 2.0 ms",
                off <= 1.5 and on <= 2.0,
            )
        )
    if "opening" in results:
        o = results["opening"]
        base_rate = results["ballots"]["baseline"]["ok_per_s"]
        for phase in o["ramp"]["phases"]:
            errors = phase["errors"]
            fives = sum(v for k, v in errors.items() if k.startswith("5"))
            rows.append(
                _row(
                    f"ramp {phase['offered_per_s']:.0f}/s offered (mix), from {phase['from_s']:.0f} s",
                    f"admitted {phase['admitted_per_s']:.0f}/s, shed {phase['shed_per_s']:.0f}/s, "
                    f"p50 {phase['p50_ms'] or 0:.0f} / p99 {phase['p99_ms'] or 0:.0f} ms"
                    f" (ballots p99 {phase['ballot_p99_ms'] or 0:.0f} ms); errors {errors or 'none'}",
                    f"{base_rate:.0f} ballots/s bare psycopg",
                    "-",
                    "no 500, no timeout; shed with 503",
                    fives == 0 and not any(k == "timeout" or k.startswith("connection") for k in errors),
                )
            )
        for rate, target in ((100, 20), (200, 50)):
            phase = o[f"ballots_{rate}"]["phases"][0]
            p99 = phase["ballot_p99_ms"]
            shed = phase["shed_per_s"]
            rows.append(
                _row(
                    f"p99 of ballots at {rate}/s offered, open loop (+{rate} static/s)",
                    f"{p99 or 0:.0f} ms (p50 {phase['ballot_p50_ms'] or 0:.0f} ms); "
                    f"{phase['ballots_admitted']} admitted,"
                    f" shed {shed:.0f}/s; errors {phase['errors'] or 'none'}",
                    f"{base_rate:.0f} ballots/s bare psycopg",
                    f"{rate / base_rate:.2f} of bare" if base_rate else "-",
                    f"< {target} ms, none shed",
                    p99 is not None and p99 < target and shed == 0 and not phase["errors"],
                )
            )
    if "results" in results:
        r = results["results"]
        page = r["results"]
        ratio = r["results"]["ok_per_s"] / r["static"]["ok_per_s"]
        rows.append(
            _row(
                f"results page req/s, {CLIENTS} clients",
                f"{page['ok_per_s']:.0f}/s, p50 {page['p50_ms']:.0f} ms, p99 {page['p99_ms']:.0f} ms",
                f"{r['static']['ok_per_s']:.0f}/s static file (whitenoise), p99 {r['static']['p99_ms']:.0f} ms",
                f"{ratio:.2f}",
                ">= 0.5",
                ratio >= 0.5,
            )
        )
    if "tally" in results:
        t = results["tally"]
        for size, f in sorted(t.items(), key=lambda kv: int(kv[0])):
            rows.append(
                _row(
                    f"final tally, {int(size):,} choose-1 ballots (tally_compute, the Celery task's service)",
                    f"{f['service_s']:.2f} s"
                    + (f" (best of {', '.join(f'{r:.2f}' for r in f['runs'])})" if len(f.get("runs", [])) > 1 else "")
                    + ("" if f["counts_match"] else " COUNTS DIFFER")
                    + f" (live tally: {f['live_s']:.2f} s = {f['live_s'] / f['bare_s']:.1f}x)",
                    f"{f['bare_s']:.2f} s bare GROUP BY",
                    f"{f['ratio']:.2f}x",
                    "<= 1.5x",
                    f["ratio"] <= 1.5 and f["counts_match"],
                )
            )
            if f.get("seal_s") is not None:
                rows.append(
                    _row(
                        f"ledger seal, {int(size):,} ballots (ledger_seal, its own task after the tally)",
                        f"{f['seal_s']:.2f} s, peak RSS {f['seal_rss_mib']:.0f} MiB",
                        f"{f['bare_order_s']:.2f} s bare SELECT receipt_hash ... ORDER BY receipt_hash",
                        f"{f['seal_s'] / f['bare_order_s']:.2f}x",
                        "informational (aim <= 5x)",
                        None,
                    )
                )
        sizes = sorted(t, key=int)
        if len(sizes) >= 2:
            small, big = t[sizes[0]], t[sizes[-1]]
            ratio = big["peak_rss_mib"] / small["peak_rss_mib"]
            rows.append(
                _row(
                    f"tally worker peak RSS, {int(sizes[-1]):,} ballots",
                    f"{big['peak_rss_mib']:.0f} MiB",
                    f"{small['peak_rss_mib']:.0f} MiB for {int(sizes[0]):,}",
                    f"{ratio:.2f}x",
                    "<= 1.2x",
                    ratio <= 1.2,
                )
            )
    for case in results.get("mes", []):
        ours, profile, multi = case["ours_s"], case.get("pabutools_profile_s"), case.get("pabutools_multiprofile_s")
        speedup = case.get("pabutools_profile_ratio")  # computed by bench_mes before rounding
        same = case.get("pabutools_profile_same") and case.get("pabutools_multiprofile_same", True)
        rows.append(
            _row(
                f"Method of Equal Shares: {case['case']} ({case['voters']:,} voters)",
                f"{ours} s votes.rules" + ("" if same else " OUTCOME DIFFERS"),
                f"{profile} s pabutools; {multi} s with its multiprofile (x{case.get('pabutools_multiprofile_ratio')})",
                f"{speedup:.0f}x faster" if speedup else "-",
                ">= 10x faster, same outcome",
                bool(speedup and speedup >= 10 and same),
            )
        )
    return rows


def table_print(rows: list[dict]) -> str:
    headers = ["figure", "measured", "baseline (same run)", "ratio", "target", "verdict"]
    keys = ["figure", "measured", "baseline", "ratio", "target", "verdict"]
    widths = [max(len(h), *(len(r[k]) for r in rows)) for h, k in zip(headers, keys, strict=True)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(r[k].ljust(w) for k, w in zip(keys, widths, strict=True)) + " |")
    return "\n".join(lines)


def main() -> None:
    if (
        shutil.which("pg_isready") is not None
        and subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode
    ):
        sys.exit("PostgreSQL is not running on 127.0.0.1:5432")
    gunicorn_conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))  # what gunicorn will read, one source
    log(
        f"bench: {CLIENTS} clients, {DURATION:.0f} s per load phase, gunicorn {gunicorn_conf['worker_class']} "
        f"workers {gunicorn_conf['workers']}, threads {gunicorn_conf['threads']}"
    )
    results: dict = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {
            # Other tenants of a shared machine move absolute numbers; the ratios less so.
            "load_average_at_start": os.getloadavg(),
            "clients": CLIENTS,
            "duration_s": DURATION,
            "voters": VOTERS,
            "cores": os.cpu_count(),
            "gunicorn_worker_class": gunicorn_conf["worker_class"],
            "gunicorn_workers": gunicorn_conf["workers"],
            "gunicorn_threads": gunicorn_conf["threads"],
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
            ).stdout.strip(),
        },
    }
    if not {"ballots", "results"} <= SKIP:
        info = prepare_portal()
        if "micro" not in SKIP:
            results["micro"] = bench_micro(info)
        with Gunicorn() as web:
            # A few requests first, so that every worker has imported and connected.
            for _ in range(20):
                http_get(f"/api/v1/campaigns/{info['campaign']}/")
            if "ballots" not in SKIP:
                results["ballots"] = bench_ballots(info, web.proc.pid)
            if "results" not in SKIP:
                results["results"] = bench_results(info)
            if "ballots" not in SKIP and "opening" not in SKIP:
                static_path = results.get("results", {}).get("paths", {}).get("static") or "/static/css/portal.css"
                results["opening"] = bench_opening(info, results["ballots"]["api"]["requests"], static_path)
            if "ballots" not in SKIP:
                accepted = set(results["ballots"]["api"].pop("accepted"))
                accepted |= set(results.get("opening", {}).pop("accepted", []))
                micro = results.get("micro", {})
                ok, text = integrity_check(info, accepted, set(micro.pop("voters", [])))
                results["ballots"]["integrity_ok"], results["ballots"]["integrity"] = ok, text
    if "tally" not in SKIP:
        results["tally"] = bench_tally()
    if "mes" not in SKIP:
        results["mes"] = bench_mes()
    rows = table_rows(results)
    results["table"] = rows
    results["elapsed_s"] = time.perf_counter() - STARTED
    results["config"]["load_average_at_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    load = (results["config"]["load_average_at_start"][0], results["config"]["load_average_at_end"][0])
    log(
        f"done in {results['elapsed_s']:.0f} s; 1-minute load average {load[0]:.1f} at start, {load[1]:.1f} at end;"
        " bench/results/latest.json written"
    )
    print()
    print(table_print(rows))


if __name__ == "__main__":
    main()
