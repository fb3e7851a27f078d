"""One person, one secret ballot: the register (who voted) apart from the box (what).

Each finding of the outside review is reproduced here and shown to fail now: a superuser
finding a named resident's ballot through the user admin, officials reading choices by
time or id in the ballot admin, one person voting in two lists of one vote, and the
sealed link that only the commission's key opens.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from tests.builders import PASSWORD
from votes import sealing
from votes.models import Ballot, Campaign, Channel, Participation, VoteGroup
from votes.services import AlreadyVoted, AlreadyVotedInVote, ballot_cast
from votes.services.commission import commission_key_create, participation_link_open
from votes.services.errors import CommissionKeyError


@pytest.fixture
def one_vote(make_campaign, town):
    """A municipality's territory list and a design list of one year, as one vote."""
    territories = make_campaign()
    design = make_campaign(year=territories.year)
    group = VoteGroup.objects.create(municipality=town, year=territories.year)
    Campaign.objects.filter(pk__in=[territories.pk, design.pk]).update(vote_group=group)
    territories.refresh_from_db()
    design.refresh_from_db()
    return territories, design


# --- The box keeps no voter; nothing joins it to the register ------------------------


def test_no_field_relates_a_ballot_to_a_voter_or_a_participation():
    for model, forbidden in ((Ballot, {User, Participation}), (Participation, {Ballot})):
        related = {field.related_model for field in model._meta.get_fields() if field.is_relation}
        assert not related & forbidden, model
    ballot_columns = {field.name for field in Ballot._meta.concrete_fields}
    assert ballot_columns == {"id", "campaign", "cast_on", "receipt_hash", "annulled_reason"}


def test_a_cast_writes_one_participation_and_one_anonymous_ballot(make_campaign, voter, ids):
    campaign = make_campaign()
    cast = ballot_cast(campaign=campaign, voter=voter, choices=[ids(campaign)[0]], channel=Channel.WEB)
    participation = Participation.objects.get()
    assert (participation.voter, participation.channel, participation.campaign) == (voter, "web", campaign)
    ballot = Ballot.objects.get()
    assert ballot.pk == cast.ballot.pk
    assert ballot.cast_on == timezone.localdate(cast.cast_at)  # the day, nothing finer
    # Without a commission key there is no link at all.
    assert participation.sealed_link is None


def test_ballot_ids_reveal_no_order(make_campaign, make_user, ids):
    campaign = make_campaign()
    ids_in_order = [
        ballot_cast(campaign=campaign, voter=make_user(), choices=[ids(campaign)[0]], channel=Channel.WEB).ballot.pk
        for _ in range(12)
    ]
    assert ids_in_order != sorted(ids_in_order)
    assert min(ids_in_order) > 2**32  # random 63-bit values, not a sequence


# --- Finding 1: a superuser finds how a named resident voted -------------------------


@pytest.fixture
def superuser_client(db):
    root = User.objects.create_superuser("root-register@example.org", PASSWORD)
    client = Client()
    client.force_login(root)
    return client


@pytest.fixture
def three_voted(make_campaign, make_user, ids):
    """A campaign in which three residents have voted on the web."""
    campaign = make_campaign()
    voters = [make_user() for _ in range(3)]
    for n, voter in enumerate(voters):
        ballot_cast(campaign=campaign, voter=voter, choices=[ids(campaign)[n % 2]], channel=Channel.WEB)
    return campaign, voters


def _refused(response) -> bool:
    """Django answers a refused admin lookup with the changelist's error redirect (?e=1)."""
    return response.status_code in (302, 400) and "cl" not in (response.context or {})


