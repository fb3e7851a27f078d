"""Residents' accounts: sign-up with e-mail verification, log-in limits, password reset,
the regional identity provider, the profile that eligibility reads, and My votes."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from portal.accounts.models import User
from projects.models import Municipality, Region

pytestmark = pytest.mark.django_db

PASSWORD = "Sekret-pass-2026"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def town(db):
    region = Region.objects.create(name="Свердловская область", slug="sverdlovsk", code="RU-SVE")
    return Municipality.objects.create(
        region=region, name="Екатеринбург", slug="ekaterinburg", population=1_500_000, oktmo="65701000"
    )


def verified_user(email, **fields):
    """A user whose e-mail allauth knows as confirmed (what the sign-up flow leaves behind)."""
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(email, PASSWORD, verified_at=timezone.now(), **fields)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def resident(town):
    return verified_user(
        "anna@example.org", full_name="Анна Иванова", birth_date=datetime.date(1988, 4, 12), municipality=town
    )


def log_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_sign_up_verify_then_log_in_asks_for_the_profile(client, mailoutbox, town):
    response = client.post(
        "/accounts/signup/",
        {"email": "Boris@Example.org", "password1": PASSWORD, "password2": PASSWORD, "privacy_consent": "on"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="boris@example.org")
    assert user.verified_at is None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["boris@example.org"]
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s/]+/", mailoutbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200
    confirmed = client.post("/" + path)
    assert confirmed.status_code == 302
    user.refresh_from_db()
    assert user.verified_at is not None

    client.logout()
    response = log_in(client, "boris@example.org")
    assert response.status_code == 302
    assert response["Location"].startswith("/me/?next=")
    profile = client.get(response["Location"])
    assert 'name="birth_date"' in profile.content.decode()
    assert 'name="municipality"' in profile.content.decode()


def test_unverified_account_cannot_log_in_before_confirming(client, mailoutbox, town):
    client.post(
        "/accounts/signup/",
        {"email": "c@example.org", "password1": PASSWORD, "password2": PASSWORD, "privacy_consent": "on"},
    )
    client.logout()
    response = log_in(client, "c@example.org")
    assert response.status_code == 302
    assert "confirm-email" in response["Location"]
    assert "_auth_user_id" not in client.session


def test_complete_profile_goes_straight_on(client, resident):
    response = log_in(client, resident.email)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_profile_saves_what_eligibility_reads(client, town):
    user = User.objects.create_user("d@example.org", PASSWORD, verified_at=timezone.now())
    client.force_login(user)
    response = client.post(
        "/me/",
        {
            "full_name": " Дмитрий  Петров ",
            "birth_date": "2001-09-30",
            "municipality": town.pk,
            "phone": "8 (912) 111-22-33",
            "next": "/campaigns/1/ballot/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/campaigns/1/ballot/"
    user.refresh_from_db()
    assert (user.full_name, user.birth_date, user.municipality, user.phone) == (
        "Дмитрий  Петров",
        datetime.date(2001, 9, 30),
        town,
        "+79121112233",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("birth_date", "2999-01-01"), ("phone", "12-34"), ("municipality", "999999"), ("full_name", "")],
)
def test_profile_refuses_bad_input_and_saves_nothing(client, resident, town, field, value):
    client.force_login(resident)
    data = {"full_name": "Новое Имя", "birth_date": "1990-01-01", "municipality": town.pk, "phone": "", field: value}
    response = client.post("/me/", data)
    assert response.status_code == 400
    resident.refresh_from_db()
    assert resident.full_name == "Анна Иванова"
    assert resident.birth_date == datetime.date(1988, 4, 12)


def test_someone_elses_unverified_phone_neither_blocks_nor_reveals_it(client, resident, town):
    """Issue 11, phone squatting: the number typed on another account is unverified, so it
    counts for nothing; the page says nothing of the other account, and the number stays
    unverified here too until its code is entered."""
    User.objects.create_user("e@example.org", PASSWORD, phone="+79120000000")
    client.force_login(resident)
    data = {
        "full_name": "Анна",
        "birth_date": resident.birth_date.isoformat(),
        "municipality": town.pk,
        "phone": "+7 912 000 00 00",
    }
    response = client.post("/me/", data)
    assert response.status_code == 302
    resident.refresh_from_db()
    assert (resident.phone, resident.phone_verified_at) == ("+79120000000", None)
    assert "другой учётной записи" not in client.get("/me/").content.decode()


def test_profile_ignores_an_outside_next(client, resident, town):
    client.force_login(resident)
    data = {"full_name": "Анна", "birth_date": "1988-04-12", "municipality": town.pk, "next": "https://evil.example/"}
    response = client.post("/me/", data)
    assert response.status_code == 302
    assert response["Location"] == "/me/"


def test_password_reset_mails_a_link(client, mailoutbox, resident):
    response = client.post("/accounts/password/reset/", {"email": resident.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "/accounts/password/reset/key/" in mailoutbox[0].body


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "100/m/ip,3/5m/key"})
def test_log_in_failures_are_limited_with_429(client, resident):
    statuses = [log_in(client, resident.email, "wrong").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]  # the form again, with "wrong e-mail or password"
    assert log_in(client, resident.email, "wrong").status_code == 429
    # Even the right password waits: that is what stops guessing.
    assert log_in(client, resident.email).status_code == 429
    # Another account from the same address is not locked out by the per-account limit.
    other = verified_user("f@example.org")
    response = log_in(Client(), other.email)
    assert response.status_code == 302
    assert response["Location"].startswith("/me/")


@override_settings(ACCOUNT_RATE_LIMITS=False)
def test_log_in_limits_off_with_throttle_off(client, resident):
    assert {log_in(client, resident.email, "wrong").status_code for _ in range(12)} == {200}


@override_settings(
    SOCIALACCOUNT_PROVIDERS={
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "regional-id",
                    "name": "Госуслуги региона",
                    "client_id": "portal",
                    "secret": "s3cret",
                    "settings": {"server_url": "https://id.example.org"},
                }
            ]
        }
    }
)
def test_log_in_page_offers_the_regional_identity_provider(client):
    page = client.get("/accounts/login/").content.decode()
    assert "Госуслуги региона" in page
    assert "/accounts/oidc/regional-id/login/" in page


def test_log_in_page_without_provider_offers_none(client):
    assert "/accounts/oidc/" not in client.get("/accounts/login/").content.decode()


def test_allauth_pages_use_the_portal_layout(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'class="site-header"' in page
    assert 'id="main"' in page


def test_my_votes_lists_where_i_voted_and_never_my_ballot(client, resident, town):
    from decimal import Decimal

    from projects.models import Proposal, Space
    from votes.models import Campaign, Entry
    from votes.services import ballot_cast

    now = timezone.now()
    campaign = Campaign.objects.create(
        municipality=town,
        title="Дворы 2027",
        year=2027,
        method="choose-1",
        voting_opens_at=now - datetime.timedelta(days=1),
        voting_closes_at=now + datetime.timedelta(days=1),
        rule="top-k",
        winners=1,
    )
    space = Space.objects.create(
        municipality=town,
        kind="courtyard",
        name="Двор",
        address="ул. Мира, 1",
        latitude=Decimal(56),
        longitude=Decimal(60),
        area_m2=Decimal(100),
    )
    proposal = Proposal.objects.create(
        space=space, title="Двор", description="-", estimated_cost=Decimal(1000), submitted_at=now
    )
    entry = Entry.objects.create(campaign=campaign, proposal=proposal, external_id="1", cost=Decimal(1000))
    cast = ballot_cast(campaign=campaign, voter=resident, choices=[(entry.pk, None)], channel="web")
    other = User.objects.create_user("g@example.org", PASSWORD)
    client.force_login(other)
    assert cast.ballot.receipt_hash not in client.get("/me/votes/").content.decode()
    client.force_login(resident)
    page = client.get("/me/votes/").content.decode()
    assert "Дворы 2027" in page
    # The register says where and when; nothing on the page points at the ballot.
    assert cast.ballot.receipt_hash not in page
    assert cast.ballot.receipt_hash[:16] not in page
    assert cast.receipt not in page  # the receipt code itself is never shown again


def test_residence_is_locked_while_a_vote_with_my_ballot_is_open(client, resident, town):
    """Moving between two open votes would give one person a ballot in each."""
    from decimal import Decimal

    from projects.models import Municipality, Proposal, Space
    from votes.models import Campaign, Entry
    from votes.services import ballot_cast

    now = timezone.now()
    elsewhere = Municipality.objects.create(
        region=town.region, name="Берёзовский", slug="berezovsky", population=60000, oktmo="65731000"
    )
    campaign = Campaign.objects.create(
        municipality=town,
        title="Дворы",
        year=2027,
        method="choose-1",
        rule="top-k",
        winners=1,
        voting_opens_at=now - datetime.timedelta(days=1),
        voting_closes_at=now + datetime.timedelta(days=1),
    )
    space = Space.objects.create(
        municipality=town,
        kind="courtyard",
        name="Двор",
        address="ул. Мира, 1",
        latitude=Decimal(56),
        longitude=Decimal(60),
        area_m2=Decimal(100),
    )
    proposal = Proposal.objects.create(
        space=space, title="Двор", description="-", estimated_cost=Decimal(1000), submitted_at=now
    )
    entry = Entry.objects.create(campaign=campaign, proposal=proposal, external_id="1", cost=Decimal(1000))
    client.force_login(resident)
    data = {"full_name": resident.full_name, "birth_date": "1988-04-12", "municipality": elsewhere.pk, "phone": ""}
    ballot_cast(campaign=campaign, voter=resident, choices=[(entry.pk, None)], channel="web")

    response = client.post("/me/", data)
    assert response.status_code == 400
    resident.refresh_from_db()
    assert resident.municipality == town
    for changed in ({"birth_date": "1970-01-01", "municipality": town.pk}, {}):
        assert client.post("/me/", {**data, **changed}).status_code == 400
    # The name can still be corrected, and once the vote is closed the move is allowed.
    assert client.post("/me/", {**data, "municipality": town.pk, "full_name": "Анна Петровна"}).status_code == 302
    Campaign.objects.filter(pk=campaign.pk).update(closed_at=now)
    assert client.post("/me/", data).status_code == 302
    resident.refresh_from_db()
    assert resident.municipality == elsewhere
