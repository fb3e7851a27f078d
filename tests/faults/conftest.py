"""Private services for the fault tests: they stop and start these, never the shared ones.

Other engineers and CI use the PostgreSQL on 5432 and the Redis on 6379, so a test that
kills a service starts its own: a PostgreSQL cluster made by `initdb` in a temporary
directory (as the `postgres` user when we are root, since initdb refuses root), a
`redis-server` subprocess, and the portal (gunicorn), a Celery worker and beat as
subprocesses pointed at them. Everything has a deadline and is torn down in teardown.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def _postgres_bindir() -> Path:
    """Where initdb and pg_ctl are, for whatever PostgreSQL version is installed.

    PG_BIN wins; then pg_config's (on Debian it belongs to libpq-dev, whose version may
    differ from the server's, hence the check for initdb); then the newest Debian
    /usr/lib/postgresql/<version>/bin; then initdb on PATH.
    """
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        result = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    versions = [path for path in Path("/usr/lib/postgresql").glob("*/bin") if path.parent.name.isdigit()]
    candidates += sorted(versions, key=lambda path: int(path.parent.name), reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for candidate in candidates:
        if (candidate / "initdb").exists():
            return candidate
    return Path("/usr/lib/postgresql/bin-not-found")  # private_postgres skips, naming it


PG_BIN = _postgres_bindir()
PYTHON = sys.executable
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def stop_process(process: subprocess.Popen, *, grace: float = 10) -> None:
    """SIGTERM the process group, then SIGKILL it if it is still there after `grace`."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _as_postgres() -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user to run initdb as")
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PrivatePostgres:
    directory: Path
    port: int
    prefix: list[str]

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        subprocess.run(
            [
                *self.prefix,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.directory / "log"),
                "-w",
                "-t",
                str(int(timeout)),
                *args,
                "-o",
                options,
            ],
            check=True,
            timeout=timeout + 10,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        self._ctl("restart", "-m", mode)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def query(self, sql: str, database: str, params=None) -> list[tuple]:
        with psycopg.connect(self.url(database), connect_timeout=10) as conn:
            return conn.execute(sql, params).fetchall()