def test_the_user_admin_cannot_reach_a_ballot(superuser_client, three_voted):
    _campaign, voters = three_voted
    ballot = Ballot.objects.first()
    assert ballot is not None
    for probe in (
        {"ballots": ballot.pk},
        {"ballots__in": ballot.pk},
        {"ballots__isnull": "False"},
        {"participations__ballot": ballot.pk},
        {"participations__sealed_link__isnull": "False"},
        {"participations__campaign__ballots__receipt_hash": ballot.receipt_hash},
        {"participations__campaign__ballots__id": ballot.pk},
    ):
        response = superuser_client.get("/admin/accounts/user/", probe)
        if not _refused(response):
            # A lookup through the campaign may be allowed, but it narrows to nobody:
            # everyone of the campaign, never the ballot's own voter alone.
            found = {user.pk for user in response.context["cl"].result_list}
            voter_ids = {voter.pk for voter in voters}
            assert voter_ids <= found or not found & voter_ids, probe


def test_the_ballot_admin_offers_no_time_id_or_channel(superuser_client, three_voted):
    campaign, voters = three_voted
    ballot = Ballot.objects.first()
    assert ballot is not None
    for probe in (
        {"cast_at__gte": "2000-01-01"},
        {"cast_on": ballot.cast_on.isoformat()},
        {"cast_on__gte": ballot.cast_on.isoformat()},
        {"id": ballot.pk},
        {"pk__in": ballot.pk},
        {"id__gt": 0},
        {"channel": "web"},
        {"voter": voters[0].pk},
        {"receipt_hash__startswith": ballot.receipt_hash[:4]},
        {"o": "1"},
        {"o": "-0"},
    ):
        response = superuser_client.get("/admin/votes/ballot/", probe)
        if probe.keys() == {"o"}:
            # Ordering is by receipt hash only, whatever the column number asks.
            order = [b.receipt_hash for b in response.context["cl"].result_list]
            assert order in (sorted(order), sorted(order, reverse=True)), probe
            continue
        assert _refused(response), probe
    page = superuser_client.get(f"/admin/votes/ballot/{ballot.pk}/change/").content.decode()
    for voter in voters:
        assert voter.email not in page
    assert ballot.cast_on.isoformat() not in page
    listing = superuser_client.get("/admin/votes/ballot/", {"campaign__id__exact": campaign.pk})
    assert listing.context["cl"].result_count == 3


def test_the_register_admin_shows_who_voted_and_reaches_no_ballot(superuser_client, make_campaign, voter, ids):
    campaign = make_campaign()
    cast = ballot_cast(campaign=campaign, voter=voter, choices=[ids(campaign)[0]], channel=Channel.WEB)
    listing = superuser_client.get("/admin/votes/participation/").content.decode()
    assert str(voter) in listing
    participation = Participation.objects.get()
    page = superuser_client.get(f"/admin/votes/participation/{participation.pk}/change/").content.decode()
    assert cast.ballot.receipt_hash not in page
    assert str(cast.ballot.pk) not in page


# --- One vote across a municipality's lists ------------------------------------------


def test_a_second_ballot_in_another_list_of_the_vote_is_refused(one_vote, voter, ids):
    territories, design = one_vote
    ballot_cast(campaign=design, voter=voter, choices=[ids(design)[0]], channel=Channel.WEB)
    with pytest.raises(AlreadyVotedInVote) as refused:
        ballot_cast(campaign=territories, voter=voter, choices=[ids(territories)[0]], channel=Channel.API)
    assert refused.value.code == "already_voted_in_vote"
    assert refused.value.http_status == 409
    assert Participation.objects.filter(voter=voter).count() == 1
    assert Ballot.objects.count() == 1


def test_the_web_and_the_api_tell_a_resident_where_they_voted(one_vote, voter, ids, token_client):
    territories, design = one_vote
    ballot_cast(campaign=design, voter=voter, choices=[ids(design)[1]], channel=Channel.WEB)
    client = Client()
    client.force_login(voter)
    refused = client.get(f"/campaigns/{territories.pk}/ballot/")
    assert refused.status_code == 409
    text = refused.content.decode()
    assert 'data-refusal="already_voted_in_vote"' in text
    assert design.title in text
    assert design.title in client.get(f"/campaigns/{territories.pk}/").content.decode()
    api = token_client(voter).post(
        f"/api/v1/campaigns/{territories.pk}/ballots/", {"choices": [{"entry": ids(territories)[0]}]}, format="json"
    )
    assert api.status_code == 409
    assert api.json()["code"] == "already_voted_in_vote"
    mine = token_client(voter).get("/api/v1/ballots/mine/").json()["results"]
    assert [row["campaign"] for row in mine] == [design.pk]


