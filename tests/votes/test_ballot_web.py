"""The ballot pages: form → review → confirm → receipt shown once; refusals; volunteer desk."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal.accounts.models import User
from votes.models import Ballot, BallotChoice, Participation
from votes.receipts import receipt_hash

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for():
    def make(user, *, language: str | None = None):
        client = Client()
        client.force_login(user)
        if language:  # pages are Russian by default; messages are checked in English (the msgids)
            client.cookies["django_language"] = language
        return client

    return make


def url(campaign) -> str:
    return f"/campaigns/{campaign.pk}/ballot/"


def review_and_confirm(client, campaign, data: dict):
    review = client.post(url(campaign), {"step": "review", **data})
    assert review.status_code == 200, review.content.decode()[:2000]
    assert not Ballot.objects.filter(campaign=campaign).exists()  # the review step casts nothing
    token = re.search(r'name="token" value="([^"]+)"', review.content.decode()).group(1)
    return review, client.post(url(campaign), {"step": "confirm", "token": token})


@pytest.mark.parametrize(
    ("method", "widget"),
    [
        ("choose-1", 'type="radio"'),
        ("approval", 'type="checkbox"'),
        ("knapsack", 'type="checkbox"'),
        ("cumulative", 'type="number"'),
        ("ordinal", "<select"),
    ],
)
def test_ballot_form_has_a_labelled_input_per_entry(client_for, make_campaign, voter, method, widget):
    campaign = make_campaign(method=method)
    page = client_for(voter).get(url(campaign)).content.decode()
    assert page.count(widget) == 4
    assert "<fieldset" in page
    assert "<legend>" in page
    for input_id in re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', page):
        assert f'for="{input_id}"' in page, input_id
    assert 'src="/static/js/ballot.js" defer' in page
    assert "<script>" not in page


def test_approval_review_then_confirm_casts_and_shows_the_receipt_once(client_for, make_campaign, voter, ids):
    campaign = make_campaign(method="approval", max_choices=3)
    e = ids(campaign)
    client = client_for(voter)
    review, confirm = review_and_confirm(client, campaign, {"entries": [e[0], e[2]]})
    assert "Благоустройство сквера 1" in review.content.decode()
    assert confirm.status_code == 302
    assert confirm["Location"].endswith(f"/campaigns/{campaign.pk}/ballot/receipt/")
    ballot = Ballot.objects.get(campaign=campaign)
    assert Participation.objects.get(voter=voter).channel == "web"
    assert sorted(ballot.choices.values_list("entry_id", flat=True)) == [e[0], e[2]]
    receipt_page = client.get(confirm["Location"]).content.decode()
    code = re.search(r'class="receipt-code"[^>]*>([A-Z2-7-]+)<', receipt_page).group(1)
    assert receipt_hash(code) == ballot.receipt_hash
    again = client.get(confirm["Location"]).content.decode()
    assert code not in again
    # Nor its fingerprint: once the receipt is gone, nothing on the resident's pages
    # points at their ballot (the register and the box are not joined).
    assert ballot.receipt_hash not in again
    assert ballot.receipt_hash not in client.get("/me/votes/").content.decode()


def test_review_writes_nothing(client_for, make_campaign, voter, ids):
    campaign = make_campaign(method="choose-1")
    response = client_for(voter).post(url(campaign), {"step": "review", "entry": ids(campaign)[0]})
    assert response.status_code == 200
    assert Ballot.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "data", "message"),
    [
        ("approval", lambda e: {"entries": e[:4]}, "at most 3"),
        ("approval", lambda e: {}, "at least 1"),
        ("cumulative", lambda e: {f"points_{e[0]}": 8, f"points_{e[1]}": 5}, "at most 10"),
        ("ordinal", lambda e: {f"rank_{e[0]}": 1, f"rank_{e[1]}": 1}, "no shared places"),
        ("ordinal", lambda e: {f"rank_{e[0]}": 2}, "no gaps"),
        ("choose-1", lambda e: {}, "Choose one project"),
    ],
)
def test_invalid_ballots_come_back_with_the_reason(client_for, make_campaign, voter, ids, method, data, message):
    campaign = make_campaign(method=method, points=10 if method == "cumulative" else None)
    response = client_for(voter, language="en").post(url(campaign), {"step": "review", **data(ids(campaign))})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (Ballot.objects.count(), BallotChoice.objects.count()) == (0, 0)


def test_cumulative_and_ordinal_through_the_pages(client_for, make_campaign, make_user, ids):
    cumulative = make_campaign(method="cumulative", points=10)
    e = ids(cumulative)
    voter = make_user()
    _review, confirm = review_and_confirm(
        client_for(voter), cumulative, {f"points_{e[0]}": 6, f"points_{e[3]}": 4, f"points_{e[1]}": 0}
    )
    assert confirm.status_code == 302
    assert dict(BallotChoice.objects.values_list("entry_id", "points")) == {e[0]: 6, e[3]: 4}

    ordinal = make_campaign(method="ordinal", max_choices=3)
    o = ids(ordinal)
    _review, confirm = review_and_confirm(client_for(voter), ordinal, {f"rank_{o[2]}": 1, f"rank_{o[0]}": 2})
    assert confirm.status_code == 302
    assert dict(BallotChoice.objects.filter(campaign=ordinal).values_list("entry_id", "points")) == {o[2]: 1, o[0]: 2}


def test_knapsack_over_the_budget_is_refused(client_for, make_campaign, voter, ids):
    from decimal import Decimal

    campaign = make_campaign(method="knapsack", budget=Decimal("500000"), costs=[Decimal("300000")] * 4)
    client = client_for(voter, language="en")
    response = client.post(url(campaign), {"step": "review", "entries": ids(campaign)[:2]})
    assert response.status_code == 400
    assert "over the budget" in response.content.decode()
    assert Ballot.objects.count() == 0


def test_tampered_token_is_refused(client_for, make_campaign, voter, make_user, ids):
    campaign = make_campaign(method="choose-1")
    client = client_for(voter)
    review = client.post(url(campaign), {"step": "review", "entry": ids(campaign)[0]}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', review).group(1)
    assert client.post(url(campaign), {"step": "confirm", "token": token + "x"}).status_code == 400
    # Another resident cannot replay someone's reviewed ballot as their own.
    assert client_for(make_user()).post(url(campaign), {"step": "confirm", "token": token}).status_code == 400
    assert Ballot.objects.count() == 0


def test_edit_brings_the_choices_back(client_for, make_campaign, voter, ids):
    campaign = make_campaign(method="approval", max_choices=3)
    e = ids(campaign)
    client = client_for(voter)
    review = client.post(url(campaign), {"step": "review", "entries": [e[1]]}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', review).group(1)
    page = client.post(url(campaign), {"step": "edit", "token": token}).content.decode()
    assert re.search(rf'value="{e[1]}"[^>]*checked', page)
    assert not re.search(rf'value="{e[0]}"[^>]*checked', page)


def test_second_ballot_shows_already_voted(client_for, make_campaign, voter, ids):
    campaign = make_campaign(method="choose-1")
    client = client_for(voter)
    review_and_confirm(client, campaign, {"entry": ids(campaign)[0]})
    page = client.get(url(campaign))
    assert page.status_code == 409
    assert 'data-refusal="already_voted"' in page.content.decode()
    # A review page kept open in another tab cannot cast a second ballot either.
    stale = client.post(url(campaign), {"step": "review", "entry": ids(campaign)[1]})
    assert stale.status_code == 409
    assert Ballot.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "phase", "code"),
    [
        ("unverified", "voting", "not_verified"),
        ("child", "voting", "under_age"),
        ("no_residence", "voting", "residence_missing"),
        ("eligible", "upcoming", "campaign_not_yet_open"),
        ("eligible", "closed", "campaign_closed"),
    ],
)
def test_refusals_are_explained(client_for, make_campaign, make_user, who, phase, code):
    user = {
        "unverified": lambda: make_user(verified=False),
        "child": lambda: make_user(age=12),
        "no_residence": lambda: make_user(municipality=None),
        "eligible": lambda: make_user(),
    }[who]()
    campaign = make_campaign(phase=phase)
    response = client_for(user).get(url(campaign))
    assert response.status_code == 403
    page = response.content.decode()
    assert f'data-refusal="{code}"' in page
    assert ("/me/?next=" in page) is (code == "residence_missing")


def test_anonymous_is_sent_to_log_in(make_campaign):
    campaign = make_campaign()
    response = Client().get(url(campaign))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- Volunteer desk -----------------------------------------------------------------


def test_volunteer_desk_casts_for_the_resident(client_for, make_campaign, volunteer, town, ids, sms_outbox):
    campaign = make_campaign(method="approval", max_choices=2)
    client = client_for(volunteer)
    page = client.get(f"/volunteer/?campaign={campaign.pk}").content.decode()
    assert 'name="resident-phone"' in page
    assert 'name="ballot-entries"' in page
    data = {
        "campaign": campaign.pk,
        "resident-phone": "+7 (912) 000-11-22",
        "resident-full_name": "Петров Иван Ильич",
        "resident-birth_date": "1955-02-03",
        "resident-municipality": town.pk,
        "resident-document_type": "passport",
        "resident-document_number": "6504 111222",
        "resident-passport_checked": "on",
        "ballot-entries": [ids(campaign)[1]],
    }
    data["resident-code"] = desk_code(client, data, sms_outbox)
    response = client.post("/volunteer/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    receipt = client.get(response["Location"]).content.decode()
    code = re.search(r'class="receipt-code"[^>]*>([A-Z2-7-]+)<', receipt).group(1)
    ballot = Ballot.objects.get()
    assert ballot.receipt_hash == receipt_hash(code)
    participation = Participation.objects.get()
    assert (participation.voter.phone, participation.volunteer, participation.channel) == (
        "+79120001122",
        volunteer,
        "volunteer",
    )
    again = client.post("/volunteer/", data)
    assert again.status_code == 409
    assert 'data-refusal="already_voted"' in again.content.decode()
    assert Ballot.objects.count() == 1


def test_volunteer_desk_requires_the_passport_check(client_for, make_campaign, volunteer, town, ids):
    campaign = make_campaign()
    data = {
        "campaign": campaign.pk,
        "resident-phone": "+79120001122",
        "resident-full_name": "Петров Иван Ильич",
        "resident-birth_date": "1955-02-03",
        "resident-municipality": town.pk,
        "ballot-entries": [ids(campaign)[1]],
    }
    assert client_for(volunteer).post("/volunteer/", data).status_code == 400
    assert Ballot.objects.count() == 0
    assert not User.objects.filter(phone="+79120001122").exists()


def test_residents_do_not_get_the_volunteer_desk(client_for, voter):
    assert client_for(voter).get("/volunteer/").status_code == 403


def desk_code(client, data, outbox) -> str:
    """Step one at the desk: a code to the resident's phone; they read it to the volunteer."""
    sent = client.post("/volunteer/", {**data, "action": "send_code"})
    assert sent.status_code == 200, sent.content.decode()[:2000]
    assert "data-code-sent" in sent.content.decode()
    return re.search(r"\b(\d{6})\b", outbox[-1].text).group(1)


