"""A small cast for the voting tests: two municipalities of one region, one of another,
a campaign builder for every method, and residents of every kind."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from portal.accounts.models import User
from projects.models import Municipality, Proposal, Region, Space
from votes.models import Campaign, Entry

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _language_reset():
    # The test client's LocaleMiddleware leaves the last request's language active in the
    # thread; tests that read the default (Russian) must not depend on the test before.
    yield
    translation.deactivate()


PASSWORD = "correct horse 42"


@pytest.fixture
def region(db):
    return Region.objects.create(name="Свердловская область", slug="sverdlovsk", code="RU-SVE")


@pytest.fixture
def other_region(db):
    return Region.objects.create(name="Челябинская область", slug="chelyabinsk", code="RU-CHE")


def _municipality(region, name, slug, oktmo):
    return Municipality.objects.create(region=region, name=name, slug=slug, population=100_000, oktmo=oktmo)


@pytest.fixture
def town(region):
    return _municipality(region, "Екатеринбург", "ekaterinburg", "65701000")


@pytest.fixture
def neighbour_town(region):
    return _municipality(region, "Нижний Тагил", "nizhny-tagil", "65751000")


@pytest.fixture
def far_town(other_region):
    return _municipality(other_region, "Челябинск", "chelyabinsk", "75701000")


def years_ago(years: int, days: int = 0) -> datetime.date:
    today = timezone.localdate()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return day - datetime.timedelta(days=days)


@pytest.fixture
def make_user(db, town):
    def make(
        *,
        verified=True,
        age=30,
        municipality=town,
        role=User.Role.RESIDENT,
        password=PASSWORD,
        **extra,
    ):
        n = next(_counter)
        return User.objects.create_user(
            email=extra.pop("email", f"user{n}@example.org"),
            password=password,
            full_name=extra.pop("full_name", f"Житель {n}"),
            birth_date=years_ago(age) if age is not None else None,
            municipality=municipality,
            verified_at=timezone.now() if verified else None,
            role=role,
            **extra,
        )

    return make


@pytest.fixture
def voter(make_user):
    return make_user()


@pytest.fixture
def volunteer(make_user, town):
    return make_user(role=User.Role.VOLUNTEER, scope_region=town.region)


@pytest.fixture
def make_campaign(db, town):
    """A campaign in `phase` ('voting', 'upcoming', 'ideas', 'closed') with `n_entries` entries."""

    def make(
        *,
        method="approval",
        phase="voting",
        municipality=town,
        n_entries=4,
        costs=None,
        min_choices=1,
        max_choices=None,
        **fields,
    ):
        now = timezone.now()
        day = datetime.timedelta(days=1)
        windows = {
            "voting": {"voting_opens_at": now - day, "voting_closes_at": now + 10 * day},
            "upcoming": {"voting_opens_at": now + 20 * day, "voting_closes_at": now + 30 * day},
            "ideas": {
                "ideas_open_at": now - day,
                "ideas_close_at": now + 5 * day,
                "voting_opens_at": now + 10 * day,
                "voting_closes_at": now + 20 * day,
            },
            "closed": {"voting_opens_at": now - 30 * day, "voting_closes_at": now - day},
        }[phase]
        if max_choices is None:
            max_choices = 1 if method == "choose-1" else 3
        if method == "cumulative":
            fields.setdefault("points", 10)
        if method == "knapsack":
            fields.setdefault("budget", Decimal("1000000"))
        fields.setdefault("rule", "top-k")
        fields.setdefault("winners", 2)
        campaign = Campaign.objects.create(
            municipality=municipality,
            title=f"Голосование {next(_counter)}",
            year=now.year + 1,
            method=method,
            min_choices=min_choices,
            max_choices=max_choices,
            **windows,
            **fields,
        )
        costs = costs or [Decimal("300000")] * n_entries
        for position, cost in enumerate(costs):
            space = Space.objects.create(
                municipality=municipality,
                kind=Space.Kind.PUBLIC_SPACE,
                name=f"Сквер {campaign.pk}-{position}",
                address=f"ул. Ленина, {position + 1}",
                latitude=Decimal("56.838"),
                longitude=Decimal("60.597"),
                area_m2=Decimal("1000"),
            )
            proposal = Proposal.objects.create(
                space=space,
                title=f"Благоустройство сквера {position + 1}",
                description="Скамейки, освещение, деревья.",
                estimated_cost=cost,
                submitted_at=now - 40 * day,
            )
            Entry.objects.create(
                campaign=campaign, proposal=proposal, external_id=str(position + 1), cost=cost, position=position
            )
        return campaign

    return make


def entry_ids(campaign) -> list[int]:
    return list(campaign.entries.order_by("position").values_list("pk", flat=True))


@pytest.fixture
def ids():
    return entry_ids


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; each test starts from zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def token_client(db):
    """An APIClient authenticated with `user`'s token, as a real client would be."""
    from rest_framework.test import APIClient

    from portal.accounts.services import api_token_issue

    def make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user)}")
        return client

    return make


@pytest.fixture
def password():
    """The password make_user gives everybody."""
    return PASSWORD