def test_a_volunteer_cannot_give_a_second_ballot_in_the_vote(one_vote, volunteer, voter, ids):
    territories, design = one_vote
    ballot_cast(campaign=territories, voter=voter, choices=[ids(territories)[0]], channel=Channel.WEB)
    with pytest.raises(AlreadyVoted) as refused:
        ballot_cast(
            campaign=design, voter=voter, choices=[ids(design)[0]], channel=Channel.VOLUNTEER, volunteer=volunteer
        )
    assert refused.value.code == "already_voted_in_vote"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_ballots_in_two_lists_of_one_vote_give_one(one_vote, voter, ids):
    territories, design = one_vote
    barrier = threading.Barrier(8)
    results: list = [None] * 8

    def cast(i: int) -> None:
        campaign = territories if i % 2 else design
        try:
            barrier.wait()
            results[i] = ballot_cast(campaign=campaign, voter=voter, choices=[ids(campaign)[0]], channel=Channel.WEB)
        except Exception as error:  # every outcome is inspected below
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=cast, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes["CastBallot"] == 1, results
    assert outcomes["AlreadyVoted"] + outcomes["AlreadyVotedInVote"] == 7, results
    assert Participation.objects.filter(voter=voter).count() == 1
    assert Ballot.objects.count() == 1


# --- The sealed link: only the commission's key opens it ------------------------------


def test_the_commission_key_seals_each_link_and_opens_only_a_named_one(make_campaign, make_user, ids, tmp_path: Path):
    campaign = make_campaign(phase="upcoming")
    call_command("commission_key", str(campaign.pk), "--out", str(tmp_path))
    key_file = tmp_path / f"campaign-{campaign.pk}-commission.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    campaign.refresh_from_db()
    assert len(campaign.commission_public_key) == 64
    assert key_file.read_text().split(":")[2].strip() not in str(Campaign.objects.values().get(pk=campaign.pk))

    Campaign.objects.filter(pk=campaign.pk).update(voting_opens_at=campaign.voting_opens_at.replace(year=2000))
    campaign.refresh_from_db()
    casts = {}
    for _ in range(3):
        voter = make_user()
        casts[voter.pk] = ballot_cast(campaign=campaign, voter=voter, choices=[ids(campaign)[0]], channel=Channel.WEB)
    named = Participation.objects.order_by("pk")[1]
    assert named.sealed_link is not None
    assert casts[named.voter_id].ballot.receipt_hash not in bytes(named.sealed_link).hex()

    opened = participation_link_open(participation=named, key_texts=[key_file.read_text()], reason="дубликат")
    assert opened == casts[named.voter_id].ballot.receipt_hash
    event = AuditEvent.objects.get(action="action:participation_link_open")
    assert event.object_id == str(named.pk)
    assert opened not in str(event.after)
    assert opened not in str(event.before)

    with pytest.raises(CommissionKeyError) as no_reason:
        participation_link_open(participation=named, key_texts=[key_file.read_text()], reason=" ")
    assert no_reason.value.code == "no_reason"
    other = make_campaign(phase="upcoming")
    other_key = commission_key_create(campaign=other)
    with pytest.raises(CommissionKeyError) as wrong:
        participation_link_open(
            participation=named, key_texts=[sealing.key_text(campaign.pk, other_key.private)], reason="x"
        )
    assert wrong.value.code == "wrong_key"


