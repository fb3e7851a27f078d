"""Migrations 0008–0010 move every ballot into the register and the box without loss.

Ballots of every channel are written under the old schema (voter on the ballot), the
migrations run, and for every campaign the ballot count, each ballot's choices, the
ledger head and the register's who/how/when are what they were; ids are random; a
voter with ballots in two lists of one vote (possible before the rule) keeps both.
"""

from __future__ import annotations

import datetime
import hashlib
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from votes import ledger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [("votes", "0007_postgres_vote_group_and_territory_integrity")]
AFTER = [("votes", "0010_ballot_box_keeps_no_voter")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def _back_to_the_latest_schema():
    """The tests after this one need every migration applied again."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _ledger(campaign_id: int) -> tuple[int, str, dict[str, list]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.receipt_hash, e.external_id, c.points FROM votes_ballot b"
            " LEFT JOIN votes_ballotchoice c ON c.ballot_id = b.id LEFT JOIN votes_entry e ON e.id = c.entry_id"
            ' WHERE b.campaign_id = %s ORDER BY b.receipt_hash COLLATE "C", e.external_id',
            [campaign_id],
        )
        ballots: dict[str, list] = {}
        for receipt, external_id, points in cursor.fetchall():
            ballots.setdefault(receipt, [])
            if external_id is not None:
                ballots[receipt].append((external_id, points))
    head = ledger.head_of(campaign_id, sorted(ballots.items()))
    return len(ballots), head, ballots


def test_every_ballot_keeps_its_choices_and_the_register_its_voter():
    apps = _migrate(BEFORE)
    # Only votes goes back to 0007; the other apps' tables stay at their latest migration,
    # so their current models are the ones that match them.
    from projects.models import Municipality, Proposal, Region, Space

    Campaign, Entry, VoteGroup = (apps.get_model("votes", name) for name in ("Campaign", "Entry", "VoteGroup"))
    Ballot, BallotChoice = apps.get_model("votes", "Ballot"), apps.get_model("votes", "BallotChoice")
    # Accounts stay at their latest migration: the current model matches their table.
    from portal.accounts.models import User

    now = timezone.now()
    region = Region.objects.create(name="Свердловская область", slug="sverdlovsk", code="RU-SVE")
    town = Municipality.objects.create(
        region=region, name="Екатеринбург", slug="ekb", population=1000, oktmo="65701000"
    )
    group = VoteGroup.objects.create(municipality_id=town.pk, year=2027)
    window = {
        "voting_opens_at": now - datetime.timedelta(days=1),
        "voting_closes_at": now + datetime.timedelta(days=1),
        "rule": "top-k",
        "winners": 1,
    }
    lists = [
        Campaign.objects.create(municipality_id=town.pk, title=f"Список {n}", year=2027, vote_group=group, **window)
        for n in range(2)
    ]
    imported = Campaign.objects.create(municipality_id=town.pk, title="Из файла", year=2026, **window)
    entries = {}
    for campaign in [*lists, imported]:
        for n in range(3):
            space = Space.objects.create(
                municipality=town,
                name=f"Сквер {campaign.pk}-{n}",
                address="ул. Мира",
                kind="public_space",
                latitude=Decimal(56),
                area_m2=Decimal(100),
                longitude=Decimal(60),
            )
            proposal = Proposal.objects.create(
                space=space, title=f"Сквер {n}", description="-", estimated_cost=Decimal(1000), submitted_at=now
            )
            entries[(campaign.pk, n)] = Entry.objects.create(
                campaign=campaign, proposal_id=proposal.pk, external_id=str(n + 1), cost=Decimal(1000), position=n
            )
    helper = User.objects.create(email="volunteer@example.org", full_name="Волонтёр")
    voters = [User.objects.create(email=f"v{n}@example.org", full_name=f"Житель {n}") for n in range(6)]
    written: list[tuple] = []  # (campaign, voter, external id, channel, volunteer)
    for n, voter in enumerate(voters):
        channel = ("web", "api", "volunteer")[n % 3]
        written.append((lists[0].pk, voter.pk, None, channel, helper.pk if channel == "volunteer" else None))
    written.append((lists[1].pk, voters[0].pk, None, "web", None))  # a second list, before the rule
    written += [(imported.pk, None, f"file-{n}", "import", None) for n in range(4)]
    for n, (campaign_id, voter_id, external, channel, volunteer_id) in enumerate(written):
        ballot = Ballot.objects.create(
            campaign_id=campaign_id,
            voter_id=voter_id,
            external_voter_id=external,
            channel=channel,
            volunteer_id=volunteer_id,
            receipt_hash=hashlib.sha256(f"r{n}".encode()).hexdigest(),
        )
        for k in range(1 + n % 2):
            BallotChoice.objects.create(
                ballot=ballot, campaign_id=campaign_id, entry=entries[(campaign_id, (n + k) % 3)], points=1
            )
    campaigns = [*(c.pk for c in lists), imported.pk]
    before = {pk: _ledger(pk) for pk in campaigns}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT campaign_id, voter_id, external_voter_id, channel, volunteer_id, cast_at FROM votes_ballot"
        )
        who_before = sorted(cursor.fetchall(), key=repr)

    _migrate(AFTER)

    assert {pk: _ledger(pk) for pk in campaigns} == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT campaign_id, voter_id, external_voter_id, channel, volunteer_id, voted_at FROM votes_participation"
        )
        assert sorted(cursor.fetchall(), key=repr) == who_before
        cursor.execute("SELECT min(id), count(*), count(cast_on) FROM votes_ballot")
        smallest, count, with_day = cursor.fetchone()
        cursor.execute(
            "SELECT voter_id, vote_group_id FROM votes_participation WHERE voter_id = %s ORDER BY voted_at, id",
            [voters[0].pk],
        )
        first_voter = cursor.fetchall()
    assert count == with_day == len(written)
    assert smallest > 2**32  # random ids now, not the sequence's 1, 2, 3…
    # The earlier ballot counts in the vote; the later one is kept, outside its rule.
    assert first_voter == [(voters[0].pk, group.pk), (voters[0].pk, None)]
