"""Each check and unique constraint of the projects and votes models refuses a bad row
in the database itself (Python validation bypassed), on SQLite and PostgreSQL.

The PostgreSQL-only composite foreign keys and the ballot-window trigger are tested
with the vote services. Every case starts from a valid row (the builders) and breaks
one thing; the test then checks the database names the constraint it broke (SQLite
names CHECK constraints but not UNIQUE ones, so those names are checked on PostgreSQL).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from portal.accounts.models import User
from projects.models import Comment, CommentReport, Municipality, ProgressUpdate, Proposal, Region, Space
from tests.builders import (
    make_ballot,
    make_campaign,
    make_entry,
    make_imported_ballot,
    make_municipality,
    make_participation,
    make_proposal,
    make_region,
    make_space,
    make_user,
    receipt_hash,
)
from votes.models import Ballot, BallotChoice, Campaign, Participation, Tally, TallyRow, VoteGroup

pytestmark = pytest.mark.django_db

NOW = timezone.now()
DAY = datetime.timedelta(days=1)


@dataclass
class World:
    region: Region
    municipality: Municipality
    space: Space
    proposal: Proposal
    user: User


@pytest.fixture
def w() -> World:
    region = make_region(name="Свердловская область", slug="sve", code="RU-SVE")
    municipality = make_municipality(region, name="Екатеринбург", slug="ekb", oktmo="65701000")
    space = make_space(municipality, name="Сквер у Театра драмы")
    return World(region, municipality, space, make_proposal(space), make_user())


def proposal_with(w: World, **fields) -> Proposal:
    return make_proposal(w.space, dated=False, **fields)


def campaign_with(w: World, **fields):
    return make_campaign(w.municipality, **fields)


def ballot_case(w: World):
    campaign = make_campaign(w.municipality)
    return campaign, make_entry(campaign)


def choice_twice(w: World) -> None:
    campaign, entry = ballot_case(w)
    ballot = make_ballot(campaign)
    BallotChoice.objects.create(ballot=ballot, campaign=campaign, entry=entry)
    BallotChoice.objects.create(ballot=ballot, campaign=campaign, entry=entry)


def choice_zero_points(w: World) -> None:
    campaign, entry = ballot_case(w)
    BallotChoice.objects.create(ballot=make_ballot(campaign), campaign=campaign, entry=entry, points=0)


def second_tally(w: World) -> None:
    campaign = make_campaign(w.municipality)
    Tally.objects.create(campaign=campaign, kind="final")
    Tally.objects.create(campaign=campaign, kind="final")


def tally_row_twice(w: World) -> None:
    campaign, entry = ballot_case(w)
    tally = Tally.objects.create(campaign=campaign, kind="live")
    TallyRow.objects.create(tally=tally, entry=entry, votes=1, score=1, rank=1, selected=True)
    TallyRow.objects.create(tally=tally, entry=entry, votes=2, score=2, rank=1, selected=True)


def comment_report_twice(w: World) -> None:
    comment = Comment.objects.create(proposal=w.proposal, author=w.user, body="Хорошая идея")
    CommentReport.objects.create(comment=comment, reporter=w.user, reason="спам")
    CommentReport.objects.create(comment=comment, reporter=w.user, reason="спам ещё раз")


# (case id, constraint name, is a CHECK constraint, the bad write)
def second_list_of_one_vote(w: World) -> None:
    """One person, two lists of one vote group: the group's rule refuses the second."""
    first = make_campaign(w.municipality)
    group = VoteGroup.objects.create(municipality=w.municipality, year=first.year)
    second = make_campaign(w.municipality, year=first.year)
    Campaign.objects.filter(pk__in=[first.pk, second.pk]).update(vote_group=group)
    first.refresh_from_db()
    second.refresh_from_db()
    make_participation(first, w.user, vote_group=group)
    make_participation(second, w.user, vote_group=group)


