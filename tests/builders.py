"""Small builders of valid rows for tests: each returns a saved object whose fields can
be overridden, so a test states only what it is about."""

from __future__ import annotations

import datetime
import hashlib
import io
import itertools
from collections.abc import Iterable
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from portal.accounts.models import User
from projects.models import Municipality, Proposal, Region, Space
from votes.models import Ballot, Campaign, Entry, Participation

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


def make_space(municipality: Municipality | None = None, name: str | None = None, **fields) -> Space:
    n = _n()
    defaults = {
        "kind": Space.Kind.PUBLIC_SPACE,
        "name": name or f"Сквер {n}",
        "address": f"ул. Ленина, {n}",
        "latitude": Decimal("56.838000"),
        "longitude": Decimal("60.597000"),
        "area_m2": Decimal("1000.00"),
    }
    return Space.objects.create(municipality=municipality or make_municipality(), **{**defaults, **fields})


# Each lifecycle status and the timestamps the database requires once it is reached.
_STATUS_STAMPS: dict[str, list[str]] = {
    Proposal.Status.SUBMITTED: [],
    Proposal.Status.APPROVED: ["approved_at"],
    Proposal.Status.SELECTED: ["approved_at", "selected_at"],
    Proposal.Status.IN_DESIGN: ["approved_at", "selected_at", "design_at"],
    Proposal.Status.UNDER_CONSTRUCTION: ["approved_at", "selected_at", "design_at", "construction_at"],
    Proposal.Status.COMPLETED: ["approved_at", "selected_at", "design_at", "construction_at", "completed_at"],
    Proposal.Status.REJECTED: ["rejected_at"],
}


def make_proposal(
    space: Space | None = None,
    title: str | None = None,
    description: str = "Скамейки, освещение и деревья.",
    *,
    status: str = Proposal.Status.APPROVED,
    dated: bool = True,
    **fields,
) -> Proposal:
    """A proposal (approved, so public, unless `status` says otherwise) with the dates its
    status requires; `fields` override any of them. `dated=False` gives only the submitted
    and approved dates, whatever the status (the constraint tests leave out the others)."""
    n = _n()
    now = timezone.now()
    defaults = {
        "title": title or f"Проект {n}",
        "description": description,
        "estimated_cost": Decimal(1_000_000),
        "status": status,
        "submitted_at": now - datetime.timedelta(days=30),
        **dict.fromkeys(
            _STATUS_STAMPS.get(status, []) if dated else ["approved_at"], now - datetime.timedelta(days=10)
        ),
    }
    if dated and status == Proposal.Status.REJECTED:
        defaults["rejection_reason"] = "Не по программе"
    return Proposal.objects.create(space=space or make_space(), **{**defaults, **fields})


def _windows(phase: str) -> dict[str, datetime.datetime]:
    now = timezone.now()
    day = datetime.timedelta(days=1)
    return {
        "voting": {"voting_opens_at": now - day, "voting_closes_at": now + 10 * day},
        "upcoming": {"voting_opens_at": now + 20 * day, "voting_closes_at": now + 30 * day},
        "ideas": {
            "ideas_open_at": now - day,
            "ideas_close_at": now + 5 * day,
            "voting_opens_at": now + 10 * day,
            "voting_closes_at": now + 40 * day,
        },
        "ideas_closed": {
            "ideas_open_at": now - 10 * day,
            "ideas_close_at": now - 5 * day,
            "voting_opens_at": now + 10 * day,
            "voting_closes_at": now + 40 * day,
        },
        "closed": {"voting_opens_at": now - 30 * day, "voting_closes_at": now - day},
    }[phase]


def make_campaign(municipality: Municipality | None = None, *, phase: str = "voting", **fields) -> Campaign:
    """A campaign in `phase`: 'voting' (open now, the default), 'upcoming', 'ideas'
    (collecting ideas), 'ideas_closed' (collected, voting to come) or 'closed' (its window
    past, not yet stamped closed); approval, 1–3 choices, greedy within a budget."""
    defaults = {
        "title": "Голосование",
        "year": timezone.now().year + 1,
        "method": "approval",
        "min_choices": 1,
        "max_choices": 3,
        "budget": Decimal(10_000_000),
        "rule": "greedy",
        **_windows(phase),
    }
    return Campaign.objects.create(municipality=municipality or make_municipality(), **{**defaults, **fields})


def make_entry(campaign: Campaign, proposal: Proposal | None = None, **fields) -> Entry:
    n = _n()
    proposal = proposal or make_proposal(make_space(campaign.municipality))
    defaults = {"external_id": str(n), "cost": proposal.estimated_cost, "position": n}
    return Entry.objects.create(campaign=campaign, proposal=proposal, **{**defaults, **fields})


PASSWORD = "correct horse battery staple"


def years_ago(years: int, days: int = 0) -> datetime.date:
    """The birth date of someone `years` old today (and `days` more), in local time."""
    today = timezone.localdate()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return day - datetime.timedelta(days=days)


def make_user(
    email: str | None = None,
    role: str = User.Role.RESIDENT,
    *,
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
    user = User.objects.create_user(email or f"user{n}@example.org", password, role=role, **fields)
    if scope_municipalities:
        user.scope_municipalities.set(scope_municipalities)
    return user


def make_official(*municipalities: Municipality, **fields) -> User:
    """A municipal official of `municipalities`."""
    return make_user(role=User.Role.MUNICIPAL_OFFICIAL, scope_municipalities=municipalities, **fields)


def png_upload(name: str = "photo.png") -> SimpleUploadedFile:
    """A small real PNG, as a browser uploads it."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def receipt_hash(code: str | None = None) -> str:
    return hashlib.sha256((code or f"receipt-{_n()}").encode()).hexdigest()


new_receipt_hash = receipt_hash  # under another name where a parameter is called receipt_hash


def make_participation(campaign: Campaign, voter: User | None = None, **fields) -> Participation:
    """A participation in the register (by default a web ballot of a new resident)."""
    if voter is None and "external_voter_id" not in fields:
        voter = make_user()
    return Participation.objects.create(campaign=campaign, voter=voter, **{"channel": "web", **fields})


def make_ballot(
    campaign: Campaign, voter: User | None = None, *, receipt_hash: str | None = None, **participation_fields
) -> Ballot:
    """A participation in the register and a ballot in the box, written apart as
    `ballot_cast` writes them (with no choices: add BallotChoice rows as needed)."""
    make_participation(campaign, voter, **participation_fields)
    return Ballot.objects.create(campaign=campaign, receipt_hash=receipt_hash or new_receipt_hash())


def make_imported_ballot(campaign: Campaign, external_voter_id: str, **fields) -> Ballot:
    """A ballot from a file (channel 'import'): no user, only the file's voter id."""
    return make_ballot(campaign, external_voter_id=external_voter_id, channel="import", **fields)


def approve_verification(campaign: Campaign) -> Campaign:
    """The commission's approval of the screening, which publication waits for (tests that
    are not about the verification)."""
    Campaign.objects.filter(pk=campaign.pk).update(verification_approved_at=timezone.now())
    return campaign
