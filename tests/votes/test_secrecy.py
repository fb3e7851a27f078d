"""Ballot secrecy: nobody but the voter can tell which ballot is theirs.

The ledger, every results download, the API results and the admin's ballot pages
carry no voter e-mail, name, phone or user id; /api/v1/ballots/mine/ lists only the
caller's ballots; receipts come from the session, never from an id in the URL.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from django.test import Client
from openpyxl import load_workbook

from portal.accounts.models import User
from tests.builders import approve_verification
from votes.models import Ballot, Channel
from votes.services import ballot_cast, campaign_close, ledger_seal, results_publish, tally_compute

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(make_campaign, make_user, ids):
    campaign = make_campaign(method="approval")
    voters = [
        make_user(
            email=f"secret.voter{n}@example.org", full_name=f"Тайнов Секрет{n} Бюллетеневич", phone=f"+7912555{n:04d}"
        )
        for n in range(3)
    ]
    for n, voter in enumerate(voters):
        ballot_cast(campaign=campaign, voter=voter, choices=[ids(campaign)[n % 2]], channel=Channel.WEB)
    campaign_close(campaign=campaign)
    tally_compute(campaign_id=campaign.pk, final=True)
    ledger_seal(campaign_id=campaign.pk)
    approve_verification(campaign)
    results_publish(campaign=campaign)
    return campaign, voters


def identities(voters: list[User]) -> list[str]:
    found = []
    for voter in voters:
        found += [voter.email, voter.full_name, str(voter.phone), str(voter.phone)[2:], voter.full_name.split()[1]]
    return found


def assert_anonymous(text: str, voters: list[User], where: str) -> None:
    for secret in identities(voters):
        assert secret not in text, f"{where} contains {secret!r}"
    for key in ("voter", "email", "full_name", "phone"):
        assert not re.search(rf'"{key}(_id)?"\s*:', text), f"{where} has a {key} field"


@pytest.mark.parametrize("suffix", ["ledger.jsonl", "results.csv", "results.json", "results.pb", "results/", "ledger/"])
def test_public_downloads_carry_no_voter_identity(published, suffix):
    campaign, voters = published
    response = Client().get(f"/campaigns/{campaign.pk}/{suffix}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    text = body.decode()
    assert_anonymous(text, voters, suffix)
    if suffix == "ledger.jsonl":
        # The ledger does list every ballot, by receipt hash only.
        assert all(json.loads(line) for line in text.splitlines() if line.strip())
        assert all(h in text for h in Ballot.objects.filter(campaign=campaign).values_list("receipt_hash", flat=True))
    if suffix == "results.pb":
        # Votes are named by receipt hash in ledger order: no database id, no order of casting.
        votes = text.split("\nVOTES\n", 1)[1].splitlines()[1:]
        hashes = sorted(Ballot.objects.filter(campaign=campaign).values_list("receipt_hash", flat=True))
        assert [line.split(";", 1)[0] for line in votes] == [h[:16] for h in hashes]


def test_xlsx_results_carry_no_voter_identity(published):
    campaign, voters = published
    response = Client().get(f"/campaigns/{campaign.pk}/results.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    cells = " ".join(str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row)
    assert_anonymous(cells, voters, "results.xlsx")


def test_api_results_carry_no_voter_identity(published, api_client):
    campaign, voters = published
    response = api_client.get(f"/api/v1/campaigns/{campaign.pk}/results/")
    assert response.status_code == 200
    assert_anonymous(response.content.decode(), voters, "API results")


def test_admin_ballot_pages_do_not_show_the_voter(published):
    _campaign, voters = published
    root = User.objects.create_superuser("root-secrecy@example.org", "correct horse battery staple")
    client = Client()
    client.force_login(root)
    # Searching ballots by a voter's e-mail finds nothing (the search box echoes the query).
    search = client.get("/admin/votes/ballot/", {"q": voters[0].email})
    assert search.status_code == 200
    assert search.context["cl"].result_count == 0
    # Nor can a voter's or volunteer's id be used as a filter or an ordering: Django
    # answers a refused lookup with the changelist's error redirect (?e=1), never a list.
    for probe in (
        {"voter": voters[0].pk},
        {"voter__id__exact": voters[0].pk},
        {"volunteer": voters[0].pk},
        {"voter__email": voters[0].email},
        {"external_voter_id": "x"},
    ):
        response = client.get("/admin/votes/ballot/", probe)
        assert response.status_code in (302, 400), probe
        assert "cl" not in (response.context or {}), probe
    pages = ["/admin/votes/ballot/"]
    pages += [f"/admin/votes/ballot/{pk}/change/" for pk in Ballot.objects.values_list("pk", flat=True)]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert_anonymous(response.content.decode(), voters, page)


def test_my_ballots_lists_only_the_callers_participations_and_no_ballot(published, token_client):
    campaign, voters = published
    response = token_client(voters[1]).get("/api/v1/ballots/mine/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["campaign"], row["channel"]) for row in rows] == [(campaign.pk, "web")]
    text = response.content.decode()
    # No ballot of anyone: neither an id nor a receipt hash, nor a prefix of one.
    for ballot in Ballot.objects.all():
        assert ballot.receipt_hash[:16] not in text
        assert f'"{ballot.pk}"' not in text
        assert str(ballot.pk) not in text
    assert_anonymous(text, [voters[0], voters[2]], "ballots/mine")


def test_receipt_page_comes_from_the_session_not_the_url(published):
    campaign, voters = published
    client = Client()
    client.force_login(voters[0])
    every = list(Ballot.objects.values_list("pk", "receipt_hash"))
    # After the receipt was shown once, the page says the caller voted (from the session
    # user) and points at no ballot, theirs or another's, whatever ids the URL carries.
    for probe in ("", f"?ballot={every[1][0]}", f"?voter={voters[1].pk}"):
        response = client.get(f"/campaigns/{campaign.pk}/ballot/receipt/{probe}")
        text = response.content.decode()
        assert response.status_code == 200, probe
        assert "Ваш бюллетень в этом голосовании учтён" in text, probe
        assert not any(h in text or h[:16] in text for _pk, h in every), probe
        assert_anonymous(text, voters[1:], "receipt page")


@pytest.mark.parametrize("path", ["/me/", "/me/ideas/"])
def test_me_pages_take_no_ids(published, path):
    _campaign, voters = published
    client = Client()
    client.force_login(voters[0])
    assert client.get(path).status_code == 200
    walked = client.get(f"{path}{voters[1].pk}/")
    assert walked.status_code == 404
    own = client.get(path).content.decode()
    assert voters[1].email not in own
    assert voters[1].full_name not in own
