"""The officials' dashboard on the admin index: their scope, open votes with turnout and
the age of the live count, ideas to moderate, reported comments, votes closing soon."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from projects.models import Comment, CommentReport, Proposal
from tests.builders import make_campaign, make_proposal, make_space, make_user
from votes.models import Idea, Tally

pytestmark = pytest.mark.django_db


def _index(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response.content.decode()


def _live_tally(campaign, ballots: int, minutes_ago: int) -> Tally:
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    return Tally.objects.create(
        campaign=campaign, kind=Tally.Kind.LIVE, status=Tally.Status.DONE, computed_at=at, ballots_counted=ballots
    )


def test_official_sees_their_scope_open_votes_with_turnout_and_age_of_the_count(official, town, far_town) -> None:
    mine = make_campaign(town, title="Парки Екатеринбурга")
    _live_tally(mine, ballots=2_500, minutes_ago=2)  # 2 500 of 100 000 residents
    make_campaign(far_town, title="Парки Челябинска")
    page = _index(official)
    assert "Ваша территория: Екатеринбург" in page
    assert "Парки Екатеринбурга" in page
    assert "Парки Челябинска" not in page
    assert "2,50 %" in page
    assert "2\xa0минуты назад" in page or "2 минуты назад" in page


def test_a_stale_live_count_is_flagged(official, town) -> None:
    _live_tally(make_campaign(town), ballots=10, minutes_ago=120)
    assert "устарел" in _index(official)


def test_votes_closing_within_a_week_are_listed_with_their_last_moment(official, town) -> None:
    now = timezone.now()
    make_campaign(
        town, title="Скоро закроется", voting_opens_at=now - datetime.timedelta(days=3),
        voting_closes_at=now + datetime.timedelta(days=2),
    )  # fmt: skip
    make_campaign(town, title="Ещё долго", voting_closes_at=now + datetime.timedelta(days=30))
    page = _index(official)
    closing = page.split("Скоро закрываются", 1)[1]
    assert "Скоро закроется" in closing
    assert "Ещё долго" not in closing


def test_ideas_waiting_and_reported_comments_are_counted_in_scope_only(official, moderator, town, far_town) -> None:
    campaign = make_campaign(town, phase="ideas")
    elsewhere = make_campaign(far_town, phase="ideas")
    for target in (campaign, campaign, elsewhere):
        proposal = make_proposal(make_space(target.municipality), status=Proposal.Status.SUBMITTED)
        Idea.objects.create(campaign=target, proposal=proposal)
    commented = make_proposal(make_space(town))
    reporter = make_user()
    for body in ("Спам", "Оскорбление"):
        comment = Comment.objects.create(proposal=commented, author=reporter, body=body)
        CommentReport.objects.create(comment=comment, reporter=make_user(), reason="спам")
    page = _index(official)
    assert "<strong>2</strong>идеи ждут модерации" in page
    assert "<strong>2</strong>жалобы на комментарии" in page


def test_superuser_sees_every_municipality(superuser, town, far_town) -> None:
    make_campaign(town, title="Парки Екатеринбурга")
    make_campaign(far_town, title="Парки Челябинска")
    page = _index(superuser)
    assert "все муниципальные образования" in page
    assert "Парки Екатеринбурга" in page
    assert "Парки Челябинска" in page


def _queries_of_index(user) -> int:
    client = Client()
    client.force_login(user)
    client.get(reverse("admin:index"))  # the session and the content types warm up
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:index")).status_code == 200
    return len(queries)


def test_the_dashboard_costs_the_same_queries_for_one_vote_or_many(official, town) -> None:
    _live_tally(make_campaign(town), ballots=1, minutes_ago=1)
    one = _queries_of_index(official)
    for _ in range(6):
        _live_tally(make_campaign(town), ballots=1, minutes_ago=1)
    assert _queries_of_index(official) == one
    assert one <= 12
