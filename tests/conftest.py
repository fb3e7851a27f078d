"""The small cast every test may use: one region with two towns, a town of another region,
and one user of each role, all built by tests/builders.py."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.accounts.models import User
from projects.models import Municipality, Region
from tests.builders import make_municipality, make_official, make_region, make_user


@dataclass(frozen=True)
class Cast:
    region: Region
    town: Municipality
    neighbour_town: Municipality  # same region
    far_town: Municipality  # another region
    superuser: User
    resident: User  # verified, 30, lives in town
    official: User  # municipal official of town
    official_elsewhere: User  # municipal official of far_town
    regional_official: User  # of region
    moderator: User  # of region
    volunteer: User  # assigned to region
    auditor: User  # of town


@pytest.fixture
def cast(db) -> Cast:
    region = make_region(name="Свердловская область", slug="sverdlovsk", code="RU-SVE")
    town = make_municipality(region, name="Екатеринбург", slug="ekaterinburg", oktmo="65701000")
    neighbour_town = make_municipality(region, name="Нижний Тагил", slug="nizhny-tagil", oktmo="65751000")
    far_region = make_region(name="Челябинская область", slug="chelyabinsk", code="RU-CHE")
    far_town = make_municipality(far_region, name="Челябинск", slug="chelyabinsk-city", oktmo="75701000")
    return Cast(
        region=region,
        town=town,
        neighbour_town=neighbour_town,
        far_town=far_town,
        superuser=User.objects.create_superuser("root@example.org", "correct horse battery staple"),
        resident=make_user(email="resident@example.org", verified=True, age=30, municipality=town),
        official=make_official(town, email="official@example.org"),
        official_elsewhere=make_official(far_town, email="official-far@example.org"),
        regional_official=make_user(
            email="regional@example.org", role=User.Role.REGIONAL_OFFICIAL, scope_region=region
        ),
        moderator=make_user(email="moderator@example.org", role=User.Role.MODERATOR, scope_region=region),
        volunteer=make_user(email="volunteer@example.org", role=User.Role.VOLUNTEER, scope_region=region),
        auditor=make_user(email="auditor@example.org", role=User.Role.AUDITOR, scope_municipalities=[town]),
    )
