"""The small cast every test may use, built by tests/builders.py: one region with two
towns, a town of another region, and one user of each role.

Folder conftests add only what their tests need beyond it (the security tests' three
towns, the voting tests' builders of campaigns with entries). A fixture of the same name
in a folder's conftest takes precedence there, and the role users follow its towns.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.accounts.models import User
from projects.models import Municipality, Region, Space
from tests.builders import PASSWORD, make_campaign, make_municipality, make_official, make_region, make_space, make_user
from votes.models import Campaign


@pytest.fixture
def region(db) -> Region:
    return make_region(name="Свердловская область", slug="sverdlovsk", code="RU-SVE")


@pytest.fixture
def other_region(db) -> Region:
    return make_region(name="Челябинская область", slug="chelyabinsk", code="RU-CHE")


@pytest.fixture
def town(region) -> Municipality:
    return make_municipality(region, name="Екатеринбург", slug="ekaterinburg", population=100_000, oktmo="65701000")


@pytest.fixture
def neighbour_town(region) -> Municipality:
    return make_municipality(region, name="Нижний Тагил", slug="nizhny-tagil", population=100_000, oktmo="65751000")


@pytest.fixture
def far_town(other_region) -> Municipality:
    return make_municipality(other_region, name="Челябинск", slug="chelyabinsk", population=100_000, oktmo="75701000")


@pytest.fixture
def other_town(far_town) -> Municipality:
    return far_town


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root@example.org", PASSWORD)


@pytest.fixture
def resident(town) -> User:
    """A verified adult who lives in `town`."""
    return make_user("anna@example.org", verified=True, age=30, full_name="Анна Иванова", municipality=town)


@pytest.fixture
def official(town) -> User:
    return make_official(town, email="official@example.org", verified=True)


@pytest.fixture
def other_official(other_town) -> User:
    return make_official(other_town, email="stranger@example.org", verified=True)


@pytest.fixture
def regional_official(region) -> User:
    return make_user("regional@example.org", User.Role.REGIONAL_OFFICIAL, verified=True, scope_region=region)


@pytest.fixture
def moderator(region) -> User:
    return make_user("moderator@example.org", User.Role.MODERATOR, verified=True, scope_region=region)


@pytest.fixture
def volunteer(town) -> User:
    """A volunteer of `town`'s region (who is also a verified adult resident of `town`)."""
    return make_user(
        "volunteer@example.org",
        User.Role.VOLUNTEER,
        verified=True,
        age=30,
        municipality=town,
        scope_region=town.region,
    )


@pytest.fixture
def auditor(town) -> User:
    return make_user("auditor@example.org", User.Role.AUDITOR, scope_municipalities=[town])


@dataclass(frozen=True)
class Cast:
    region: Region
    town: Municipality
    neighbour_town: Municipality  # same region
    far_town: Municipality  # another region
    superuser: User
    resident: User
    official: User  # of town
    official_elsewhere: User  # of far_town
    regional_official: User
    moderator: User
    volunteer: User
    auditor: User


@pytest.fixture
def cast(
    region,
    town,
    neighbour_town,
    far_town,
    superuser,
    resident,
    official,
    other_official,
    regional_official,
    moderator,
    volunteer,
    auditor,
) -> Cast:
    """Everyone at once, for tests that speak of several roles."""
    return Cast(
        region, town, neighbour_town, far_town, superuser, resident, official, other_official,
        regional_official, moderator, volunteer, auditor,
    )  # fmt: skip


@pytest.fixture
def space(town) -> Space:
    return make_space(town)


@pytest.fixture
def campaign(town) -> Campaign:
    """A campaign of `town` collecting ideas now."""
    return make_campaign(town, phase="ideas")


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    """Every test stores uploads (and the demo's drawn pictures) in its own folder, never
    in the repository's var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    """SMS are kept in memory (portal.accounts.sms.LocmemSmsBackend.outbox), never sent."""
    from portal.accounts.sms import LocmemSmsBackend

    settings.SMS_BACKEND = "portal.accounts.sms.LocmemSmsBackend"
    LocmemSmsBackend.outbox.clear()
    yield LocmemSmsBackend.outbox
    LocmemSmsBackend.outbox.clear()


@pytest.fixture(autouse=True)
def ballot_campaigns_kept():
    """Each test starts with no campaign kept by the ballot path (votes/ballot_campaign.py):
    ids of rolled-back rows come back on SQLite, and a kept row must not outlive its test."""
    from votes.ballot_campaign import ballot_campaigns_forget

    ballot_campaigns_forget()
    yield
    ballot_campaigns_forget()
