"""ballot_cast: every method's limits, eligibility, and nothing written on refusal."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts.models import User
from votes.models import Ballot, BallotChoice, Campaign, Channel, Participation, VoteGroup
from votes.receipts import receipt_hash
from votes.services import (
    AlreadyVoted,
    CampaignNotOpen,
    DuplicateEntry,
    InvalidPoints,
    InvalidRanking,
    MalformedChoices,
    NotAllowedToAssist,
    NotEligible,
    OverBudget,
    PointsOverLimit,
    TooFewChoices,
    TooManyChoices,
    UnknownEntry,
    ballot_cast,
    campaign_close,
    campaign_open,
)

pytestmark = pytest.mark.django_db


def refused(error_class, code, **cast):
    """Cast, expect `error_class` with `code`, and check that no row was written."""
    before = (Ballot.objects.count(), BallotChoice.objects.count())
    with pytest.raises(error_class) as caught:
        ballot_cast(channel=Channel.WEB, **cast)
    assert caught.value.code == code
    assert str(caught.value.message)  # a message a person can read
    assert (Ballot.objects.count(), BallotChoice.objects.count()) == before
    return caught.value


# --- Success per method -------------------------------------------------------------


def test_choose_one_ballot_is_recorded_with_a_receipt(make_campaign, voter, ids):
    campaign = make_campaign(method="choose-1")
    cast = ballot_cast(campaign=campaign, voter=voter, choices=[(ids(campaign)[1], None)], channel=Channel.WEB)
    assert re.fullmatch(r"[A-Z2-7]{5}(-[A-Z2-7]{5}){3}", cast.receipt)
    ballot = Ballot.objects.get()
    assert ballot.receipt_hash == receipt_hash(cast.receipt) != cast.receipt
    assert list(ballot.choices.values_list("entry_id", "points", "campaign_id")) == [(ids(campaign)[1], 1, campaign.pk)]
    participation = Participation.objects.get()
    assert (participation.campaign, participation.voter, participation.channel) == (campaign, voter, "web")
    assert participation.voted_at == cast.cast_at
    assert abs(participation.voted_at - timezone.now()) < datetime.timedelta(minutes=1)
    assert ballot.cast_on == timezone.localdate(participation.voted_at)
    assert cast.ballot.pk == ballot.pk
    assert ballot.pk > 2**32


def test_receipt_hash_ignores_case_and_separators():
    assert receipt_hash("abcde-fghij-klmno-pqrst") == receipt_hash("ABCDE FGHIJ KLMNO PQRST")
    assert receipt_hash("ABCDE-FGHIJ-KLMNO-PQRST") != receipt_hash("ABCDE-FGHIJ-KLMNO-PQRSA")


def test_approval_ballot_accepts_entries_without_points(make_campaign, voter, ids):
    campaign = make_campaign(method="approval", max_choices=3)
    e = ids(campaign)
    ballot_cast(campaign=campaign, voter=voter, choices=[(e[0], None), (e[2], 1), e[3]], channel=Channel.API)
    assert sorted(BallotChoice.objects.values_list("entry_id", flat=True)) == sorted([e[0], e[2], e[3]])
    assert Participation.objects.get().channel == "api"


def test_cumulative_ballot_keeps_points(make_campaign, voter, ids):
    campaign = make_campaign(method="cumulative", points=10)
    e = ids(campaign)
    ballot_cast(campaign=campaign, voter=voter, choices=[(e[0], 7), (e[1], 3)], channel=Channel.WEB)
    assert dict(BallotChoice.objects.values_list("entry_id", "points")) == {e[0]: 7, e[1]: 3}


def test_ordinal_ballot_keeps_ranks(make_campaign, voter, ids):
    campaign = make_campaign(method="ordinal", max_choices=3)
    e = ids(campaign)
    ballot_cast(campaign=campaign, voter=voter, choices=[(e[3], 1), (e[0], 3), (e[1], 2)], channel=Channel.WEB)
    assert dict(BallotChoice.objects.values_list("entry_id", "points")) == {e[3]: 1, e[1]: 2, e[0]: 3}


def test_knapsack_ballot_within_budget(make_campaign, voter, ids):
    campaign = make_campaign(
        method="knapsack", budget=Decimal("1000000"), costs=[Decimal("600000"), Decimal("400000"), Decimal("500000")]
    )
    e = ids(campaign)
    ballot_cast(campaign=campaign, voter=voter, choices=[(e[0], None), (e[1], None)], channel=Channel.WEB)
    assert BallotChoice.objects.count() == 2


# --- Limits per method --------------------------------------------------------------


def test_choose_one_refuses_two_choices(make_campaign, voter, ids):
    campaign = make_campaign(method="choose-1")
    e = ids(campaign)
    refused(TooManyChoices, "too_many_choices", campaign=campaign, voter=voter, choices=[(e[0], None), (e[1], None)])


@pytest.mark.parametrize("method", ["choose-1", "approval", "cumulative", "ordinal", "knapsack"])
def test_empty_ballot_is_too_few(make_campaign, voter, method):
    campaign = make_campaign(method=method)
    refused(TooFewChoices, "too_few_choices", campaign=campaign, voter=voter, choices=[])


def test_approval_refuses_too_many_and_too_few(make_campaign, voter, ids):
    campaign = make_campaign(method="approval", min_choices=2, max_choices=3)
    e = ids(campaign)
    refused(TooManyChoices, "too_many_choices", campaign=campaign, voter=voter, choices=[(x, None) for x in e])
    error = refused(TooFewChoices, "too_few_choices", campaign=campaign, voter=voter, choices=[(e[0], None)])
    assert "2" in str(error.message)


@pytest.mark.parametrize("method", ["choose-1", "approval", "cumulative", "ordinal", "knapsack"])
def test_duplicated_entry_is_refused(make_campaign, voter, ids, method):
    campaign = make_campaign(method=method, min_choices=1, max_choices=1 if method == "choose-1" else 3)
    e = ids(campaign)
    choices = [(e[0], 1), (e[0], 2)] if method == "ordinal" else [(e[0], 1), (e[0], 1)]
    refused(DuplicateEntry, "duplicate_entry", campaign=campaign, voter=voter, choices=choices)


@pytest.mark.parametrize("method", ["choose-1", "approval", "cumulative", "ordinal", "knapsack"])
def test_entry_of_another_campaign_is_refused(make_campaign, voter, ids, method):
    campaign = make_campaign(method=method)
    other = make_campaign(method=method)
    refused(UnknownEntry, "unknown_entry", campaign=campaign, voter=voter, choices=[(ids(other)[0], 1)])
    refused(UnknownEntry, "unknown_entry", campaign=campaign, voter=voter, choices=[(10**9, 1)])


def test_approval_refuses_points(make_campaign, voter, ids):
    campaign = make_campaign(method="approval")
    refused(InvalidPoints, "invalid_points", campaign=campaign, voter=voter, choices=[(ids(campaign)[0], 5)])


def test_cumulative_refuses_points_over_the_limit(make_campaign, voter, ids):
    campaign = make_campaign(method="cumulative", points=10)
    e = ids(campaign)
    error = refused(
        PointsOverLimit, "points_over_limit", campaign=campaign, voter=voter, choices=[(e[0], 8), (e[1], 3)]
    )
    assert "11" in str(error.message)
    assert "10" in str(error.message)


def test_cumulative_refuses_zero_negative_or_missing_points(make_campaign, voter, ids):
    campaign = make_campaign(method="cumulative", points=10)
    e = ids(campaign)
    refused(InvalidPoints, "invalid_points", campaign=campaign, voter=voter, choices=[(e[0], 0)])
    refused(InvalidPoints, "invalid_points", campaign=campaign, voter=voter, choices=[(e[0], -2)])
    refused(InvalidPoints, "invalid_points", campaign=campaign, voter=voter, choices=[(e[0], None)])
    refused(InvalidPoints, "invalid_points", campaign=campaign, voter=voter, choices=[(e[0], 10**6)])


@pytest.mark.parametrize(
    "ranks",
    [[1, 3], [2, 3], [1, 1], [1, None], [0, 1]],
    ids=["gap", "no-first", "shared", "missing", "zero"],
)
def test_ordinal_refuses_broken_rankings(make_campaign, voter, ids, ranks):
    campaign = make_campaign(method="ordinal", max_choices=3)
    e = ids(campaign)
    with pytest.raises((InvalidRanking, InvalidPoints)) as refused:
        ballot_cast(campaign=campaign, voter=voter, choices=list(zip(e, ranks, strict=False)), channel=Channel.WEB)
    assert refused.value.code in ("invalid_ranking", "invalid_points")
    assert Ballot.objects.count() == 0
    assert BallotChoice.objects.count() == 0


def test_ordinal_refuses_too_many_ranks(make_campaign, voter, ids):
    campaign = make_campaign(method="ordinal", max_choices=2)
    e = ids(campaign)
    refused(
        TooManyChoices, "too_many_choices", campaign=campaign, voter=voter, choices=[(e[0], 1), (e[1], 2), (e[2], 3)]
    )


def test_knapsack_refuses_a_basket_over_the_budget(make_campaign, voter, ids):
    campaign = make_campaign(
        method="knapsack", budget=Decimal("1000000"), costs=[Decimal("600000"), Decimal("500000"), Decimal("100")]
    )
    e = ids(campaign)
    error = refused(OverBudget, "over_budget", campaign=campaign, voter=voter, choices=[(e[0], None), (e[1], None)])
    assert "1\u00a0100\u00a0000" in str(error.message)


@pytest.mark.parametrize("choices", ["12", {"1": 1}, [("1", 1)], [(1, "2")], [(True, 1)], [(1, 2, 3)], None, [None]])
def test_malformed_choices_are_refused(make_campaign, voter, choices):
    campaign = make_campaign(method="approval")
    refused(MalformedChoices, "malformed_choices", campaign=campaign, voter=voter, choices=choices)


# --- Phases and eligibility ---------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "code"),
    [("upcoming", "campaign_not_yet_open"), ("ideas", "campaign_not_yet_open"), ("closed", "campaign_closed")],
)
def test_campaign_not_open_is_refused(make_campaign, voter, ids, phase, code):
    campaign = make_campaign(phase=phase)
    refused(CampaignNotOpen, code, campaign=campaign, voter=voter, choices=[(ids(campaign)[0], None)])


def test_closed_by_an_official_before_the_window_ends_is_refused(make_campaign, voter, ids):
    campaign = make_campaign()
    campaign_close(campaign=campaign)
    refused(CampaignNotOpen, "campaign_closed", campaign=campaign, voter=voter, choices=[(ids(campaign)[0], None)])


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("unverified", "not_verified"),
        ("under_age", "under_age"),
        ("no_birth_date", "birth_date_missing"),
        ("no_residence", "residence_missing"),
        ("other_town", "not_resident"),
        ("inactive", "account_inactive"),
    ],
)
def test_ineligible_voters_are_refused(make_campaign, make_user, neighbour_town, ids, kind, code):
    user = {
        "unverified": lambda: make_user(verified=False),
        "under_age": lambda: make_user(age=13),
        "no_birth_date": lambda: make_user(age=None),
        "no_residence": lambda: make_user(municipality=None),
        "other_town": lambda: make_user(municipality=neighbour_town),
        "inactive": lambda: make_user(is_active=False),
    }[kind]()
    campaign = make_campaign()
    refused(NotEligible, code, campaign=campaign, voter=user, choices=[(ids(campaign)[0], None)])


def test_birthday_today_makes_the_voter_old_enough(make_campaign, make_user, ids):
    campaign = make_campaign(min_age=14)
    user = make_user(age=14)
    ballot_cast(campaign=campaign, voter=user, choices=[(ids(campaign)[0], None)], channel=Channel.WEB)
    assert Participation.objects.filter(voter=user).count() == 1


def test_region_wide_campaign_takes_residents_of_the_region(make_campaign, make_user, neighbour_town, far_town, ids):
    campaign = make_campaign(residence_scope="region")
    neighbour = make_user(municipality=neighbour_town)
    ballot_cast(campaign=campaign, voter=neighbour, choices=[(ids(campaign)[0], None)], channel=Channel.WEB)
    outsider = make_user(municipality=far_town)
    refused(NotEligible, "not_resident", campaign=campaign, voter=outsider, choices=[(ids(campaign)[0], None)])


def test_second_ballot_is_refused(make_campaign, voter, ids):
    campaign = make_campaign()
    e = ids(campaign)
    ballot_cast(campaign=campaign, voter=voter, choices=[(e[0], None)], channel=Channel.WEB)
    refused(AlreadyVoted, "already_voted", campaign=campaign, voter=voter, choices=[(e[1], None)])


def test_second_ballot_through_the_database_constraint(make_campaign, voter, ids, monkeypatch):
    """With the friendly pre-check out of the way, the unique constraint still refuses."""
    campaign = make_campaign()
    e = ids(campaign)
    ballot_cast(campaign=campaign, voter=voter, choices=[(e[0], None)], channel=Channel.WEB)

    real = Ballot.objects

    class NoPrecheck:
        def filter(self, **kwargs):
            return real.none() if "voter" in kwargs else real.filter(**kwargs)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(Ballot, "objects", NoPrecheck())
    with pytest.raises(AlreadyVoted) as refused:
        ballot_cast(campaign=campaign, voter=voter, choices=[(e[1], None)], channel=Channel.API)
    assert refused.value.code == "already_voted"
    monkeypatch.undo()
    assert Ballot.objects.count() == 1


# --- Channels -----------------------------------------------------------------------


def test_volunteer_ballot_records_the_volunteer(make_campaign, voter, volunteer, ids):
    campaign = make_campaign()
    ballot_cast(
        campaign=campaign,
        voter=voter,
        choices=[(ids(campaign)[0], None)],
        channel=Channel.VOLUNTEER,
        volunteer=volunteer,
    )
    assert Participation.objects.get().volunteer == volunteer
    assert Ballot.objects.count() == 1


def test_only_volunteers_assist(make_campaign, voter, make_user, ids):
    campaign = make_campaign()
    impostor = make_user()
    for helper in (None, impostor):
        with pytest.raises(NotAllowedToAssist) as refused:
            ballot_cast(
                campaign=campaign,
                voter=voter,
                choices=[(ids(campaign)[0], None)],
                channel=Channel.VOLUNTEER,
                volunteer=helper,
            )
        assert refused.value.code == "not_allowed_to_assist"
    assert Ballot.objects.count() == 0


def test_paper_ballots_are_entered_by_officials_of_the_municipality(make_campaign, voter, make_user, town, ids):
    campaign = make_campaign()
    official = make_user(role=User.Role.MUNICIPAL_OFFICIAL)
    with pytest.raises(NotAllowedToAssist) as refused:
        ballot_cast(
            campaign=campaign,
            voter=voter,
            choices=[(ids(campaign)[0], None)],
            channel=Channel.PAPER,
            volunteer=official,
        )
    assert refused.value.code == "not_allowed_to_assist"
    official.scope_municipalities.add(town)
    ballot_cast(
        campaign=campaign, voter=voter, choices=[(ids(campaign)[0], None)], channel=Channel.PAPER, volunteer=official
    )
    assert Participation.objects.get().channel == "paper"


# --- Lifecycle ----------------------------------------------------------------------


def test_campaign_close_is_idempotent(make_campaign):
    campaign = make_campaign()
    campaign_close(campaign=campaign)
    first = campaign.closed_at
    assert first is not None
    campaign_close(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.closed_at == first


def test_campaign_open_stamps_once_and_never_reopens(make_campaign):
    campaign = make_campaign()
    campaign_open(campaign=campaign)
    first = campaign.opened_at
    assert first is not None
    campaign_open(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.opened_at == first
    campaign_close(campaign=campaign)
    with pytest.raises(CampaignNotOpen) as refused:
        campaign_open(campaign=campaign)
    assert refused.value.code == "campaign_closed"


# --- PostgreSQL has the last word ---------------------------------------------------


@pytest.mark.postgres
def test_database_refuses_a_choice_of_another_campaigns_entry(make_campaign, voter, ids):
    campaign = make_campaign()
    other = make_campaign()
    cast = ballot_cast(campaign=campaign, voter=voter, choices=[(ids(campaign)[0], None)], channel=Channel.WEB)
    with pytest.raises(IntegrityError, match="choice_entry_same_campaign"), transaction.atomic():
        BallotChoice.objects.create(ballot=cast.ballot, campaign=campaign, entry_id=ids(other)[0])
    with pytest.raises(IntegrityError, match="choice_ballot_same_campaign"), transaction.atomic():
        # Claiming the other campaign on the choice does not help: the ballot is not of it.
        BallotChoice.objects.create(ballot=cast.ballot, campaign=other, entry_id=ids(other)[0])
    assert BallotChoice.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["closed_at", "window_over", "not_yet"])
def test_database_refuses_a_ballot_outside_the_window_even_from_the_orm(make_campaign, voter, how):
    campaign = make_campaign(phase="upcoming" if how == "not_yet" else "voting")
    if how == "closed_at":
        campaign_close(campaign=campaign)
    elif how == "window_over":
        now = timezone.now()
        type(campaign).objects.filter(pk=campaign.pk).update(
            voting_opens_at=now - datetime.timedelta(days=3), voting_closes_at=now - datetime.timedelta(seconds=1)
        )
    with pytest.raises(IntegrityError, match="not open for ballots"), transaction.atomic():
        Participation.objects.create(campaign=campaign, voter=voter, channel="web")
    assert Participation.objects.count() == 0


@pytest.mark.postgres
def test_database_stamps_the_time_and_the_vote_of_a_participation(make_campaign, voter):
    campaign = make_campaign()
    group = VoteGroup.objects.create(municipality=campaign.municipality, year=campaign.year)
    Campaign.objects.filter(pk=campaign.pk).update(vote_group=group)
    claimed = timezone.now() - datetime.timedelta(days=365)
    participation = Participation.objects.create(
        campaign=campaign, voter=voter, channel="web", voted_at=claimed, vote_group=None
    )
    participation.refresh_from_db()
    assert participation.voted_at > claimed + datetime.timedelta(days=300)
    assert participation.vote_group_id == group.pk  # the campaign's, whatever the insert said
