"""A backup made by scripts/backup.sh restores into a fresh database with the same data.

Runs the real scripts against the test database: pg_dump, then pg_restore into a new,
empty database, then compares row counts, a checksum over every ballot's receipt hash
and choices, the uploaded media, and a recount of both databases by the counting service.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image

from portal.audit.services import audit_record
from projects.models import Municipality, Proposal, Region, Space, SpacePhoto
from projects.services import photo_store
from votes.models import Ballot, BallotChoice, Campaign, Channel, Entry, Participation

pytestmark = [pytest.mark.postgres, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
TABLES = [
    "projects_region",
    "projects_municipality",
    "projects_space",
    "projects_spacephoto",
    "projects_proposal",
    "votes_campaign",
    "votes_entry",
    "votes_ballot",
    "votes_ballotchoice",
    "audit_auditevent",
]
BALLOT_CHECKSUM_SQL = """
SELECT count(*), md5(coalesce(string_agg(b.receipt_hash || ':' || coalesce(c.choices, ''), ','
                                  ORDER BY b.receipt_hash), ''))
FROM votes_ballot b
LEFT JOIN (
    SELECT ch.ballot_id, string_agg(e.external_id || '=' || ch.points, ';' ORDER BY e.external_id) AS choices
    FROM votes_ballotchoice ch JOIN votes_entry e ON e.id = ch.entry_id
    GROUP BY ch.ballot_id
) c ON c.ballot_id = b.id
"""


def database_url(name: str) -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{name}"


@pytest.fixture
def fresh_database():
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_campaign_with_ballots(media_root: Path, ballots: int = 57) -> Campaign:
    region = Region.objects.create(name="Свердловская область", slug="sverdlovsk", code="RU-SVE")
    town = Municipality.objects.create(
        region=region, name="Город А", slug="town-a", population=100_000, oktmo="65701000"
    )
    space = Space.objects.create(
        municipality=town,
        kind="public_space",
        name="Набережная",
        address="ул. Горького, 1",
        latitude=Decimal("56.8"),
        longitude=Decimal("60.6"),
        area_m2=Decimal("5000"),
    )
    image = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 160, 90)).save(image, format="PNG")
    image.seek(0)
    image.size = len(image.getvalue())  # type: ignore[attr-defined]  # what Django's uploads carry
    SpacePhoto.objects.create(space=space, image=photo_store(file=image), caption="До работ")
    now = timezone.now()
    proposals = [
        Proposal.objects.create(
            space=space,
            title=f"Проект {i}",
            description="Описание",
            estimated_cost=Decimal(1_000_000 + i),
            status=Proposal.Status.APPROVED,
            submitted_at=now - datetime.timedelta(days=60),
            approved_at=now - datetime.timedelta(days=40),
        )
        for i in range(4)
    ]
    campaign = Campaign.objects.create(
        municipality=town,
        title="Голосование 2026",
        year=2026,
        voting_opens_at=now - datetime.timedelta(days=30),
        voting_closes_at=now - datetime.timedelta(days=1),
        method="approval",
        min_choices=1,
        max_choices=2,
        rule="top-k",
        winners=2,
    )
    Campaign.objects.filter(pk=campaign.pk).update(closed_at=now - datetime.timedelta(days=1))
    entries = [
        Entry.objects.create(campaign=campaign, proposal=p, external_id=str(i + 1), cost=p.estimated_cost, position=i)
        for i, p in enumerate(proposals)
    ]
    for n in range(ballots):
        Participation.objects.create(
            campaign=campaign,
            external_voter_id=f"voter-{n}",
            channel=Channel.IMPORT,
            voted_at=now - datetime.timedelta(days=2, minutes=n),
        )
        ballot = Ballot.objects.create(
            campaign=campaign,
            cast_on=(now - datetime.timedelta(days=2)).date(),
            receipt_hash=hashlib.sha256(f"receipt-{n}".encode()).hexdigest(),
        )
        chosen = {entries[n % 4], entries[(n * 7) % 3]}
        for entry in chosen:
            BallotChoice.objects.create(ballot=ballot, campaign=campaign, entry=entry, points=1)
    with transaction.atomic():
        audit_record(actor=None, action="create", obj=campaign, before=None, after={"title": campaign.title})
    return campaign


def run_script(script: str, folder: Path, db_name: str, media_root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url(db_name), "MEDIA_ROOT": str(media_root)}
    return subprocess.run(
        ["bash", str(BASE_DIR / "scripts" / script), str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def database_facts(db_name: str) -> dict:
    with psycopg.connect(database_url(db_name)) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608
        ballots, checksum = conn.execute(BALLOT_CHECKSUM_SQL).fetchone() or (0, "")
        triggers = sorted(
            row[0] for row in conn.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()
        )
    return {"counts": counts, "ballots": ballots, "checksum": checksum, "triggers": triggers}


def test_backup_restores_into_a_fresh_database_with_the_same_data(settings, tmp_path, fresh_database):
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign = make_campaign_with_ballots(settings.MEDIA_ROOT)
    photo = SpacePhoto.objects.get()
    source_db = connection.settings_dict["NAME"]
    restored_media = tmp_path / "media-restored"

    backup = run_script("backup.sh", tmp_path / "backup", source_db, settings.MEDIA_ROOT)
    assert backup.returncode == 0, backup.stderr
    assert {p.name for p in (tmp_path / "backup").iterdir()} == {
        "db.dump",
        "box-ballots.copy",
        "box-choices.copy",
        "media.tar.gz",
        "MANIFEST",
        "SHA256SUMS",
    }

    restore = run_script("restore.sh", tmp_path / "backup", fresh_database, restored_media)
    assert restore.returncode == 0, restore.stderr

    original, restored = database_facts(source_db), database_facts(fresh_database)
    assert original["counts"]["votes_ballot"] == 57
    assert original["counts"]["votes_ballotchoice"] > 57
    assert restored["counts"] == original["counts"]
    assert (restored["ballots"], restored["checksum"]) == (original["ballots"], original["checksum"])
    # The database's own guards come back with the data.
    assert "audit_event_append_only" in restored["triggers"]
    assert "participation_within_voting_window" in restored["triggers"]
    assert restored["triggers"] == original["triggers"]
    restored_file = restored_media / photo.image.name
    assert restored_file.read_bytes() == (settings.MEDIA_ROOT / photo.image.name).read_bytes()

    # The restored ballots count as the original ones: the same final tally on both.
    assert recount(source_db, campaign.pk) == recount(fresh_database, campaign.pk)


def test_restore_refuses_a_database_that_is_not_empty(settings, tmp_path, fresh_database):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_campaign_with_ballots(settings.MEDIA_ROOT, ballots=3)
    source_db = connection.settings_dict["NAME"]
    assert run_script("backup.sh", tmp_path / "backup", source_db, settings.MEDIA_ROOT).returncode == 0

    refused = run_script("restore.sh", tmp_path / "backup", source_db, tmp_path / "other-media")

    assert refused.returncode != 0
    assert "fresh one" in refused.stderr


def test_restore_refuses_a_corrupted_backup(settings, tmp_path, fresh_database):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_campaign_with_ballots(settings.MEDIA_ROOT, ballots=3)
    assert (
        run_script("backup.sh", tmp_path / "backup", connection.settings_dict["NAME"], settings.MEDIA_ROOT).returncode
        == 0
    )
    dump = tmp_path / "backup" / "db.dump"
    dump.write_bytes(dump.read_bytes()[:-10] + b"0123456789")

    refused = run_script("restore.sh", tmp_path / "backup", fresh_database, tmp_path / "restored-media")

    assert refused.returncode != 0
    assert "checksums do not match" in refused.stderr
    with psycopg.connect(database_url(fresh_database)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


RECOUNT = """
import json, sys
import django
django.setup()
from votes.models import Campaign, TallyRow
from votes.services import tally_compute

campaign = Campaign.objects.get(pk=int(sys.argv[1]))
tally_compute(campaign_id=campaign.pk, final=True)
rows = TallyRow.objects.filter(tally__campaign=campaign, tally__kind="final").order_by("entry__external_id")
print(json.dumps([[r.entry.external_id, r.votes, str(r.score), r.rank, r.selected] for r in rows]))
"""


def recount(db_name: str, campaign_id: int) -> list:
    """Run the counting service against one database in a separate process; its stored rows."""
    env = {**os.environ, "DATABASE_URL": database_url(db_name), "DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = subprocess.run(
        [sys.executable, "-c", RECOUNT, str(campaign_id)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    assert rows, "the recount stored no rows"
    assert sum(r[1] for r in rows) > 0
    return rows
