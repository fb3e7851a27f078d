"""A small cast shared by the ideas, discussion, works and notifications tests."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from portal.accounts.models import User
from projects.models import Municipality, Proposal, Region, Space
from votes.models import Campaign


def png_upload(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def make_user(email: str, *, municipality=None, verified=True, role=User.Role.RESIDENT, **fields) -> User:
    return User.objects.create_user(
        email,
        "pw-for-tests-1",
        municipality=municipality,
        verified_at=timezone.now() if verified else None,
        role=role,
        full_name=fields.pop("full_name", email.split("@")[0].title()),
        **fields,
    )


def make_space(municipality, name="Двор на Ленина, 5", **fields) -> Space:
    defaults = {
        "kind": Space.Kind.COURTYARD,
        "address": "ул. Ленина, 5",
        "latitude": Decimal("56.838900"),
        "longitude": Decimal("60.605700"),
        "area_m2": Decimal("1200"),
    }
    return Space.objects.create(municipality=municipality, name=name, **{**defaults, **fields})


def make_proposal(space, *, status=Proposal.Status.APPROVED, title="Детская площадка", **fields) -> Proposal:
    now = timezone.now()
    stamps = {"submitted_at": now}
    order = ["approved", "selected", "in_design", "under_construction", "completed"]
    names = ["approved_at", "selected_at", "design_at", "construction_at", "completed_at"]
    if status in order:
        for field in names[: order.index(status) + 1]:
            stamps[field] = now
    return Proposal.objects.create(
        space=space,
        title=title,
        description="Описание",
        estimated_cost=Decimal("1000000"),
        status=status,
        **{**stamps, **fields},
    )


def make_campaign(municipality, *, ideas_open=True, **fields) -> Campaign:
    now = timezone.now()
    if ideas_open:
        window = {"ideas_open_at": now - datetime.timedelta(days=1), "ideas_close_at": now + datetime.timedelta(days=5)}
    else:
        window = {
            "ideas_open_at": now - datetime.timedelta(days=10),
            "ideas_close_at": now - datetime.timedelta(days=5),
        }
    return Campaign.objects.create(
        municipality=municipality,
        title=fields.pop("title", "Голосование 2027"),
        year=2027,
        budget=Decimal("10000000"),
        voting_opens_at=now + datetime.timedelta(days=10),
        voting_closes_at=now + datetime.timedelta(days=40),
        **{**window, **fields},
    )


@pytest.fixture
def region(db):
    return Region.objects.create(name="Свердловская область", slug="sverdlovsk", code="RU-SVE")


@pytest.fixture
def town(region):
    return Municipality.objects.create(
        region=region, name="Екатеринбург", slug="ekb", population=1_500_000, oktmo="65701000"
    )


@pytest.fixture
def other_town(db):
    other_region = Region.objects.create(name="Челябинская область", slug="chel", code="RU-CHE")
    return Municipality.objects.create(
        region=other_region, name="Челябинск", slug="chel-city", population=1_100_000, oktmo="75701000"
    )


@pytest.fixture
def resident(town):
    return make_user("anna@example.org", municipality=town)


@pytest.fixture
def official(town):
    user = make_user("official@example.org", role=User.Role.MUNICIPAL_OFFICIAL)
    user.scope_municipalities.set([town])
    return user


@pytest.fixture
def other_official(other_town):
    user = make_user("stranger@example.org", role=User.Role.MUNICIPAL_OFFICIAL)
    user.scope_municipalities.set([other_town])
    return user


@pytest.fixture
def space(town):
    return make_space(town)


@pytest.fixture
def campaign(town):
    return make_campaign(town)


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
