"""Small builders of valid rows for tests: each returns a saved object whose fields can
be overridden, so a test states only what it is about."""

from __future__ import annotations

import datetime
import hashlib
import itertools
from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone

from portal.accounts.models import User
from projects.models import Municipality, Proposal, Region, Space
from votes.models import Ballot, Campaign, Entry

_numbers = itertools.count(1)


def _n() -> int:
    return next(_numbers)


def make_region(**fields) -> Region:
    n = _n()
    defaults = {"name": f"Регион {n}", "slug": f"region-{n}", "code": f"RU-T{n}"}
    return Region.objects.create(**{**defaults, **fields})


def make_municipality(region: Region | None = None, **fields) -> Municipality:
    n = _n()
    defaults = {
        "name": f"Город {n}",
        "slug": f"town-{n}",
        "population": 10_000 + n,
        "oktmo": f"{65700000 + n:08d}",
    }
    return Municipality.objects.create(region=region or make_region(), **{**defaults, **fields})


def make_space(municipality: Municipality | None = None, **fields) -> Space:
    n = _n()
    defaults = {
        "kind": Space.Kind.PUBLIC_SPACE,
        "name": f"Сквер {n}",
        "address": f"ул. Ленина, {n}",
        "latitude": Decimal("56.838000"),
        "longitude": Decimal("60.597000"),
        "area_m2": Decimal(1000),
    }
    return Space.objects.create(municipality=municipality or make_municipality(), **{**defaults, **fields})


def make_proposal(space: Space | None = None, **fields) -> Proposal:
    """An approved (public) proposal unless `status` and its dates say otherwise."""
    n = _n()
    now = timezone.now()
    defaults = {
        "title": f"Проект {n}",
        "description": "Скамейки, освещение и деревья.",
        "estimated_cost": Decimal(1_000_000),
        "status": Proposal.Status.APPROVED,
        "submitted_at": now - datetime.timedelta(days=30),
        "approved_at": now - datetime.timedelta(days=10),
    }
    return Proposal.objects.create(space=space or make_space(), **{**defaults, **fields})


def make_campaign(municipality: Municipality | None = None, **fields) -> Campaign:
    """A campaign open now (approval, 1–3 choices, greedy within a budget)."""
    now = timezone.now()
    defaults = {
        "title": "Голосование",
        "year": now.year + 1,
        "voting_opens_at": now - datetime.timedelta(days=1),
        "voting_closes_at": now + datetime.timedelta(days=10),
        "method": "approval",
        "min_choices": 1,
        "max_choices": 3,
        "budget": Decimal(10_000_000),
        "rule": "greedy",
    }
    return Campaign.objects.create(municipality=municipality or make_municipality(), **{**defaults, **fields})


def make_entry(campaign: Campaign, proposal: Proposal | None = None, **fields) -> Entry:
    n = _n()
    proposal = proposal or make_proposal(make_space(campaign.municipality))
    defaults = {"external_id": str(n), "cost": proposal.estimated_cost, "position": n}
    return Entry.objects.create(campaign=campaign, proposal=proposal, **{**defaults, **fields})


PASSWORD = "correct horse 42"


def years_ago(years: int, days: int = 0) -> datetime.date:
    """The birth date of someone `years` old today (and `days` more), in local time."""
    today = timezone.localdate()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return day - datetime.timedelta(days=days)


def make_user(
    *,
    email: str | None = None,
    password: str = PASSWORD,
    verified: bool = False,
    age: int | None = None,
    scope_municipalities: Iterable[Municipality] = (),
    **fields,
) -> User:
    """A user (a resident unless `role` says otherwise): `verified` stamps the identity
    check, `age` sets the birth date, `scope_municipalities` the official's scope."""
    n = _n()
    if verified:
        fields.setdefault("verified_at", timezone.now())
    if age is not None:
        fields.setdefault("birth_date", years_ago(age))
    user = User.objects.create_user(email or f"user{n}@example.org", password, **fields)
    if scope_municipalities:
        user.scope_municipalities.set(scope_municipalities)
    return user


def make_official(*municipalities: Municipality, **fields) -> User:
    """A municipal official of `municipalities`."""
    return make_user(role=User.Role.MUNICIPAL_OFFICIAL, scope_municipalities=municipalities, **fields)


def receipt_hash(code: str | None = None) -> str:
    return hashlib.sha256((code or f"receipt-{_n()}").encode()).hexdigest()


def make_ballot(campaign: Campaign, voter: User | None = None, **fields) -> Ballot:
    defaults = {"channel": "web", "receipt_hash": receipt_hash()}
    return Ballot.objects.create(campaign=campaign, voter=voter or make_user(), **{**defaults, **fields})


def make_imported_ballot(campaign: Campaign, external_voter_id: str, **fields) -> Ballot:
    """A ballot from a file (channel 'import'): no user, only the file's voter id."""
    defaults = {"channel": "import", "receipt_hash": receipt_hash()}
    return Ballot.objects.create(campaign=campaign, external_voter_id=external_voter_id, **{**defaults, **fields})
