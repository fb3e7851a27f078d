"""The commission's protocol (votes/protocol.py): a tagged Russian PDF whose figures are the
published ones, for the commission and officials after the count and for all once published."""

from __future__ import annotations

import datetime
import re
import subprocess
import zlib

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst

from portal.accounts.models import User
from tests import builders
from votes import sealing
from votes.models import AnnulmentReason, Campaign, Channel, Participation, Tally
from votes.results import results_dict
from votes.services import (
    ballot_cast,
    campaign_close,
    finding_clear,
    ledger_seal,
    participation_annul,
    results_publish,
    screening_run,
    tally_compute,
    verification_approve,
)
from votes.services.commission import commission_key_create

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def member(town) -> User:
    return builders.make_user(
        "commission@example.org", User.Role.COMMISSION_MEMBER, full_name="Ольга Членова", scope_municipalities=[town]
    )


@pytest.fixture
def verified(make_campaign, make_user, ids, member):
    """A closed, counted campaign the commission verified, with one annulled ballot:
    three web ballots for the first entry, two volunteer ballots for the second."""
    campaign = make_campaign(phase="upcoming")
    pair = commission_key_create(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(voting_opens_at=timezone.now() - datetime.timedelta(days=1))
    campaign.refresh_from_db()
    first, second = ids(campaign)[:2]
    voters = [make_user() for _ in range(3)]
    for voter in voters:
        ballot_cast(campaign=campaign, voter=voter, choices=[first], channel=Channel.WEB)
    helper = builders.make_user("helper@example.org", User.Role.VOLUNTEER)
    for _ in range(2):
        ballot_cast(campaign=campaign, voter=make_user(), choices=[second], channel="volunteer", volunteer=helper)
    campaign_close(campaign=campaign)
    tally_compute(campaign_id=campaign.pk, final=True)
    ledger_seal(campaign_id=campaign.pk)
    screening_run(campaign_id=campaign.pk)
    participation_annul(
        participation=Participation.objects.get(campaign=campaign, voter=voters[0]),
        actor=member,
        reason="duplicate_person",
        note="",
        key_texts=[sealing.key_text(campaign.pk, pair.private)],
    )
    tally_compute(campaign_id=campaign.pk, final=True)  # the recount the annulment enqueues
    ledger_seal(campaign_id=campaign.pk)
    for finding in campaign.findings.open():
        finding_clear(finding=finding, actor=member, note="Проверено")
    verification_approve(campaign=campaign, actor=member)
    campaign.refresh_from_db()
    return campaign


def _protocol(client: Client, campaign: Campaign):
    return client.get(reverse("votes:protocol", args=[campaign.pk]))


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "protocol.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["/usr/bin/pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def _objects(pdf: bytes) -> bytes:
    """The PDF's bytes with its compressed streams inflated: WeasyPrint keeps the catalogue
    (with /StructTreeRoot, /MarkInfo, /Lang) in a compressed object stream."""
    inflated = [pdf]
    for stream in re.findall(rb">>\s*stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            inflated.append(zlib.decompress(stream))
        except zlib.error:
            continue  # not a Flate stream (fonts are, but a bad one says nothing here)
    return b"\n".join(inflated)


def _as(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_before_publication_only_the_commission_and_the_campaigns_officials_get_the_protocol(
    verified, member, official, other_official
):
    assert _protocol(_as(None), verified).status_code == 404
    assert _protocol(_as(other_official), verified).status_code == 404
    for user in (member, official):
        response = _protocol(_as(user), verified)
        assert response.status_code == 200, user
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
    page = _as(member).get(reverse("votes:verification", args=[verified.pk])).content.decode()
    assert reverse("votes:protocol", args=[verified.pk]) in page
    admin_page = _as(official).get(reverse("admin:votes_campaign_change", args=[verified.pk])).content.decode()
    assert reverse("votes:protocol", args=[verified.pk]) in admin_page
    results_page = Client().get(reverse("votes:campaign_results", args=[verified.pk])).content.decode()
    assert reverse("votes:protocol", args=[verified.pk]) not in results_page  # not published yet


def test_no_protocol_before_the_final_count(make_campaign, member):
    campaign = make_campaign(phase="closed")
    assert not Tally.objects.final_done().filter(campaign=campaign).exists()
    assert _protocol(_as(member), campaign).status_code == 404


def test_the_published_protocol_is_tagged_russian_and_its_figures_are_the_published_ones(verified, official, tmp_path):
    results_publish(campaign=verified, actor=official)
    verified.refresh_from_db()
    response = _protocol(_as(None), verified)  # anyone, once published
    assert response.status_code == 200
    pdf = response.content
    objects = _objects(pdf)
    assert b"/StructTreeRoot" in objects
    assert b"/MarkInfo" in objects
    assert b"/Lang (ru)" in objects
    info = subprocess.run(["/usr/bin/pdfinfo", "-"], input=pdf, check=True, capture_output=True).stdout.decode()
    assert re.search(r"^Tagged:\s+yes$", info, re.MULTILINE)
    assert re.search(r"^Page size:.*\(A4\)$", info, re.MULTILINE)

    final = Tally.objects.final_done().get(campaign=verified)
    published = results_dict(verified, final)
    assert published["annulled"] == {"duplicate_person": 1}
    text = _text(pdf, tmp_path)
    flat = " ".join(text.split())
    assert "Протокол комиссии по голосованию" in flat
    assert verified.municipality.name in flat
    # Participants from the register (five took part; one ballot was annulled, not the participation).
    assert re.search(r"Участники \(реестр\)\s+5\b", flat)
    assert re.search(r"Учтено бюллетеней\s+4\b", flat)
    assert final.ballots_counted == published["ballots"] == 4
    with translation.override("ru"):
        web, volunteer = str(Channel.WEB.label), str(Channel.VOLUNTEER.label)
        duplicate = str(AnnulmentReason.DUPLICATE_PERSON.label)
    assert re.search(rf"{re.escape(capfirst(web))} 3 ", flat)
    assert re.search(rf"{re.escape(capfirst(volunteer))} 2 ", flat)
    assert re.search(rf"{re.escape(capfirst(duplicate))} 1 Всего аннулировано 1 ", flat)
    assert [e["votes"] for e in published["entries"]] == [2, 2, 0, 0]
    for entry in published["entries"]:  # title, cost, votes, selected: the results page's figures
        selected = "да" if entry["selected"] else "нет"
        assert re.search(rf"{re.escape(entry['title'])} [\d ]+ ₽ {entry['votes']} {selected}\b", flat), entry
    head = final.ledger_head
    assert head
    assert head in text.replace("\n", "").replace(" ", "")
    assert "Ольга Членова" in flat
    assert "подпись" in flat

    page = Client().get(reverse("votes:campaign_results", args=[verified.pk])).content.decode()
    assert reverse("votes:protocol", args=[verified.pk]) in page
