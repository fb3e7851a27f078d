"""`seed_demo` is idempotent and produces the demo the README promises."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.demo import (
    CLOSED_CAMPAIGN_BALLOTS,
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_USERS,
    MUNICIPALITIES_FILE,
    seed_demo,
)
from projects.models import Municipality, Proposal, ProposalPhoto, Region, Space, SpacePhoto
from votes.models import Ballot, BallotChoice, Campaign, Entry, VoteGroup

pytestmark = pytest.mark.django_db

MODELS = [
    Region,
    Municipality,
    Space,
    SpacePhoto,
    Proposal,
    ProposalPhoto,
    VoteGroup,
    Campaign,
    Entry,
    Ballot,
    BallotChoice,
    User,
]


def snapshot() -> dict[str, list[dict]]:
    """Every column of every demo row, in primary-key order."""
    rows = {model.__name__: list(model._default_manager.order_by("pk").values()) for model in MODELS}
    rows["scopes"] = [dict(row) for row in User.scope_municipalities.through.objects.order_by("pk").values()]
    return rows


def test_seeding_twice_gives_exactly_the_same_rows() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    first = snapshot()
    call_command("seed_demo", stdout=io.StringIO())
    second = snapshot()
    assert {name: len(rows) for name, rows in second.items()} == {name: len(rows) for name, rows in first.items()}
    assert second == first


def test_demo_has_the_region_and_every_municipal_formation_of_its_data_file() -> None:
    seed_demo()
    region = Region.objects.get(code="RU-SVE")
    lines = MUNICIPALITIES_FILE.read_text(encoding="utf-8").splitlines()
    assert region.municipalities.count() == len(lines) - 1 == 94
    kinds = dict(region.municipalities.values_list("kind").annotate(n=Count("pk")))
    assert kinds == {
        "urban_okrug": 10,
        "municipal_okrug": 58,
        "municipal_district": 5,
        "urban_settlement": 5,
        "rural_settlement": 16,
    }
    assert all(m.district.kind == "municipal_district" for m in region.municipalities.filter(district__isnull=False))
    ekaterinburg = Municipality.objects.get(name="Екатеринбург")
    assert (ekaterinburg.slug, ekaterinburg.population, ekaterinburg.oktmo) == ("ekaterinburg", 1527525, "65701000")
    codes = Municipality.objects.exclude(oktmo=None).values_list("oktmo", flat=True)
    assert all(code.startswith("65") for code in codes)
    assert Space.objects.count() >= 24
    assert Space.objects.improved().exists()
    assert Proposal.objects.filter(status=Proposal.Status.UNDER_CONSTRUCTION).exists()
    assert Proposal.objects.filter(status=Proposal.Status.SUBMITTED).exists()


def test_the_open_campaign_is_open_and_the_closed_one_has_its_ballots() -> None:
    seed_demo()
    open_campaign = Campaign.objects.open().get(kind=Campaign.Kind.TERRITORIES)
    assert open_campaign.municipality.name == "Екатеринбург"
    assert open_campaign.is_open()
    assert (open_campaign.method, open_campaign.min_choices, open_campaign.max_choices) == ("approval", 1, 3)
    assert open_campaign.entries.count() == 8
    assert not open_campaign.ballots.exists()

    closed = Campaign.objects.filter(closed_at__isnull=False).get()
    assert closed.closed_at is not None
    assert closed.phase() == "closed"
    assert closed.ballots.count() == CLOSED_CAMPAIGN_BALLOTS
    assert closed.participations.count() == CLOSED_CAMPAIGN_BALLOTS
    assert set(closed.participations.values_list("channel", flat=True)) == {"import"}
    assert BallotChoice.objects.filter(campaign=closed).count() == CLOSED_CAMPAIGN_BALLOTS
    assert all(p.voted_at < closed.voting_closes_at for p in closed.participations.all())
    assert all(ballot.cast_on <= closed.voting_closes_at.date() for ballot in closed.ballots.all())
    # Every entry got votes, and the choices belong to this campaign's entries.
    assert set(BallotChoice.objects.filter(campaign=closed).values_list("entry__campaign", flat=True)) == {closed.pk}
    assert BallotChoice.objects.filter(campaign=closed).values("entry").distinct().count() == 5


def test_the_demo_log_ins_work_and_have_their_roles() -> None:
    seed_demo()
    admin = User.objects.get(email=DEMO_ADMIN_EMAIL)
    assert admin.is_superuser
    assert admin.check_password(DEMO_ADMIN_PASSWORD)
    for email, password, _label in DEMO_USERS:
        assert User.objects.get(email=email).check_password(password), email
    regional = User.objects.get(email="region@example.org")
    assert regional.role == "regional_official"
    assert regional.scope_region.code == "RU-SVE"
    municipal = User.objects.get(email="ekb.official@example.org")
    assert list(municipal.scope_municipalities.values_list("name", flat=True)) == ["Екатеринбург"]
    resident = User.objects.get(email="resident@example.org")
    assert resident.is_verified
    assert resident.municipality.name == "Екатеринбург"
    assert resident.age_on(timezone.localdate()) == 30


def test_voters_without_tokens_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="--voters and --tokens go together"):
        call_command("seed_demo", voters=10)
    assert not Region.objects.exists()


def test_voters_option_adds_verified_voters_and_writes_their_tokens(tmp_path) -> None:
    from rest_framework.authtoken.models import Token

    tokens = tmp_path / "tokens.txt"
    call_command("seed_demo", voters=3, tokens=str(tokens), stdout=io.StringIO())
    lines = tokens.read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        email, key = line.split(",")
        token = Token.objects.select_related("user").get(key=key)
        assert token.user.email == email
        assert token.user.is_verified


# --- Not on production settings (the outside review: seed_demo ran with DEBUG=0) -----------


def test_seed_demo_refuses_production_settings_with_a_clear_message_and_no_traceback():
    from tests.security.test_headers_and_settings import PRODUCTION_ENV, run_with_env

    # The database does not exist: refusing must come before anything touches it.
    result = run_with_env(["manage.py", "seed_demo"], PRODUCTION_ENV)

    assert result.returncode == 1
    assert "CommandError: seed_demo writes demo accounts with published passwords" in result.stderr
    assert "--allow-production" in result.stderr
    assert "Traceback" not in result.stderr


def test_seed_demo_on_production_settings_writes_nothing_unless_told_explicitly(settings):
    settings.DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="must not run on production settings"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not Region.objects.exists()
    assert not User.objects.exists()

    call_command("seed_demo", allow_production=True, stdout=io.StringIO())
    assert Campaign.objects.count() == 3


def test_demo_receipts_are_random_so_nobody_can_look_them_up():
    import hashlib

    seed_demo()
    closed = Campaign.objects.filter(closed_at__isnull=False).get()
    stored = set(closed.ballots.values_list("receipt_hash", flat=True))
    guessable = {
        hashlib.sha256(f"demo-receipt-{closed.municipality.slug}-{voter_id}".encode()).hexdigest()
        for voter_id in closed.participations.values_list("external_voter_id", flat=True)
    }
    assert len(stored) == CLOSED_CAMPAIGN_BALLOTS
    assert not stored & guessable
    response = Client().post(
        f"/campaigns/{closed.pk}/ledger/",
        {"receipt": f"demo-receipt-{closed.municipality.slug}-nt-{closed.year}-0001"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Not found" in response.content.decode()


def test_ekaterinburg_votes_on_territories_and_on_a_parks_design_in_one_vote() -> None:
    seed_demo()
    design = Campaign.objects.open().get(kind=Campaign.Kind.DESIGN)
    territories = Campaign.objects.open().get(kind=Campaign.Kind.TERRITORIES)
    assert design.municipality == territories.municipality
    assert design.vote_group is not None
    assert design.vote_group == territories.vote_group
    assert (design.vote_group.year, design.vote_group.municipality.name) == (design.year, "Екатеринбург")
    assert design.design_space.name == "Преображенский парк"
    # The park was chosen earlier: its improvement is selected; now its design is chosen.
    assert Proposal.objects.filter(space=design.design_space, kind="territory", status="selected").exists()
    assert (design.method, design.rule, design.winners) == ("choose-1", "top-k", 1)
    entries = list(design.entries.select_related("proposal"))
    assert len(entries) == 3
    assert all(entry.proposal.kind == "design" and entry.proposal.space == design.design_space for entry in entries)
    assert {entry.exclusion_label for entry in entries} == {f"design-{design.design_space_id}"}
    for entry in entries:
        kinds = sorted(entry.proposal.photos.values_list("kind", flat=True))
        assert kinds == ["general", "general", "plan"], entry.proposal.title


def test_every_demo_picture_is_drawn_stored_with_its_copies_and_described(settings) -> None:
    seed_demo()
    assert SpacePhoto.objects.count() == Space.objects.count()
    photos = [*SpacePhoto.objects.all(), *ProposalPhoto.objects.all()]
    assert len(photos) == Space.objects.count() + 9
    for photo in photos:
        assert photo.text_alternative
        assert (photo.width, photo.height) == (960, 640)
        assert [width for width, _height in photo.renditions] == [320, 640, 960]
        for width, _height in photo.renditions:
            copy = settings.MEDIA_ROOT / photo.image.name.replace(".jpg", f"-{width}w.webp")
            assert copy.read_bytes()[8:12] == b"WEBP"