CASES = [
    # projects.Region
    ("region_name_unique", "", False, lambda w: make_region(name=w.region.name)),
    ("region_slug_unique", "", False, lambda w: make_region(slug=w.region.slug)),
    ("region_code_unique", "", False, lambda w: make_region(code=w.region.code)),
    # projects.Municipality
    (
        "municipality_name_in_region",
        "municipality_unique_name_in_region",
        False,
        lambda w: make_municipality(w.region, name=w.municipality.name),
    ),
    ("municipality_slug_unique", "", False, lambda w: make_municipality(slug=w.municipality.slug)),
    ("municipality_oktmo_unique", "", False, lambda w: make_municipality(oktmo=w.municipality.oktmo)),
    ("municipality_oktmo_letters", "municipality_oktmo_digits", True, lambda w: make_municipality(oktmo="6570100A")),
    ("municipality_oktmo_length", "municipality_oktmo_digits", True, lambda w: make_municipality(oktmo="657010")),
    (
        "municipality_population_zero",
        "municipality_population_positive",
        True,
        lambda w: make_municipality(population=0),
    ),
    # projects.Space
    (
        "space_name_in_municipality_any_case",
        "space_unique_name_in_municipality",
        False,
        lambda w: [make_space(w.municipality, name="Park Gorky"), make_space(w.municipality, name="PARK gorky")],
    ),
    ("space_area_zero", "space_area_positive", True, lambda w: make_space(area_m2=Decimal(0))),
    ("space_latitude_off_earth", "space_coordinates_on_earth", True, lambda w: make_space(latitude=Decimal(91))),
    ("space_longitude_off_earth", "space_coordinates_on_earth", True, lambda w: make_space(longitude=Decimal(-181))),
    # projects.Proposal
    ("proposal_cost_zero", "proposal_cost_positive", True, lambda w: proposal_with(w, estimated_cost=Decimal(0))),
    ("proposal_spent_negative", "proposal_spent_not_negative", True, lambda w: proposal_with(w, spent=Decimal(-1))),
    (
        "proposal_approved_without_date",
        "proposal_approved_has_date",
        True,
        lambda w: proposal_with(w, approved_at=None),
    ),
    (
        "proposal_selected_without_date",
        "proposal_selected_has_date",
        True,
        lambda w: proposal_with(w, status="selected"),
    ),
    (
        "proposal_design_without_date",
        "proposal_design_has_date",
        True,
        lambda w: proposal_with(w, status="in_design", selected_at=NOW),
    ),
    (
        "proposal_construction_without_date",
        "proposal_construction_has_date",
        True,
        lambda w: proposal_with(w, status="under_construction", selected_at=NOW, design_at=NOW),
    ),
    (
        "proposal_completed_without_date",
        "proposal_completed_has_date",
        True,
        lambda w: proposal_with(w, status="completed", selected_at=NOW, design_at=NOW, construction_at=NOW),
    ),
    (
        "proposal_rejected_without_date",
        "proposal_rejected_has_date_and_reason",
        True,
        lambda w: proposal_with(w, status="rejected", rejection_reason="Нет места"),
    ),
    (
        "proposal_rejected_without_reason",
        "proposal_rejected_has_date_and_reason",
        True,
        lambda w: proposal_with(w, status="rejected", rejected_at=NOW),
    ),
    (
        "proposal_merged_without_target",
        "proposal_merged_has_target",
        True,
        lambda w: proposal_with(w, status="merged", rejected_at=NOW),
    ),
    (
        "proposal_merged_into_itself",
        "proposal_not_merged_into_itself",
        True,
        lambda w: Proposal.objects.filter(pk=w.proposal.pk).update(merged_into=w.proposal.pk),
    ),
    # projects: progress, comments
    (
        "progress_spent_negative",
        "progress_spent_not_negative",
        True,
        lambda w: ProgressUpdate.objects.create(
            proposal=w.proposal, stage="design", text="Проект готов", happened_on=NOW.date(), spent_to_date=-1
        ),
    ),
    (
        "comment_hidden_without_reason",
        "comment_hidden_has_reason",
        True,
        lambda w: Comment.objects.create(proposal=w.proposal, author=w.user, body="…", hidden_at=NOW),
    ),
    ("comment_reported_twice", "comment_report_once_per_reporter", False, comment_report_twice),
    # votes.Campaign
    (
        "campaign_window_reversed",
        "campaign_voting_window_ordered",
        True,
        lambda w: campaign_with(w, voting_closes_at=NOW - 2 * DAY),
    ),
    (
        "campaign_ideas_window_half",
        "campaign_ideas_window_ordered",
        True,
        lambda w: campaign_with(w, ideas_open_at=NOW - 9 * DAY),
    ),
    (
        "campaign_ideas_window_reversed",
        "campaign_ideas_window_ordered",
        True,
        lambda w: campaign_with(w, ideas_open_at=NOW - 5 * DAY, ideas_close_at=NOW - 9 * DAY),
    ),
    (
        "campaign_ideas_after_voting_opens",
        "campaign_ideas_before_voting",
        True,
        lambda w: campaign_with(w, ideas_open_at=NOW - 9 * DAY, ideas_close_at=NOW),
    ),
    ("campaign_min_choices_zero", "campaign_choice_limits_ordered", True, lambda w: campaign_with(w, min_choices=0)),
    (
        "campaign_max_below_min",
        "campaign_choice_limits_ordered",
        True,
        lambda w: campaign_with(w, min_choices=3, max_choices=2),
    ),
    (
        "campaign_choose_one_with_three",
        "campaign_choose_one_is_one",
        True,
        lambda w: campaign_with(w, method="choose-1", max_choices=3),
    ),
    (
        "campaign_cumulative_without_points",
        "campaign_cumulative_has_points",
        True,
        lambda w: campaign_with(w, method="cumulative"),
    ),
    ("campaign_budget_zero", "campaign_budget_positive", True, lambda w: campaign_with(w, budget=Decimal(0))),
    (
        "campaign_knapsack_without_budget",
        "campaign_knapsack_has_budget",
        True,
        lambda w: campaign_with(w, method="knapsack", rule="top-k", winners=2, budget=None),
    ),
    (
        "campaign_greedy_without_budget",
        "campaign_budget_rule_has_budget",
        True,
        lambda w: campaign_with(w, budget=None),
    ),
    (
        "campaign_top_k_without_winners",
        "campaign_top_k_has_winners",
        True,
        lambda w: campaign_with(w, rule="top-k", budget=None),
    ),
    (
        "campaign_threshold_without_score",
        "campaign_threshold_rule_has_threshold",
        True,
        lambda w: campaign_with(w, rule="greedy-threshold"),
    ),
    ("campaign_min_age_over_120", "campaign_min_age_sane", True, lambda w: campaign_with(w, min_age=121)),
    (
        "campaign_published_before_close",
        "campaign_published_after_close",
        True,
        lambda w: campaign_with(w, results_published_at=NOW),
    ),
    # votes.Entry
    (
        "entry_proposal_twice",
        "entry_proposal_once_per_campaign",
        False,
        lambda w: [make_entry(c := make_campaign(w.municipality), w.proposal), make_entry(c, w.proposal)],
    ),
    (
        "entry_external_id_twice",
        "entry_external_id_unique",
        False,
        lambda w: [make_entry(c := make_campaign(w.municipality), external_id="7"), make_entry(c, external_id="7")],
    ),
    (
        "entry_cost_zero",
        "entry_cost_positive",
        True,
        lambda w: make_entry(make_campaign(w.municipality), cost=Decimal(0)),
    ),
    # votes.Ballot
    # votes.Participation (the register) and votes.Ballot (the box)
    (
        "participation_second_for_voter",
        "participation_one_per_voter",
        False,
        lambda w: [make_ballot(c := make_campaign(w.municipality), w.user), make_ballot(c, w.user)],
    ),
    (
        "participation_second_in_the_vote_group",
        "participation_one_per_voter_in_vote",
        False,
        second_list_of_one_vote,
    ),
    (
        "participation_second_for_external_voter",
        "participation_one_per_external_voter",
        False,
        lambda w: [make_imported_ballot(c := make_campaign(w.municipality), "v1"), make_imported_ballot(c, "v1")],
    ),
    (
        "participation_web_without_voter",
        "participation_has_voter",
        True,
        lambda w: Participation.objects.create(campaign=make_campaign(w.municipality), channel="web"),
    ),
    (
        "participation_import_without_external_id",
        "participation_has_voter",
        True,
        lambda w: Participation.objects.create(campaign=make_campaign(w.municipality), channel="import"),
    ),
    (
        "participation_volunteer_channel_without_volunteer",
        "participation_assisted_names_helper",
        True,
        lambda w: make_ballot(make_campaign(w.municipality), channel="volunteer"),
    ),
    (
        "participation_paper_without_official",
        "participation_assisted_names_helper",
        True,
        lambda w: make_ballot(make_campaign(w.municipality), channel="paper"),
    ),
    (
        "ballot_receipt_not_hex",
        "ballot_receipt_hash_hex",
        True,
        lambda w: make_ballot(make_campaign(w.municipality), receipt_hash="Z" * 64),
    ),
    (
        "ballot_receipt_short",
        "ballot_receipt_hash_hex",
        True,
        lambda w: make_ballot(make_campaign(w.municipality), receipt_hash="ab" * 16),
    ),
    (
        "ballot_receipt_reused",
        "",
        False,
        lambda w: [
            make_ballot(c := make_campaign(w.municipality), receipt_hash=receipt_hash("same")),
            make_ballot(c, receipt_hash=receipt_hash("same")),
        ],
    ),
    # votes.BallotChoice, Tally, TallyRow
    ("choice_entry_twice", "choice_entry_once_per_ballot", False, choice_twice),
    ("choice_zero_points", "choice_points_positive", True, choice_zero_points),
    ("tally_second_final", "tally_one_per_kind", False, second_tally),
    (
        "tally_done_without_time",
        "tally_done_has_time",
        True,
        lambda w: Tally.objects.create(campaign=make_campaign(w.municipality), kind="live", status="done"),
    ),
    ("tally_row_entry_twice", "tally_row_entry_once", False, tally_row_twice),
]


