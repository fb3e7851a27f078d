"""Profile changes racing other writes on PostgreSQL: a clear answer, never a 500.

The outside review: two profiles taking the same new phone at the same moment answered
500 (IntegrityError on accounts_user_phone_key) three times in three tries. Since issue
11 a typed phone is unique only once verified, so the race is between two verifications.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client

from portal.accounts.identity import user_eligibility_correct, user_phone_code_send, user_phone_verify
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


def _code(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1].text).group(1)


def test_two_accounts_verifying_one_phone_at_once_one_wins_the_other_gets_a_form_error(town, sms_outbox):
    """The phone is unique among verified phones only (issue 11: an unverified one is
    anyone's to type). Two accounts that both typed it and got a code verify it at the
    same moment: the partial unique index lets one in, the other sees a form error."""
    first, second = (
        make_resident(town, "first@example.org", phone=PHONE),
        make_resident(town, "second@example.org", phone=PHONE),
    )
    user_phone_code_send(user=first)
    first_code = _code(sms_outbox)
    user_phone_code_send(user=second)
    second_code = _code(sms_outbox)

    def second_verifies():
        client = Client()
        client.force_login(second)
        return client.post("/me/phone/", {"action": "verify", "code": second_code})

    outcome = race(lambda: user_phone_verify(user=first, code=first_code), second_verifies)

    assert outcome.second_waited  # it really met the first at the unique index
    assert not isinstance(outcome.second, Exception), outcome.second
    assert outcome.second.status_code == 400
    assert "уже подтверждён в другой учётной записи" in outcome.second.content.decode()
    assert User.objects.get(pk=first.pk).phone_verified_at is not None
    assert User.objects.get(pk=second.pk).phone_verified_at is None


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
    # The request loaded the voter; an official recorded their move before the INSERT (the
    # resident may not move while a vote of theirs is open, an official may).
    _official_moves(voter, elsewhere)

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
        lambda: _official_moves(voter, elsewhere),
        lambda: ballot_cast(campaign=campaign, voter=voter, choices=[entry.pk], channel="web"),
    )

    assert outcome.second_waited
    assert isinstance(outcome.second, ProfileChanged), outcome.second
    assert not Ballot.objects.exists()
    assert User.objects.get(pk=voter.pk).municipality_id == elsewhere.pk


def _official_moves(voter: User, elsewhere) -> User:
    root = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser("root@example.org", "x")
    return user_eligibility_correct(
        actor=root, user=User.objects.get(pk=voter.pk), birth_date=BORN, municipality=elsewhere, reason="Переезд"
    )
