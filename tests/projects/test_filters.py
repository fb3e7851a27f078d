"""The catalogue's filters narrow the list as their labels say."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from projects.models import Space
from tests.builders import make_municipality, make_proposal, make_region, make_space

pytestmark = pytest.mark.django_db
URL = "/proposals/"


@pytest.fixture
def catalogue() -> dict:
    sverdlovsk = make_region(name="Свердловская область", slug="sve", code="RU-SVE")
    other = make_region(name="Челябинская область", slug="che", code="RU-CHE")
    ekb = make_municipality(sverdlovsk, name="Екатеринбург", slug="ekaterinburg")
    tagil = make_municipality(sverdlovsk, name="Нижний Тагил", slug="nizhny-tagil")
    chel = make_municipality(other, name="Челябинск", slug="chelyabinsk")
    park = make_space(ekb, name="Парк Маяковского", address="ул. Мичурина, 230")
    yard = make_space(ekb, kind=Space.Kind.COURTYARD, name="Двор на Малышева", address="ул. Малышева, 101")
    square = make_space(tagil, name="Театральная площадь", address="пр. Ленина, 33")
    chel_park = make_space(chel, name="Сквер Челябинска", address="ул. Кирова, 1")
    now = timezone.now()
    in_2025 = datetime.datetime(2025, 5, 1, tzinfo=datetime.UTC)
    proposals = {
        "skate": make_proposal(park, title="Скейт-парк", estimated_cost=Decimal(27_000_000)),
        "swings": make_proposal(
            yard,
            title="Качели во дворе",
            description="Новые качели и песочница",
            estimated_cost=Decimal(900_000),
            submitted_at=in_2025,
            approved_at=in_2025,
        ),
        "fountain": make_proposal(
            square,
            title="Фонтан",
            estimated_cost=Decimal(15_000_000),
            status="completed",
            selected_at=now,
            design_at=now,
            construction_at=now,
            completed_at=now,
        ),
        "alley": make_proposal(
            chel_park,
            title="Аллея",
            estimated_cost=Decimal(5_000_000),
            status="rejected",
            rejected_at=now,
            rejection_reason="Нет земли",
        ),
        # Not public: never listed, whatever the filters.
        "hidden": make_proposal(park, title="Скейт-парк ещё один", status="submitted", approved_at=None),
    }
    return proposals


def titles(response) -> set[str]:
    return {proposal.title for proposal in response.context["page"].object_list}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"skate", "swings", "fountain", "alley"}),
        ({"region": "sve"}, {"skate", "swings", "fountain"}),
        ({"region": "che"}, {"alley"}),
        ({"municipality": "ekaterinburg"}, {"skate", "swings"}),
        ({"municipality": "nizhny-tagil"}, {"fountain"}),
        ({"kind": "courtyard"}, {"swings"}),
        ({"kind": "public_space"}, {"skate", "fountain", "alley"}),
        ({"status": "completed"}, {"fountain"}),
        ({"status": "rejected"}, {"alley"}),
        ({"year": "2025"}, {"swings"}),
        ({"cost_min": "10000000"}, {"skate", "fountain"}),
        ({"cost_max": "5000000"}, {"swings", "alley"}),
        ({"cost_max": "5 000 000"}, {"swings", "alley"}),  # typed as people write amounts
        ({"cost_min": "1000000", "cost_max": "20000000"}, {"fountain", "alley"}),
        ({"q": "Скейт"}, {"skate"}),
        # Any letter case, Cyrillic included (SQLite's LIKE folds only ASCII).
        ({"q": "скейт"}, {"skate"}),
        ({"q": "СКЕЙТ-ПАРК"}, {"skate"}),
        ({"q": "театральная"}, {"fountain"}),
        ({"q": "песочница"}, {"swings"}),  # description
        ({"q": "Театральная"}, {"fountain"}),  # space name
        ({"q": "Мичурина"}, {"skate"}),  # address
        ({"region": "sve", "kind": "public_space", "cost_max": "20000000"}, {"fountain"}),
        ({"municipality": "ekaterinburg", "q": "качели"}, {"swings"}),
        ({"municipality": "ekaterinburg", "status": "completed"}, set()),
    ],
    ids=lambda v: "&".join(f"{k}={val}" for k, val in v.items()) if isinstance(v, dict) else None,
)
def test_filter_narrows_the_catalogue(catalogue: dict, query: dict, expected: set[str]) -> None:
    response = Client().get(URL, query)
    assert response.status_code == 200
    assert response.context["valid"]
    assert titles(response) == {catalogue[key].title for key in expected}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"year": "twenty"}, "year"),
        ({"year": "1800"}, "year"),
        ({"cost_min": "abc"}, "cost_min"),
        ({"cost_max": "-5"}, "cost_max"),
        ({"municipality": "atlantis"}, "municipality"),
        ({"region": "RU-XXX"}, "region"),
        ({"kind": "garage"}, "kind"),
        ({"status": "submitted"}, "status"),  # not a public status
        ({"cost_min": "500", "cost_max": "10"}, "__all__"),
    ],
    ids=lambda v: "&".join(f"{k}={val}" for k, val in v.items()) if isinstance(v, dict) else v,
)
def test_bad_filter_value_is_a_clear_form_error(catalogue: dict, query: dict, field: str) -> None:
    response = Client().get(URL, query)
    assert response.status_code == 200
    assert field in response.context["filter"].form.errors
    assert not response.context["valid"]
    assert titles(response) == set()
    assert 'role="alert"' in response.content.decode()


def test_pagination_keeps_the_filters(catalogue: dict) -> None:
    park = Space.objects.get(name="Парк Маяковского")
    for n in range(25):
        make_proposal(park, title=f"Идея {n:02d}")
    first = Client().get(URL, {"municipality": "ekaterinburg", "kind": "public_space"})
    assert first.context["page"].paginator.count == 26  # 25 ideas and the skate park
    assert len(first.context["page"].object_list) == 20
    html = first.content.decode()
    assert "?municipality=ekaterinburg&amp;kind=public_space&amp;page=2" in html

    second = Client().get(URL, {"municipality": "ekaterinburg", "kind": "public_space", "page": "2"})
    assert len(second.context["page"].object_list) == 6
    assert not titles(first) & titles(second)
    assert "?municipality=ekaterinburg&amp;kind=public_space&amp;page=1" in second.content.decode()


@pytest.mark.parametrize("page", ["abc", "999", "-1", "0"])
def test_bad_page_numbers_fall_back_to_a_real_page(catalogue: dict, page: str) -> None:
    response = Client().get(URL, {"page": page})
    assert response.status_code == 200
    assert titles(response)


@pytest.mark.postgres
def test_search_finds_other_russian_word_forms(catalogue: dict) -> None:
    """On PostgreSQL the Russian stemmer matches word forms that no substring would."""
    make_proposal(catalogue["skate"].space, title="Набережная у пруда", description="Новые фонари вдоль воды")
    response = Client().get(URL, {"q": "фонарь"})
    assert titles(response) == {"Набережная у пруда"}
    response = Client().get(URL, {"q": "набережной"})
    assert titles(response) == {"Набережная у пруда"}
