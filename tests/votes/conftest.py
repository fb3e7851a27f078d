"""What the voting tests add to the cast of tests/conftest.py: builders of residents and of
campaigns (every method and phase, with entries) as fixtures bound to the cast's town."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from portal.accounts.models import User
from projects.models import Proposal
from tests import builders
from tests.builders import PASSWORD

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _language_reset():
    # The test client's LocaleMiddleware leaves the last request's language active in the
    # thread; tests that read the default (Russian) must not depend on the test before.
    yield
    translation.deactivate()


@pytest.fixture
def make_user(db, town):
    """A verified resident of `town`, 30 years old, unless told otherwise."""

    def make(*, verified=True, age=30, municipality=town, role=User.Role.RESIDENT, password=PASSWORD, **extra):
        n = next(_counter)
        return builders.make_user(
            extra.pop("email", f"user{n}@example.org"),
            role,
            password=password,
            verified=verified,
            age=age,
            full_name=extra.pop("full_name", f"Житель {n}"),
            municipality=municipality,
            **extra,
        )

    return make


@pytest.fixture
def voter(make_user):
    return make_user()


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
        if max_choices is None:
            max_choices = 1 if method == "choose-1" else 3
        if method == "cumulative":
            fields.setdefault("points", 10)
        if method == "knapsack":
            fields.setdefault("budget", Decimal("1000000"))
        fields.setdefault("rule", "top-k")
        fields.setdefault("winners", 2)
        fields.setdefault("budget", None)
        campaign = builders.make_campaign(
            municipality,
            phase=phase,
            title=f"Голосование {next(_counter)}",
            method=method,
            min_choices=min_choices,
            max_choices=max_choices,
            **fields,
        )
        costs = costs or [Decimal("300000")] * n_entries
        for position, cost in enumerate(costs):
            space = builders.make_space(
                municipality,
                f"Сквер {campaign.pk}-{position}",
                address=f"ул. Ленина, {position + 1}",
                latitude=Decimal("56.838"),
                longitude=Decimal("60.597"),
            )
            proposal = builders.make_proposal(
                space,
                f"Благоустройство сквера {position + 1}",
                "Скамейки, освещение, деревья.",
                status=Proposal.Status.SUBMITTED,
                estimated_cost=cost,
                submitted_at=now - datetime.timedelta(days=40),
            )
            builders.make_entry(campaign, proposal, external_id=str(position + 1), cost=cost, position=position)
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
