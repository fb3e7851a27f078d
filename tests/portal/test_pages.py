"""The public pages render what they promise, hide what is not public, and keep a
query budget that does not grow with the data."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from projects.models import ProgressUpdate, ProposalPhoto, Space
from tests.builders import make_campaign, make_municipality, make_proposal, make_region, make_space

pytestmark = pytest.mark.django_db


@pytest.fixture
def town():
    region = make_region(name="Свердловская область", slug="sve", code="RU-SVE")
    return make_municipality(region, name="Екатеринбург", slug="ekaterinburg")


def ru(client: Client | None = None) -> Client:
    client = client or Client()
    client.cookies["django_language"] = "ru"
    return client


def test_home_shows_the_figures_and_open_votes(town) -> None:
    park = make_space(town, name="Парк Маяковского")
    make_space(town, name="Сквер на Ткачей")
    now = timezone.now()
    make_proposal(park, status="completed", selected_at=now, design_at=now, construction_at=now, completed_at=now)
    make_proposal(park)
    make_proposal(park, status="submitted", approved_at=None)  # not counted: not public
    campaign = make_campaign(town, title="Выбираем парки")
    make_campaign(
        town,
        title="Прошлое голосование",
        year=2025,
        voting_opens_at=now - datetime.timedelta(days=400),
        voting_closes_at=now - datetime.timedelta(days=360),
    )

    response = ru().get("/")
    assert response.status_code == 200
    assert response.context["figures"] == {
        "municipalities": 1,
        "spaces": 2,
        "proposals": 2,
        "open_campaigns": 1,
        "spaces_improved": 1,
    }
    html = response.content.decode()
    assert campaign.get_absolute_url() in html
    assert "Прошлое голосование" not in html
    assert '<option value="ekaterinburg">Екатеринбург</option>' in html
    assert 'action="/proposals/"' in html


def test_catalogue_lists_public_proposals_only(town) -> None:
    space = make_space(town, name="Парк Маяковского")
    shown = make_proposal(space, title="Скейт-парк", estimated_cost=Decimal(27_000_000))
    make_proposal(space, title="Черновик идеи", status="submitted", approved_at=None)
    response = ru().get("/proposals/")
    html = response.content.decode()
    assert response.status_code == 200
    assert shown.get_absolute_url() in html
    assert "27\xa0000\xa0000\xa0₽" in html
    assert "Черновик идеи" not in html


def test_proposal_page_shows_status_timeline_cost_and_space(town) -> None:
    space = make_space(town, name="Парк Маяковского", address="ул. Мичурина, 230")
    now = timezone.now()
    proposal = make_proposal(
        space,
        title="Скейт-парк",
        description="Чаша и уличный фитнес.",
        estimated_cost=Decimal("27000000.50"),
        status="under_construction",
        selected_at=now,
        design_at=now,
        construction_at=now,
    )
    ProgressUpdate.objects.create(proposal=proposal, stage="construction", text="Залит бетон", happened_on=now.date())
    ProposalPhoto.objects.create(
        proposal=proposal, image="photos/proposalphoto/x.jpg", caption="До работ", kind="before"
    )
    html = ru().get(proposal.get_absolute_url()).content.decode()
    for expected in [
        "Скейт-парк",
        "Чаша и уличный фитнес.",
        "27\xa0000\xa0000,50\xa0₽",
        "ул. Мичурина, 230",
        space.get_absolute_url(),
        "Начато строительство",
        "Залит бетон",
        "/media/photos/proposalphoto/x.jpg",
        "До работ",
    ]:
        assert expected in html, expected
    assert 'timeline__label">Завершено</span>' not in html  # not reached yet


def test_amounts_follow_the_language(town) -> None:
    proposal = make_proposal(make_space(town), estimated_cost=Decimal(1_500_000))
    english = Client()
    english.cookies["django_language"] = "en"
    assert "1,500,000 ₽" in english.get(proposal.get_absolute_url()).content.decode()
    assert "1\xa0500\xa0000\xa0₽" in ru().get(proposal.get_absolute_url()).content.decode()


def test_space_page_shows_its_facts_and_public_proposals(town) -> None:
    space = make_space(
        town,
        name="Двор на Малышева",
        kind=Space.Kind.COURTYARD,
        address="ул. Малышева, 101",
        latitude=Decimal("56.837100"),
        longitude=Decimal("60.626300"),
        area_m2=Decimal(2600),
    )
    shown = make_proposal(space, title="Детская площадка")
    make_proposal(space, title="Скрытая идея", status="submitted", approved_at=None)
    response = ru().get(space.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    for expected in ["Двор на Малышева", "ул. Малышева, 101", "56.83710, 60.62630", shown.get_absolute_url()]:
        assert expected in html, expected
    assert "Скрытая идея" not in html


@pytest.mark.parametrize("status", ["submitted", "merged"])
def test_unmoderated_or_merged_proposal_page_is_404(town, status: str) -> None:
    space = make_space(town)
    target = make_proposal(space)
    fields: dict[str, Any] = {"status": status, "approved_at": None}
    if status == "merged":
        fields |= {"merged_into": target, "rejected_at": timezone.now()}
    hidden = make_proposal(space, **fields)
    assert Client().get(hidden.get_absolute_url()).status_code == 404


def test_missing_space_is_404() -> None:
    assert Client().get("/spaces/999999/").status_code == 404


def _fill(town, start: int, count: int, first=None):
    """`count` more proposals over as many spaces, each with a photo and a progress
    update; `first` (the proposal whose page is measured) gets one more of each too."""
    now = timezone.now()
    for n in range(start, start + count):
        space = make_space(town, name=f"Сквер {n}", kind=Space.Kind.COURTYARD if n % 2 else Space.Kind.PUBLIC_SPACE)
        proposal = make_proposal(space, title=f"Идея {n}")
        first = first or proposal
        for target in {proposal, first}:
            ProposalPhoto.objects.create(proposal=target, image=f"photos/proposalphoto/{n}.jpg")
            ProgressUpdate.objects.create(proposal=target, stage="design", text="…", happened_on=now.date())
    make_campaign(town, title=f"Голосование {start}")
    return first


def _queries(url: str) -> int:
    client = Client()
    client.get(url)  # warm up: sessions, content types, site
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("page", "budget"),
    [("home", 8), ("catalogue", 6), ("catalogue_filtered", 6), ("proposal", 4)],
)
def test_query_count_does_not_grow_with_proposals(town, page: str, budget: int, django_assert_max_num_queries) -> None:
    def url(first) -> str:
        return {
            "home": "/",
            "catalogue": "/proposals/",
            "catalogue_filtered": "/proposals/?municipality=ekaterinburg&kind=public_space&q=Идея",
            "proposal": first.get_absolute_url(),
        }[page]

    first = _fill(town, 0, 5)
    with django_assert_max_num_queries(budget):
        Client().get(url(first))
    few = _queries(url(first))
    _fill(town, 5, 25, first)  # 30 proposals, 30 open votes; the first has 30 photos and updates
    many = _queries(url(first))
    assert few == many


def test_home_invites_ideas_while_a_vote_collects_them(town) -> None:
    now = timezone.now()
    collecting = make_campaign(
        town,
        title="Идеи для дворов",
        ideas_open_at=now - datetime.timedelta(days=1),
        ideas_close_at=now + datetime.timedelta(days=5),
        voting_opens_at=now + datetime.timedelta(days=10),
        voting_closes_at=now + datetime.timedelta(days=20),
    )
    make_campaign(
        town,
        title="Идеи собраны",
        ideas_open_at=now - datetime.timedelta(days=30),
        ideas_close_at=now - datetime.timedelta(days=20),
        voting_opens_at=now + datetime.timedelta(days=1),
        voting_closes_at=now + datetime.timedelta(days=20),
    )
    html = ru().get("/").content.decode()
    assert "Идеи для дворов" in html
    assert reverse("votes:idea_new", args=[collecting.pk]) in html
    assert "Идеи собраны" not in html


def test_a_space_proposed_in_an_idea_is_hidden_until_the_idea_is_published(town) -> None:
    from projects.models import Proposal

    official_made = make_space(town, name="Сквер без предложений")
    proposed = make_space(town, name="Пустырь у школы")
    idea = make_proposal(proposed, status="submitted", approved_at=None)
    assert ru().get(official_made.get_absolute_url()).status_code == 200
    assert ru().get(proposed.get_absolute_url()).status_code == 404
    Proposal.objects.filter(pk=idea.pk).update(status="approved", approved_at=timezone.now())
    assert ru().get(proposed.get_absolute_url()).status_code == 200
