"""Data for the fault tests, written into a private database by a subprocess.

The fault tests run the portal in other processes against their own PostgreSQL, so
they build their data the same way: `python -m tests.faults.scenario COMMAND ...`
with DATABASE_URL set, printing one JSON object on the last line of stdout.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import sys
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.accounts.models import User  # noqa: E402
from projects.models import Municipality, Proposal, Region, Space  # noqa: E402
from tests.builders import approve_verification  # noqa: E402  (imports models: after setup)
from votes.models import Ballot, BallotChoice, Campaign, Channel, Entry, Idea, Participation, Tally  # noqa: E402


def _town() -> Municipality:
    region, _ = Region.objects.get_or_create(slug="sverdlovsk", defaults={"name": "Свердловская", "code": "RU-SVE"})
    town, _ = Municipality.objects.get_or_create(
        slug="town-f", defaults={"region": region, "name": "Город Ф", "population": 100_000, "oktmo": "65799000"}
    )
    return town


def campaign_create(
    *,
    opens_in: float = -86400,
    closes_in: float = 864000,
    method: str = "approval",
    rule: str = "greedy",
    n_entries: int = 5,
) -> Campaign:
    """A campaign of `n_entries` projects whose window is given in seconds from now."""
    town = _town()
    now = timezone.now()
    campaign = Campaign.objects.create(
        municipality=town,
        title=f"Голосование {Campaign.objects.count() + 1}",
        year=now.year + 1,
        voting_opens_at=now + datetime.timedelta(seconds=opens_in),
        voting_closes_at=now + datetime.timedelta(seconds=closes_in),
        method=method,
        min_choices=1,
        max_choices=3 if method != "ordinal" else n_entries,
        budget=Decimal(2_000_000),
        rule=rule,
        winners=2,
    )
    for position in range(n_entries):
        space = Space.objects.create(
            municipality=town,
            kind=Space.Kind.PUBLIC_SPACE,
            name=f"Сквер {campaign.pk}-{position}",
            address=f"ул. Ленина, {position + 1}",
            latitude=Decimal("56.838"),
            longitude=Decimal("60.597"),
            area_m2=Decimal(1000),
        )
        proposal = Proposal.objects.create(
            space=space,
            title=f"Сквер {position + 1}",
            description="Скамейки и свет.",
            estimated_cost=Decimal(300_000 + 100_000 * position),
            status=Proposal.Status.APPROVED,
            submitted_at=now - datetime.timedelta(days=30),
            approved_at=now - datetime.timedelta(days=20),
        )
        Entry.objects.create(
            campaign=campaign,
            proposal=proposal,
            external_id=str(position + 1),
            cost=proposal.estimated_cost,
            position=position,
        )
    return campaign


def voters(count: int, *, live_standings: bool = False) -> dict:
    """An open campaign and `count` verified residents with API tokens."""
    from votes.demo import demo_voters_create

    campaign = campaign_create()
    if live_standings:
        Campaign.objects.filter(pk=campaign.pk).update(show_live_standings=True)
    path = os.path.join(os.environ["VAR_DIR"], "tokens.csv")
    demo_voters_create(count=count, tokens_path=path)
    with open(path, encoding="utf-8") as handle:
        tokens = [line.strip().split(",")[1] for line in handle if line.strip()]
    entries = list(campaign.entries.order_by("position").values_list("pk", flat=True))
    return {"campaign": campaign.pk, "entries": entries, "tokens": tokens}


def imported_ballots(count: int, n_entries: int = 60) -> dict:
    """A closed approval campaign with `count` imported ballots (bulk, like a paper
    import), counted by the Method of Equal Shares: with varied baskets, enough
    per-ballot work for the final tally to take seconds."""
    import random

    campaign = campaign_create(
        opens_in=-86400 * 10, closes_in=-86400, method="approval", rule="equalshares/add1", n_entries=n_entries
    )
    Campaign.objects.filter(pk=campaign.pk).update(budget=Decimal(10_000_000), max_choices=8)
    entries = list(campaign.entries.order_by("position"))
    Participation.objects.bulk_create(
        [Participation(campaign=campaign, external_voter_id=f"v{n}", channel=Channel.IMPORT) for n in range(count)],
        batch_size=5000,
    )
    ballots = Ballot.objects.bulk_create(
        [
            Ballot(campaign=campaign, receipt_hash=hashlib.sha256(f"{campaign.pk}-{n}".encode()).hexdigest())
            for n in range(count)
        ],
        batch_size=5000,
    )
    rng = random.Random(20260101)  # the same data on every run
    choices: list[BallotChoice] = []
    for ballot in ballots:
        # Varied baskets, so grouping identical ballots does not collapse them.
        picked = rng.sample(entries, rng.randint(1, 8))
        choices.extend(BallotChoice(ballot=ballot, campaign=campaign, entry=entry, points=1) for entry in picked)
    BallotChoice.objects.bulk_create(choices, batch_size=10000)
    Campaign.objects.filter(pk=campaign.pk).update(closed_at=timezone.now() - datetime.timedelta(hours=1))
    return {"campaign": campaign.pk}


def clock_campaigns(residents: int) -> dict:
    """One campaign that opens in a few seconds and one that closes in a few, with
    ballots, and `residents` who want e-mail (the opening notifies them once each)."""
    town = _town()
    now = timezone.now()
    User.objects.bulk_create(
        [
            User(
                email=f"resident{n}@example.org",
                full_name=f"Житель {n}",
                municipality=town,
                verified_at=now,
                birth_date=datetime.date(1980, 1, 1),
                notify_by_email=True,
            )
            for n in range(residents)
        ]
    )
    opening = campaign_create(opens_in=3, closes_in=86400)
    closing = campaign_create(opens_in=-86400, closes_in=4)
    # Open since yesterday: the clock opened (and announced) it then, so the beats here
    # only close it. Otherwise a tick in its last seconds would open it too and send a
    # second, legitimate, notification the test would count as a duplicate.
    Campaign.objects.filter(pk=closing.pk).update(opened_at=now - datetime.timedelta(days=1))
    entries = list(closing.entries.order_by("position"))
    for n, user in enumerate(User.objects.order_by("pk")):
        Participation.objects.create(campaign=closing, voter=user, channel=Channel.WEB)
        ballot = Ballot.objects.create(
            campaign=closing, receipt_hash=hashlib.sha256(f"{closing.pk}-{n}".encode()).hexdigest()
        )
        BallotChoice.objects.create(ballot=ballot, campaign=closing, entry=entries[n % 3], points=1)
    return {"opening": opening.pk, "closing": closing.pk}


def close_in(campaign: int, seconds: float) -> dict:
    """Move the campaign's close to `seconds` from now (beat's clock then closes it)."""
    closes_at = timezone.now() + datetime.timedelta(seconds=seconds)
    Campaign.objects.filter(pk=campaign).update(voting_closes_at=closes_at)
    return {"closes_at": closes_at.isoformat()}


def close(campaign: int) -> dict:
    """Close the vote now, through the service the clock and the admin use."""
    from votes.services import campaign_close

    Campaign.objects.filter(pk=campaign).update(voting_closes_at=timezone.now())
    closed = campaign_close(campaign=Campaign.objects.get(pk=campaign))
    return {"closed_at": closed.closed_at.isoformat()}


def decided_ideas(count: int) -> dict:
    """`count` ideas, each by its own resident who wants e-mail, approved onto a new
    campaign's ballot: each one's "your idea was decided" e-mail is one mail task."""
    town = _town()
    campaign = campaign_create(n_entries=1)
    now = timezone.now()
    authors = User.objects.bulk_create(
        [
            User(
                email=f"author{n}@example.org",
                full_name=f"Автор {n}",
                municipality=town,
                verified_at=now,
                notify_by_email=True,
            )
            for n in range(count)
        ]
    )
    space = Space.objects.filter(municipality=town).first()
    proposals = Proposal.objects.bulk_create(
        [
            Proposal(
                space=space,
                author=author,
                title=f"Идея {n}",
                description="Лавочки.",
                estimated_cost=Decimal(100_000),
                status=Proposal.Status.APPROVED,
                submitted_at=now,
                approved_at=now,
            )
            for n, author in enumerate(authors)
        ]
    )
    ideas = Idea.objects.bulk_create([Idea(campaign=campaign, proposal=proposal) for proposal in proposals])
    return {"ideas": [idea.pk for idea in ideas]}


def publish(campaign: int) -> dict:
    """Publish the final results (the official's "publish results"), through the service."""
    from votes.services import results_publish

    approve_verification(Campaign.objects.get(pk=campaign))
    published = results_publish(campaign=Campaign.objects.get(pk=campaign))
    return {"published_at": published.results_published_at.isoformat()}


def tally_rows(campaign: int, kind: str) -> dict:
    tally = Tally.objects.get(campaign_id=campaign, kind=kind)
    rows = list(tally.rows.order_by("rank").values_list("entry_id", "votes", "score", "rank", "selected"))
    return {
        "status": tally.status,
        "ballots": tally.ballots_counted,
        "rows": [[e, v, str(s), r, sel] for e, v, s, r, sel in rows],
    }


def superuser(email: str, password: str) -> dict:
    """A superuser who logs in to the admin (verified, so the admin's log-in takes them)."""
    user = User.objects.create_superuser(email, password, full_name="Администратор")
    return {"user": user.pk}


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "voters":
        result = voters(int(args[0]), live_standings="live" in args[1:])
    elif command == "close_in":
        result = close_in(int(args[0]), float(args[1]))
    elif command == "close":
        result = close(int(args[0]))
    elif command == "publish":
        result = publish(int(args[0]))
    elif command == "decided_ideas":
        result = decided_ideas(int(args[0]))
    elif command == "imported_ballots":
        result = imported_ballots(int(args[0]))
    elif command == "clock_campaigns":
        result = clock_campaigns(int(args[0]))
    elif command == "superuser":
        result = superuser(args[0], args[1])
    elif command == "tally_rows":
        result = tally_rows(int(args[0]), args[1])
    else:
        raise SystemExit(f"unknown command {command}")
    connection.close()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