@pytest.mark.parametrize(("constraint", "is_check", "write"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_database_refuses_bad_row(w: World, constraint: str, is_check: bool, write) -> None:
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        write(w)
    if constraint and (is_check or connection.vendor == "postgresql"):
        assert constraint in str(refused.value)


@pytest.mark.postgres
def test_space_names_differing_only_in_cyrillic_case_are_refused(w: World) -> None:
    # SQLite's lower() folds ASCII only, so this holds on PostgreSQL alone.
    with pytest.raises(IntegrityError, match="space_unique_name_in_municipality"), transaction.atomic():
        make_space(w.municipality, name=w.space.name.upper())


def test_the_starting_rows_are_valid(w: World) -> None:
    """The cases break one thing each: the rows they start from are accepted."""
    campaign, entry = ballot_case(w)
    ballot = make_ballot(campaign, w.user)
    BallotChoice.objects.create(ballot=ballot, campaign=campaign, entry=entry)
    make_imported_ballot(campaign, "v1")
    make_ballot(campaign, channel="volunteer", volunteer=w.user)
    proposal_with(w, status="rejected", rejected_at=NOW, rejection_reason="Нет места")
    proposal_with(w, status="merged", rejected_at=NOW, merged_into=w.proposal)
    Tally.objects.create(campaign=campaign, kind="final", status="done", computed_at=NOW)
    assert Ballot.objects.filter(campaign=campaign).count() == 3
