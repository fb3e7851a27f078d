"""Two moderators deciding at the same moment, on PostgreSQL: never a merge cycle, never
an idea merged into a proposal that was rejected or merged away at that moment."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from projects.models import Proposal
from tests.builders import make_proposal, make_space, make_user
from tests.concurrency import race
from votes.models import Idea
from votes.services import idea_merge, idea_reject

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def idea(campaign, town, title: str) -> Idea:
    author = make_user(f"{title}@example.org", municipality=town)
    proposal = make_proposal(make_space(town, name=f"Двор {title}"), status=Proposal.Status.SUBMITTED, title=title)
    Proposal.objects.filter(pk=proposal.pk).update(author=author)
    return Idea.objects.create(campaign=campaign, proposal=proposal)


def test_crossing_merges_leave_one_merged_and_refuse_the_other(campaign, town, official):
    a, b = idea(campaign, town, "a"), idea(campaign, town, "b")

    outcome = race(
        lambda: idea_merge(idea=a, into=b.proposal, official=official),
        lambda: idea_merge(idea=b, into=a.proposal, official=official),
    )

    assert outcome.second_waited
    assert isinstance(outcome.second, ValidationError), outcome.second
    assert outcome.second.code == "target_closed"
    first, second = Proposal.objects.get(pk=a.proposal_id), Proposal.objects.get(pk=b.proposal_id)
    assert (first.status, first.merged_into_id) == (Proposal.Status.MERGED, second.pk)
    assert (second.status, second.merged_into_id) == (Proposal.Status.SUBMITTED, None)


def test_a_merge_into_a_proposal_being_rejected_waits_and_is_refused(campaign, town, official):
    a, b = idea(campaign, town, "a"), idea(campaign, town, "b")

    outcome = race(
        lambda: idea_reject(idea=b, official=official, reason="Дублирует другой проект"),
        lambda: idea_merge(idea=a, into=b.proposal, official=official),
    )

    assert outcome.second_waited
    assert isinstance(outcome.second, ValidationError), outcome.second
    assert outcome.second.code == "target_closed"
    assert Proposal.objects.get(pk=a.proposal_id).status == Proposal.Status.SUBMITTED
    assert Proposal.objects.get(pk=b.proposal_id).status == Proposal.Status.REJECTED


def test_two_residents_naming_one_new_space_at_once_get_one_space_and_a_clear_refusal(campaign, town, resident):
    from decimal import Decimal

    from projects.models import Space
    from votes.services import idea_submit

    neighbour = make_user("boris@example.org", verified=True, age=30, municipality=town)
    new_space = {
        "name": "Сквер у школы",
        "kind": Space.Kind.PUBLIC_SPACE,
        "address": "ул. Мира, 1",
        "latitude": Decimal("56.81"),
        "longitude": Decimal("60.61"),
        "area_m2": Decimal("800"),
    }

    def submit(author, name):
        return lambda: idea_submit(
            campaign=campaign,
            author=author,
            title="Лавочки",
            description="Темно.",
            estimated_cost=Decimal(450000),
            new_space={**new_space, "name": name},
        )

    outcome = race(submit(resident, "Сквер у школы"), submit(neighbour, "сквер У ШКОЛЫ"))

    assert isinstance(outcome.first, Idea)
    assert outcome.second_waited
    assert isinstance(outcome.second, ValidationError), outcome.second
    assert outcome.second.code == "duplicate"
    assert Space.objects.filter(name__iexact="сквер у школы").count() == 1
    assert Idea.objects.count() == 1