def test_k_of_n_shares_open_a_link_and_fewer_do_not(make_campaign, voter, ids, tmp_path: Path):
    campaign = make_campaign(phase="upcoming")
    call_command("commission_key", str(campaign.pk), "--out", str(tmp_path), "--shares", "5", "--threshold", "3")
    shares = sorted(tmp_path.glob(f"campaign-{campaign.pk}-share-*"))
    assert len(shares) == 5
    Campaign.objects.filter(pk=campaign.pk).update(voting_opens_at=campaign.voting_opens_at.replace(year=2000))
    campaign.refresh_from_db()
    cast = ballot_cast(campaign=campaign, voter=voter, choices=[ids(campaign)[0]], channel=Channel.WEB)
    named = Participation.objects.get()
    texts = [path.read_text() for path in shares]
    for chosen in (texts[:3], texts[2:], [texts[0], texts[2], texts[4]]):
        assert participation_link_open(participation=named, key_texts=chosen, reason="проверка") == (
            cast.ballot.receipt_hash
        )
    with pytest.raises(CommissionKeyError) as too_few:
        participation_link_open(participation=named, key_texts=texts[:2], reason="проверка")
    assert too_few.value.code == "wrong_key"
    assert "3 are needed" in str(too_few.value.message)


def test_the_key_is_made_once_and_before_the_vote_opens(make_campaign, tmp_path: Path):
    open_now = make_campaign()
    with pytest.raises(CommandError, match="Голосование уже началось"):
        call_command("commission_key", str(open_now.pk), "--out", str(tmp_path))
    upcoming = make_campaign(phase="upcoming")
    commission_key_create(campaign=upcoming)
    with pytest.raises(CommissionKeyError) as again:
        commission_key_create(campaign=upcoming)
    assert again.value.code == "key_exists"
    assert AuditEvent.objects.filter(action="action:commission_key_create").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_seal_rewrites_the_box_so_no_row_pairs_with_the_register(make_campaign, make_user, ids):
    from votes.services import campaign_close, ledger_head_compute, ledger_seal, tally_compute

    campaign = make_campaign()
    for n in range(6):
        ballot_cast(campaign=campaign, voter=make_user(), choices=[ids(campaign)[n % 3]], channel=Channel.WEB)

    def xmins(table: str) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT xmin::text FROM {table} WHERE campaign_id = %s ORDER BY ctid", [campaign.pk])  # noqa: S608
            return [row[0] for row in cursor.fetchall()]

    # While the vote is open, each ballot shares its transaction with its participation.
    assert xmins("votes_ballot") == xmins("votes_participation")
    head_before, _count = ledger_head_compute(campaign.pk)
    choices_before = sorted(Ballot.objects.filter(campaign=campaign).values_list("pk", "choices__entry_id"))
    campaign_close(campaign=campaign)
    tally_compute(campaign_id=campaign.pk, final=True)
    assert ledger_seal(campaign_id=campaign.pk) == head_before
    assert len(set(xmins("votes_ballot"))) == 1
    assert not set(xmins("votes_ballot")) & set(xmins("votes_participation"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT receipt_hash FROM votes_ballot WHERE campaign_id = %s ORDER BY ctid", [campaign.pk])
        physical = [row[0] for row in cursor.fetchall()]
    assert physical == sorted(physical)
    assert sorted(Ballot.objects.filter(campaign=campaign).values_list("pk", "choices__entry_id")) == choices_before
    assert ledger_head_compute(campaign.pk)[0] == head_before


def test_officials_are_told_before_the_vote_opens_that_it_has_no_commission_key(make_campaign, official):
    upcoming = make_campaign(phase="upcoming")
    client = Client()
    client.force_login(official)
    page = client.get(f"/admin/votes/campaign/{upcoming.pk}/change/").content.decode()
    assert "нет ключа комиссии" in page
    assert f"commission_key {upcoming.pk}" in page
    commission_key_create(campaign=upcoming)
    page = client.get(f"/admin/votes/campaign/{upcoming.pk}/change/").content.decode()
    assert "нет ключа комиссии" not in page
