"""Turnout watch: participants (the register) against residents aged 14 and over and the
region's threshold, by day, projected to the close; officials told once a day at most."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.builders import make_campaign, make_municipality, make_official, make_participation, make_region
from votes import services
from votes.models import Participation, TurnoutNotice
from votes.turnout import participants_by_campaign, projected_participants, turnout_by_day, turnout_of

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def eager(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _vote(now: datetime.datetime, *, population: int = 1_000, **region_fields):
    region = make_region(**region_fields)
    town = make_municipality(region, population=population)
    # Ten days' window, four of them past.
    return make_campaign(town, voting_opens_at=now - 4 * DAY, voting_closes_at=now + 6 * DAY)


def test_turnout_counts_participants_against_the_regions_share_of_residents_aged_14_plus() -> None:
    now = timezone.now()
    campaign = _vote(now, population=1_000, share_14_plus=Decimal(80), turnout_threshold=20)
    for _ in range(40):
        make_participation(campaign)
    turnout = turnout_of(campaign, participants=participants_by_campaign([campaign])[campaign.pk], now=now)
    # 80 % of 1 000 = 800 residents aged 14+; 40 / 800 = 5 %; 40 in 4 of 10 days -> 100 -> 12.5 %.
    assert turnout.residents_14_plus == 800
    assert turnout.percent == Decimal("5.00")
    assert turnout.projected_percent == Decimal("12.50")
    assert turnout.behind_pace
    assert not turnout.reached


def test_a_municipalitys_own_figure_of_residents_14_plus_wins_over_the_regions_share() -> None:
    now = timezone.now()
    campaign = _vote(now, population=1_000)
    campaign.municipality.population_14_plus = 200
    for _ in range(50):
        make_participation(campaign)
    turnout = turnout_of(campaign, participants=50, now=now)
    assert turnout.percent == Decimal("25.00")
    assert turnout.reached
    assert not turnout.behind_pace


def test_projection_is_linear_and_withheld_in_the_first_day() -> None:
    opens = timezone.now()
    closes = opens + 10 * DAY
    assert projected_participants(participants=30, opens_at=opens, closes_at=closes, now=opens + 3 * DAY) == 100
    assert projected_participants(participants=30, opens_at=opens, closes_at=closes, now=opens + DAY / 2) is None
    # After the close the projection is the count itself.
    assert projected_participants(participants=30, opens_at=opens, closes_at=closes, now=closes + DAY) == 30


def test_turnout_by_day_counts_participations_per_day_with_running_totals() -> None:
    now = timezone.now()
    campaign = _vote(now, population=1_000, share_14_plus=Decimal(50))
    first = now - 3 * DAY
    for _ in range(4):
        make_participation(campaign)
    # The database stamps voted_at with its clock (migration 0010's trigger): past days are
    # written with triggers off for this test's transaction only.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    for participation, at in zip(
        Participation.objects.filter(campaign=campaign).order_by("pk"),
        (first, first, first + DAY, first + 2 * DAY),
        strict=True,
    ):
        Participation.objects.filter(pk=participation.pk).update(voted_at=at)
    days = turnout_by_day(campaign)
    assert [(d.participants, d.cumulative) for d in days] == [(2, 2), (1, 3), (1, 4)]
    assert [d.cumulative_percent for d in days] == [Decimal("0.40"), Decimal("0.60"), Decimal("0.80")]


def test_officials_behind_pace_are_told_once_a_day(django_capture_on_commit_callbacks) -> None:
    now = timezone.now()
    campaign = _vote(now, population=1_000)
    official = make_official(campaign.municipality, email="glava@example.org")
    make_official(make_municipality(), email="elsewhere@example.org")
    make_participation(campaign)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.turnout_notices_send(now=now)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.turnout_notices_send(now=now + datetime.timedelta(hours=1))
    assert len(first) == 1
    assert again == []
    assert [m.to for m in mail.outbox] == [["glava@example.org"]]
    assert "отстаёт" in mail.outbox[0].subject
    assert TurnoutNotice.objects.get().official == official
    with django_capture_on_commit_callbacks(execute=True):
        tomorrow = services.turnout_notices_send(now=now + DAY)
    assert len(tomorrow) == 1


def test_a_vote_on_pace_sends_nothing(django_capture_on_commit_callbacks) -> None:
    now = timezone.now()
    campaign = _vote(now, population=100)
    make_official(campaign.municipality)
    for _ in range(20):
        make_participation(campaign)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.turnout_notices_send(now=now) == []
    assert mail.outbox == []


def test_dashboard_and_campaign_page_show_turnout_against_the_threshold(superuser) -> None:
    now = timezone.now()
    campaign = _vote(now, population=1_000, share_14_plus=Decimal(80))
    for _ in range(40):
        make_participation(campaign)
    client = Client()
    client.force_login(superuser)
    index = client.get(reverse("admin:index")).content.decode()
    assert "5,00 % / 20 %" in index
    assert "отстаёт" in index
    page = client.get(reverse("admin:votes_campaign_change", args=[campaign.pk])).content.decode()
    assert "Явка по дням" in page
    assert "5.00 %" in page or "5,00 %" in page