def _desk_data(campaign, town, entry_id, phone="+79120003344"):
    return {
        "campaign": campaign.pk,
        "resident-phone": phone,
        "resident-full_name": "Сидорова Мария Петровна",
        "resident-birth_date": "1961-07-08",
        "resident-municipality": town.pk,
        "resident-document_type": "passport",
        "resident-document_number": "6504 333444",
        "resident-passport_checked": "on",
        "ballot-entries": [entry_id],
    }


def test_officials_enter_paper_ballots_of_their_own_municipality(
    client_for, make_campaign, make_user, town, far_town, ids, sms_outbox
):
    official = make_user(role=User.Role.MUNICIPAL_OFFICIAL)
    official.scope_municipalities.add(town)
    campaign = make_campaign(method="approval", max_choices=2)
    client = client_for(official)
    assert f"?campaign={campaign.pk}" in client.get("/volunteer/").content.decode()
    data = _desk_data(campaign, town, ids(campaign)[0])
    data["resident-code"] = desk_code(client, data, sms_outbox)
    response = client.post("/volunteer/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Ballot.objects.count() == 1
    participation = Participation.objects.get()
    assert (participation.channel, participation.volunteer) == ("paper", official)
    # Another municipality's vote is not theirs to enter, not even by its id.
    elsewhere = make_campaign(municipality=far_town)
    assert client.get(f"/volunteer/?campaign={elsewhere.pk}").status_code == 404
    data = _desk_data(elsewhere, far_town, ids(elsewhere)[0], phone="+79120005566")
    assert client.post("/volunteer/", data).status_code == 404
    assert Ballot.objects.count() == 1


def test_a_regional_volunteer_helps_in_their_region_only(client_for, make_campaign, volunteer, far_town, ids):
    volunteer.scope_region = far_town.region
    volunteer.save()
    home = make_campaign()  # in the volunteer's home town, but another region than their scope
    away = make_campaign(municipality=far_town)
    client = client_for(volunteer)
    listing = client.get("/volunteer/").content.decode()
    assert f"?campaign={away.pk}" in listing
    assert f"?campaign={home.pk}" not in listing
    assert client.get(f"/volunteer/?campaign={home.pk}").status_code == 404


def test_a_volunteer_without_a_region_enters_no_ballot(client_for, make_campaign, make_user, town, ids):
    unassigned = make_user(role=User.Role.VOLUNTEER)
    campaign = make_campaign()
    client = client_for(unassigned)
    assert f"?campaign={campaign.pk}" not in client.get("/volunteer/").content.decode()
    assert client.post("/volunteer/", _desk_data(campaign, town, ids(campaign)[0])).status_code == 404
    assert not Ballot.objects.exists()


@pytest.mark.parametrize("role", [User.Role.MUNICIPAL_OFFICIAL, User.Role.VOLUNTEER])
def test_the_desk_lists_open_campaigns_in_one_query_however_many(client_for, make_campaign, make_user, town, role):
    helper = make_user(role=role, scope_region=town.region if role == User.Role.VOLUNTEER else None)
    helper.scope_municipalities.add(town)
    client = client_for(helper)
    make_campaign(n_entries=1)
    client.get("/volunteer/")  # the session and its user are loaded once, before counting

    def listing_queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/volunteer/")
        assert page.status_code == 200
        return len(queries), page.content.decode()

    one, _page = listing_queries()
    campaigns = [make_campaign(n_entries=1) for _ in range(15)]
    sixteen, page = listing_queries()

    assert all(f"?campaign={campaign.pk}" in page for campaign in campaigns)
    assert sixteen == one
