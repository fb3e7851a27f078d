"""CPU of one API ballot inside Django, through the real WSGI handler, on PostgreSQL.

No HTTP server and no client: each ballot is a WSGI environ handed to
`django.core.handlers.wsgi.WSGIHandler`, as gunicorn would, with the portal's settings
(run it with DEBUG=0 and the bench's environment, see bench/run.py `portal_env`). The
figure is this process's CPU (time.process_time) per ballot, so PostgreSQL's own work
and the wait for it are not in it; throttles off, then on (rates raised so that none
refuses), each in --rounds rounds of which the fastest is reported (on a shared machine
noise only ever adds time). One JSON document on stdout.

    python bench/microbench.py --tokens FILE --campaign ID --entries 1,2,3 [--ballots 400] [--channel web]
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


def environ_for(path: str, headers: dict[str, str], body: bytes, content_type: str) -> dict:
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
        **headers,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def api_requests(campaign: int, entry: int, voters: list[list[str]]) -> list[dict]:
    body = json.dumps({"choices": [{"entry": entry}]}).encode()
    path = f"/api/v1/campaigns/{campaign}/ballots/"
    return [
        environ_for(path, {"HTTP_AUTHORIZATION": f"Token {token}"}, body, "application/json") for _e, token in voters
    ]


def web_requests(campaign: int, entry: int, voters: list[list[str]]) -> list[dict]:
    """The confirm step of each voter's web ballot: a logged-in session, the CSRF cookie
    and field, and the signed review token, all made before the clock starts."""
    from urllib.parse import urlencode

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.middleware.csrf import _get_new_csrf_string  # type: ignore[attr-defined]

    from portal.accounts.models import User
    from votes.forms import ballot_token
    from votes.models import Campaign

    by_email = {user.email: user for user in User.objects.filter(email__in=[email for email, _t in voters])}
    environs = []
    for email, _token in voters:
        user = by_email[email]
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        csrf = _get_new_csrf_string()
        review = ballot_token(campaign=Campaign(pk=campaign), user_id=user.pk, choices=[(entry, None)])
        body = urlencode({"step": "confirm", "token": review, "csrfmiddlewaretoken": csrf}).encode()
        cookie = f"sessionid={session.session_key}; csrftoken={csrf}"
        environs.append(
            environ_for(
                f"/campaigns/{campaign}/ballot/", {"HTTP_COOKIE": cookie}, body, "application/x-www-form-urlencoded"
            )
        )
    return environs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--skip", type=int, default=0, help="voters at the top of the file already used")
    parser.add_argument("--campaign", type=int, required=True)
    parser.add_argument("--entries", type=lambda s: [int(x) for x in s.split(",")], required=True)
    parser.add_argument("--ballots", type=int, default=400, help="per round; plus 50 of warm-up per mode")
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds per mode; the fastest is reported (noise only adds time)"
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--channel", choices=["api", "web"], default="api", help="web: the ballot page's confirm step, logged in"
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework.settings import api_settings

    handler = WSGIHandler()
    lines = Path(args.tokens).read_text().splitlines()[args.skip :]
    voters = [line.split(",") for line in lines if "," in line][: 2 * (args.rounds * args.ballots + 50)]
    requests = iter(
        api_requests(args.campaign, args.entries[0], voters)
        if args.channel == "api"
        else web_requests(args.campaign, args.entries[0], voters)
    )
    success = 201 if args.channel == "api" else 302  # the web step redirects to the receipt
    statuses: dict[str, dict[int, int]] = {}
    refusals: dict[int, str] = {}
    logging.getLogger("django.request").setLevel(logging.ERROR)  # a refusal per ballot is not news here

    def cast(mode: str) -> None:
        answered: list[str] = []
        response = handler(next(requests), lambda status, headers: answered.append(status))
        content = b"".join(response)
        response.close()  # request_finished: what gunicorn does after the body
        code = int(answered[0].split()[0])
        statuses.setdefault(mode, {}).setdefault(code, 0)
        statuses[mode][code] += 1
        if code != success:
            refusals.setdefault(code, content.decode(errors="replace")[:300])

    result: dict[str, object] = {"ballots": args.ballots, "channel": args.channel}
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
        rounds: list[tuple[float, float]] = []
        for _round in range(args.rounds):
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(args.ballots):
                cast(mode)
            rounds.append((time.process_time() - cpu, time.perf_counter() - wall))
        if profiler is not None:
            import pstats

            profiler.disable()
            if os.environ.get("MICROBENCH_PROFILE_OUT"):
                profiler.dump_stats(os.environ["MICROBENCH_PROFILE_OUT"])
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
        per_ballot = sorted(1000 * cpu / args.ballots for cpu, _wall in rounds)
        result[f"cpu_ms_throttle_{mode}"] = per_ballot[0]
        result[f"cpu_ms_rounds_throttle_{mode}"] = per_ballot
        result[f"wall_ms_throttle_{mode}"] = min(1000 * wall / args.ballots for _cpu, wall in rounds)
    result["rounds"] = args.rounds
    result["statuses"] = statuses
    result["refusals"] = refusals
    result["voters_used"] = 2 * (args.rounds * args.ballots + 50)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
