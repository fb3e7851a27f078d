"""CPU of one API ballot inside Django, through the real WSGI handler, on PostgreSQL.

No HTTP server and no client: each ballot is a WSGI environ handed to
`django.core.handlers.wsgi.WSGIHandler`, as gunicorn would, with the portal's settings
(run it with DEBUG=0 and the bench's environment, see bench/run.py `portal_env`). The
figure is this process's CPU (time.process_time) per ballot, so PostgreSQL's own work
and the wait for it are not in it; throttles off, then on (rates raised so that none
refuses). One JSON document on stdout.

    python bench/microbench.py --tokens FILE --campaign ID --entries 1,2,3 [--ballots 400]
    [--profile]   print the top of a cProfile of the throttled run to stderr
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def environ_for(path: str, token: str, body: bytes) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--skip", type=int, default=0, help="voters at the top of the file already used")
    parser.add_argument("--campaign", type=int, required=True)
    parser.add_argument("--entries", type=lambda s: [int(x) for x in s.split(",")], required=True)
    parser.add_argument("--ballots", type=int, default=400, help="per mode; plus 50 of warm-up")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework.settings import api_settings

    handler = WSGIHandler()
    lines = Path(args.tokens).read_text().splitlines()[args.skip :]
    tokens = iter(line.split(",")[1] for line in lines if "," in line)
    path = f"/api/v1/campaigns/{args.campaign}/ballots/"
    body = json.dumps({"choices": [{"entry": args.entries[0]}]}).encode()
    statuses: dict[str, dict[int, int]] = {}
    refusals: dict[int, str] = {}
    logging.getLogger("django.request").setLevel(logging.ERROR)  # a refusal per ballot is not news here

    def cast(mode: str) -> None:
        answered: list[str] = []
        response = handler(environ_for(path, next(tokens), body), lambda status, headers: answered.append(status))
        content = b"".join(response)
        response.close()  # request_finished: what gunicorn does after the body
        code = int(answered[0].split()[0])
        statuses.setdefault(mode, {}).setdefault(code, 0)
        statuses[mode][code] += 1
        if code != 201:
            refusals.setdefault(code, content.decode(errors="replace")[:300])

    result: dict[str, object] = {"ballots": args.ballots}
    rates = api_settings.DEFAULT_THROTTLE_RATES
    for scope in ("ballot_ip", "ballot_user"):
        rates[scope] = "1000000/min"
    for mode, throttle in (("off", False), ("on", True)):
        settings.THROTTLE = throttle
        for _ in range(50):
            cast("warmup")
        profiler = None
        if args.profile and throttle:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU, not the wait for PostgreSQL
            profiler.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.ballots):
            cast(mode)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiler is not None:
            import pstats

            profiler.disable()
            if os.environ.get("MICROBENCH_PROFILE_OUT"):
                profiler.dump_stats(os.environ["MICROBENCH_PROFILE_OUT"])
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
        result[f"cpu_ms_throttle_{mode}"] = 1000 * cpu / args.ballots
        result[f"wall_ms_throttle_{mode}"] = 1000 * wall / args.ballots
    result["statuses"] = statuses
    result["refusals"] = refusals
    result["voters_used"] = 2 * (args.ballots + 50)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