def portal_env(database_url: str, redis_url: str | None, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a portal process: production-like (DEBUG=0), no throttles,
    a fast password hasher, its own VAR_DIR."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY="faults-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        THROTTLE="0",
        # These tests read live standings of a handful of ballots; the threshold that
        # withholds them has its own tests (tests/votes/test_standings_privacy.py).
        LIVE_STANDINGS_MIN_BALLOTS="1",
        FAST_PASSWORD_HASHER="1",
        VAR_DIR=str(var_dir),
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="portal.settings",
        PYTHONPATH=str(BASE_DIR),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(var_dir / "mail"),
    )
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def scenario(env: dict[str, str], *args: str, timeout: float = 180) -> dict:
    """Run tests/faults/scenario.py COMMAND in a subprocess against `env`'s database."""
    result = subprocess.run(
        [PYTHON, "-m", "tests.faults.scenario", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"scenario {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of our own (trust auth), with a migrated template database."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL server binaries (initdb) found: install postgresql or set PG_BIN ({PG_BIN})")
    prefix = _as_postgres()
    directory = Path(tempfile.mkdtemp(prefix="faults-pg-"))
    if prefix:
        shutil.chown(directory, "postgres")
    server = PrivatePostgres(directory=directory, port=free_port(), prefix=prefix)
    try:
        subprocess.run(
            [
                *prefix,
                str(PG_BIN / "initdb"),
                "-D",
                str(server.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )
        server.start()
        server.execute("CREATE DATABASE portal_template")
        manage(
            portal_env(server.url("portal_template"), None, directory / "var"),
            "migrate",
            "--no-input",
            "-v",
            "0",
            timeout=300,
        )
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop(mode="immediate")
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def fault_database(private_postgres) -> Iterator[str]:
    """A fresh, migrated database in the private cluster; its URL."""
    name = f"faults_{uuid.uuid4().hex[:10]}"
    private_postgres.execute(f"CREATE DATABASE {name} TEMPLATE portal_template")
    yield private_postgres.url(name)
    with contextlib.suppress(Exception):
        private_postgres.execute(f"DROP DATABASE {name} WITH (FORCE)")


@dataclass
class PrivateRedis:
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.ping, timeout=20, what="redis-server")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace=5)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(port=free_port())
    server.start()
    yield server
    server.stop()


@dataclass
class Service:
    """A subprocess of the portal (web, worker or beat) and its log."""

    process: subprocess.Popen
    log: Path
    url: str = ""
    extra: dict = field(default_factory=dict)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown, no ack."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


class _Services:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[Service] = []

    def env(self, database_url: str, redis_url: str | None, **extra: str) -> dict[str, str]:
        var_dir = self.tmp_path / "var"
        var_dir.mkdir(exist_ok=True)
        return portal_env(database_url, redis_url, var_dir, **extra)

    def popen(self, name: str, args: list[str], env: dict[str, str]) -> Service:
        log = self.tmp_path / f"{name}-{len(self.started)}.log"
        handle = log.open("wb")
        process = subprocess.Popen(
            args, cwd=BASE_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        service = Service(process=process, log=log)
        self.started.append(service)
        return service

    def stop_all(self) -> None:
        for service in reversed(self.started):
            stop_process(service.process, grace=10)


@pytest.fixture
def services(tmp_path) -> Iterator[_Services]:
    started = _Services(tmp_path)
    yield started
    started.stop_all()


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own local server
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@pytest.fixture
def portal_server(services):
    """`portal_server(database_url, redis_url, **env)`: migrate, then run gunicorn on a free port."""

    def start(database_url: str, redis_url: str | None, *, workers: int = 2, threads: int = 4, **extra) -> Service:
        env = services.env(database_url, redis_url, **extra)
        manage(env, "migrate", "--no-input", "-v", "0")
        # DEBUG=0 serves hashed static files from a manifest, which collectstatic writes:
        # without it every page (not the API) would answer 500.
        env["STATIC_ROOT"] = str(services.tmp_path / "static")
        manage(env, "collectstatic", "--no-input", "-v", "0")
        port = free_port()
        service = services.popen(
            "web",
            [
                PYTHON,
                "-m",
                "gunicorn",
                "portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            env,
        )
        service.url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if service.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{service.output()}")
            return http_status(service.url + "/api/v1/campaigns/") == 200

        wait_until(ready, timeout=STARTUP_SECONDS, what="the portal to answer")
        return service

    return start


@pytest.fixture
def celery_worker(services):
    """`celery_worker(database_url, redis_url, **env)`: a worker subprocess (solo pool), ready."""

    def start(database_url: str, redis_url: str, *, name: str = "w", queues: str = "", **extra) -> Service:
        env = services.env(database_url, redis_url, **extra)
        service = services.popen(
            "worker",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                *(["-Q", queues] if queues else []),  # every queue when not given, as `make run`
                "--pool=solo",
                "-l",
                "info",
                "-n",
                f"{name}-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env,
        )

        def ready() -> bool:
            if service.process.poll() is not None:
                raise AssertionError(f"celery worker exited:\n{service.output()}")
            return "ready." in service.output()

        wait_until(ready, timeout=STARTUP_SECONDS, what="the Celery worker")
        return service

    return start


@pytest.fixture
def celery_beat(services):
    """`celery_beat(database_url, redis_url, **env)`: a beat subprocess with its own schedule file."""

    def start(database_url: str, redis_url: str, **extra) -> Service:
        schedule = services.tmp_path / f"beat-{uuid.uuid4().hex[:6]}"
        env = services.env(database_url, redis_url, **extra)
        return services.popen(
            "beat",
            [PYTHON, "-m", "celery", "-A", "portal", "beat", "-l", "info", "-s", str(schedule)],
            env,
        )

    return start


def send_tasks(redis_url: str, name: str, calls: list[tuple]) -> None:
    """Send the task `name` once per argument tuple, through `redis_url` (the test
    process's own settings point elsewhere), on the portal's routes."""
    from celery import Celery
    from django.conf import settings

    app = Celery("faults-client", broker=redis_url)
    # The portal's queues and routes: a tally goes to `counting`, an e-mail to `mail`.
    app.conf.task_routes = settings.CELERY_TASK_ROUTES
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    try:
        with app.producer_or_acquire() as producer:
            for args in calls:
                app.send_task(name, args=list(args), producer=producer)
    finally:
        app.close()


def send_task(redis_url: str, name: str, *args) -> None:
    send_tasks(redis_url, name, [args])


# --- A streaming replica and PgBouncer, started with docs/deploy.md's own commands ---------


def _pg_program(argv: list[str]) -> list[str]:
    """PostgreSQL's programs by their full path (Debian keeps pg_ctl off PATH)."""
    if (PG_BIN / argv[0]).exists():
        return [str(PG_BIN / argv[0]), *argv[1:]]
    return argv


def replica_start(primary: PrivatePostgres) -> PrivatePostgres:
    """A hot standby of `primary`: docs/deploy.md's [basebackup] and [replica-start]."""
    from tests.faults.layout import deploy_argv

    directory = Path(tempfile.mkdtemp(prefix="faults-replica-"))
    if primary.prefix:
        shutil.chown(directory, "postgres")
    replica = PrivatePostgres(directory=directory, port=free_port(), prefix=primary.prefix)
    paths = {"replica_data": str(replica.data), "replica_log": str(directory / "log")}
    backup = deploy_argv("basebackup", primary_host="127.0.0.1", primary_port=str(primary.port), **paths)
    subprocess.run([*primary.prefix, *_pg_program(backup)], check=True, timeout=180, stdout=subprocess.DEVNULL)
    # The test cluster's own options (port, socket folder, no fsync) after the documented command.
    options = (
        f"-p {replica.port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        " -c max_connections=60 -c hot_standby_feedback=on"
    )
    start = deploy_argv("replica-start", **paths)
    subprocess.run(
        [*primary.prefix, *_pg_program(start), "-w", "-t", "60", "-o", options],
        check=True,
        timeout=90,
        stdout=subprocess.DEVNULL,
    )
    wait_until(
        lambda: replica.query("SELECT pg_is_in_recovery()", "postgres") == [(True,)],
        timeout=60,
        what="the replica to accept connections",
    )
    return replica


def replica_caught_up(primary: PrivatePostgres, replica: PrivatePostgres, *, timeout: float = 60) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    (position,) = primary.query("SELECT pg_current_wal_lsn()::text", "postgres")[0]
    wait_until(
        lambda: replica.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", "postgres", [position])[0][0],
        timeout=timeout,
        interval=0.1,
        what="the replica to catch up",
    )


def replay_command(tag: str, replica: PrivatePostgres) -> None:
    """docs/deploy.md's [replay-pause] / [replay-resume], run with psql."""
    from tests.faults.layout import deploy_argv

    argv = deploy_argv(tag, replica_host="127.0.0.1", replica_port=str(replica.port))
    subprocess.run(argv, check=True, timeout=30, stdout=subprocess.DEVNULL)


@pytest.fixture
def private_replica(private_postgres) -> Iterator[PrivatePostgres]:
    replica = replica_start(private_postgres)
    yield replica
    with contextlib.suppress(Exception):
        replica.stop(mode="immediate")
    shutil.rmtree(replica.directory, ignore_errors=True)


@dataclass
class PrivatePgBouncer:
    directory: Path
    port: int
    process: subprocess.Popen | None = None

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace=5)
            self.process = None


def pgbouncer_start(primary: PrivatePostgres) -> PrivatePgBouncer:
    """PgBouncer in transaction mode before `primary`: docs/deploy.md's ini and [pgbouncer]."""
    from tests.faults.layout import deploy_argv, pgbouncer_ini

    program = shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if Path(path).exists()), None
    )
    if program is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer; .ci/run does)")
    directory = Path(tempfile.mkdtemp(prefix="faults-pgbouncer-"))
    bouncer = PrivatePgBouncer(directory=directory, port=free_port())
    ini = directory / "pgbouncer.ini"
    ini.write_text(
        pgbouncer_ini(
            primary_host="127.0.0.1",
            primary_port=str(primary.port),
            pgbouncer_host="127.0.0.1",
            pgbouncer_port=str(bouncer.port),
            pgbouncer_dir=str(directory),
        )
    )
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    if primary.prefix:  # PgBouncer refuses to run as root
        for path in (directory, ini, directory / "userlist.txt"):
            shutil.chown(path, "postgres")
    bouncer.process = subprocess.Popen(
        [*primary.prefix, program, *deploy_argv("pgbouncer", pgbouncer_ini=str(ini))[1:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def answers() -> bool:
        if bouncer.process.poll() is not None:
            log = directory / "pgbouncer.log"
            raise AssertionError(f"pgbouncer exited:\n{log.read_text() if log.exists() else ''}")
        try:
            with psycopg.connect(bouncer.url("postgres"), connect_timeout=2) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.Error:
            return False

    wait_until(answers, timeout=30, what="pgbouncer")
    return bouncer


@pytest.fixture
def private_pgbouncer(private_postgres) -> Iterator[PrivatePgBouncer]:
    bouncer = pgbouncer_start(private_postgres)
    yield bouncer
    bouncer.stop()
    shutil.rmtree(bouncer.directory, ignore_errors=True)
