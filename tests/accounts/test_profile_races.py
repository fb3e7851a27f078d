"""Profile changes racing other writes on PostgreSQL: a clear answer, never a 500.

The outside review: two profiles taking the same new phone at the same moment answered
500 (IntegrityError on accounts_user_phone_key) three times in three tries.
"""

from __future__ import annotations

import datetime

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from portal.accounts.models import User
from portal.accounts.services import user_profile_update
from tests.builders import make_campaign, make_entry, make_municipality, make_user
from tests.concurrency import race
from votes.models import Ballot, Participation
from votes.services import ProfileChanged, ballot_cast

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = "+79125550077"
BORN = datetime.date(1980, 5, 17)


def make_resident(town, email: str, **fields) -> User:
    """A verified resident of `town` born on BORN (what the profile form posts)."""
    fields.setdefault("full_name", "Житель")
    return make_user(email, verified=True, birth_date=BORN, municipality=town, **fields)


def profile_post(user: User, town, phone: str):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)

    def post():
        data = {"full_name": user.full_name, "birth_date": BORN.isoformat(), "municipality": town.pk, "phone": phone}
        return client.post("/me/", data)

    return post


def test_two_profiles_taking_one_new_phone_get_a_form_error_not_a_500(town):
    first, second = make_resident(town, "first@example.org"), make_resident(town, "second@example.org")

    outcome = race(
        lambda: user_profile_update(user=first, full_name="Первый", birth_date=BORN, municipality=town, phone=PHONE),
        profile_post(second, town, "+7 912 555-00-77"),
    )

    assert outcome.second_waited  # it really met the first at the unique index
    assert not isinstance(outcome.second, Exception), outcome.second
    assert outcome.second.status_code == 400
    assert "This phone number belongs to another account." in outcome.second.content.decode()
    assert User.objects.get(pk=first.pk).phone == PHONE
    assert User.objects.get(pk=second.pk).phone is None


@override_settings(THROTTLE=False)
def test_a_volunteer_registering_the_phone_first_gives_the_profile_a_form_error(town):
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    volunteer = make_resident(town, "volunteer@example.org", role=User.Role.VOLUNTEER, scope_region=town.region)
    other = make_resident(town, "other@example.org")
    api = APIClient()
    api.force_authenticate(volunteer)
    body = {
        "campaign": campaign.pk,
        "phone": "8 912 555-00-77",
        "full_name": "Иванова Мария",
        "birth_date": "1990-01-02",
        "municipality": town.slug,
        "choices": [{"entry": entry.pk}],
    }

    outcome = race(
        lambda: api.post("/api/v1/volunteer/ballots/", body, format="json"),
        profile_post(other, town, PHONE),
    )

    assert outcome.first.status_code == 201, outcome.first.content
    assert outcome.second_waited
    assert not isinstance(outcome.second, Exception), outcome.second
    assert outcome.second.status_code == 400
    assert User.objects.get(phone=PHONE).full_name == "Иванова Мария"


@override_settings(THROTTLE=False)
def test_a_profile_taking_the_phone_first_gives_the_volunteer_a_clear_refusal(town):
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    volunteer = make_resident(town, "volunteer@example.org", role=User.Role.VOLUNTEER, scope_region=town.region)
    owner = make_resident(town, "owner@example.org", full_name="Петров Пётр")
    api = APIClient()
    api.force_authenticate(volunteer)
    body = {
        "campaign": campaign.pk,
        "phone": PHONE,
        "full_name": "Иванова Мария",
        "birth_date": "1990-01-02",
        "municipality": town.slug,
        "choices": [{"entry": entry.pk}],
    }

    outcome = race(
        lambda: user_profile_update(
            user=owner, full_name="Петров Пётр", birth_date=BORN, municipality=town, phone=PHONE
        ),
        lambda: api.post("/api/v1/volunteer/ballots/", body, format="json"),
    )

    assert not isinstance(outcome.second, Exception), outcome.second
    assert outcome.second.status_code == 400
    assert outcome.second.json()["code"] == "resident_mismatch"
    assert not Ballot.objects.exists()
    assert User.objects.filter(phone=PHONE).get().pk == owner.pk


def test_moving_house_while_a_ballot_is_being_cast_waits_for_it_and_is_refused(town):
    voter = make_resident(town, "mover@example.org")
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    elsewhere = make_municipality(town.region)

    outcome = race(
        lambda: ballot_cast(campaign=campaign, voter=voter, choices=[entry.pk], channel="web"),
        lambda: user_profile_update(user=voter, full_name="Житель", birth_date=BORN, municipality=elsewhere),
    )

    assert Participation.objects.filter(voter=voter).count() == 1
    assert outcome.second_waited
    assert getattr(outcome.second, "message_dict", None) is not None, outcome.second
    assert outcome.second.error_dict["municipality"][0].code == "locked_by_ballot"
    assert User.objects.get(pk=voter.pk).municipality_id == town.pk


def test_a_ballot_checked_before_a_committed_move_is_not_written(town):
    voter = make_resident(town, "stale@example.org")
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    elsewhere = make_municipality(town.region)
    # The request loaded the voter; the same resident moved in another tab before the INSERT.
    user_profile_update(user=User.objects.get(pk=voter.pk), full_name="Житель", birth_date=BORN, municipality=elsewhere)

    with pytest.raises(ProfileChanged) as refused:
        ballot_cast(campaign=campaign, voter=voter, choices=[entry.pk], channel="web")

    assert refused.value.code == "profile_changed"
    assert not Ballot.objects.exists()


def test_a_ballot_racing_a_move_in_flight_waits_and_is_refused(town):
    voter = make_resident(town, "racing@example.org")
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    elsewhere = make_municipality(town.region)

    outcome = race(
        lambda: user_profile_update(
            user=User.objects.get(pk=voter.pk), full_name="Житель", birth_date=BORN, municipality=elsewhere
        ),
        lambda: ballot_cast(campaign=campaign, voter=voter, choices=[entry.pk], channel="web"),
    )

    assert outcome.second_waited
    assert isinstance(outcome.second, ProfileChanged), outcome.second
    assert not Ballot.objects.exists()
    assert User.objects.get(pk=voter.pk).municipality_id == elsewhere.pk
