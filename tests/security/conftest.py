"""A small cast for the security tests: two municipalities of one region, one of
another region, and a user of each role that matters here."""

from __future__ import annotations

import pytest

from portal.accounts.models import User
from projects.models import Municipality, Region, Space
from tests.builders import make_user


@pytest.fixture
def region(db) -> Region:
    return Region.objects.create(name="Свердловская область", slug="sverdlovsk", code="RU-SVE")


@pytest.fixture
def other_region(db) -> Region:
    return Region.objects.create(name="Пермский край", slug="perm", code="RU-PER")


@pytest.fixture
def town_a(region) -> Municipality:
    return Municipality.objects.create(
        region=region, name="Город А", slug="town-a", population=100_000, oktmo="65701000"
    )


@pytest.fixture
def town_b(region) -> Municipality:
    return Municipality.objects.create(
        region=region, name="Город Б", slug="town-b", population=50_000, oktmo="65702000"
    )


@pytest.fixture
def town_c(other_region) -> Municipality:
    return Municipality.objects.create(
        region=other_region, name="Город В", slug="town-c", population=70_000, oktmo="57701000"
    )


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root@example.org", "correct horse battery staple")


@pytest.fixture
def official_a(town_a) -> User:
    return make_user("official-a@example.org", User.Role.MUNICIPAL_OFFICIAL, scope_municipalities=[town_a])


@pytest.fixture
def official_b(town_b) -> User:
    return make_user("official-b@example.org", User.Role.MUNICIPAL_OFFICIAL, scope_municipalities=[town_b])


@pytest.fixture
def auditor_a(town_a) -> User:
    return make_user("auditor-a@example.org", User.Role.AUDITOR, scope_municipalities=[town_a])


@pytest.fixture
def regional_auditor(region) -> User:
    return make_user("auditor-region@example.org", User.Role.AUDITOR, scope_region=region)


@pytest.fixture
def moderator(region) -> User:
    return make_user("moderator@example.org", User.Role.MODERATOR, scope_region=region)


@pytest.fixture
def resident(town_a) -> User:
    return make_user("resident@example.org", User.Role.RESIDENT, municipality=town_a)


def space_form_data(space: Space, **changes) -> dict:
    data = {
        "municipality": space.municipality_id,
        "kind": space.kind,
        "name": space.name,
        "address": space.address,
        "description": space.description,
        "latitude": str(space.latitude),
        "longitude": str(space.longitude),
        "area_m2": str(space.area_m2),
        "photos-TOTAL_FORMS": "0",
        "photos-INITIAL_FORMS": "0",
        "photos-MIN_NUM_FORMS": "0",
        "photos-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data
