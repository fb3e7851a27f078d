"""Issue 11, findings 3 and 4: one person, one ballot, whatever the channel; a phone counts
only once verified; eligibility is not the resident's to retype while a vote is near."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from portal.accounts.identity import user_eligibility_correct
from portal.accounts.models import Assurance, User
from portal.accounts.services import user_profile_update
from portal.audit.models import AuditEvent
from tests.builders import make_campaign, make_entry, make_user, years_ago
from votes.models import Ballot, Participation
from votes.permissions import ballot_refusal
from votes.services import AlreadyVoted, ResidentHasExistingAccount, ballot_cast, volunteer_ballot_cast

VICTIM_PHONE = "+79125550077"


def _desk_code(volunteer, phone, outbox) -> str:
    api = APIClient()
    api.force_authenticate(volunteer)
    assert api.post("/api/v1/volunteer/codes/", {"phone": phone}, format="json").status_code == 202
    return re.search(r"\b(\d{6})\b", outbox[-1].text).group(1)


def _desk_body(campaign, entry, **over):
    return {
        "campaign": campaign.pk,
        "phone": VICTIM_PHONE,
        "full_name": "Смирнова Ольга Ивановна",
        "birth_date": "1970-03-04",
        "municipality": campaign.municipality.slug,
        "document_type": "passport",
        "document_number": "6512 345678",
        "choices": [{"entry": entry.pk}],
        **over,
    }


def test_a_squatted_phone_does_not_capture_the_owners_desk_ballot(town, volunteer, sms_outbox):
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    attacker = make_user(verified=True, age=40, municipality=town, full_name="Злоумышленник", phone=VICTIM_PHONE)
    api = APIClient()
    api.force_authenticate(volunteer)
    body = _desk_body(campaign, entry, code=_desk_code(volunteer, VICTIM_PHONE, sms_outbox))
    response = api.post("/api/v1/volunteer/ballots/", body, format="json")
    assert response.status_code == 201, response.content
    assert Ballot.objects.count() == 1
    voter = Participation.objects.get().voter
    assert voter != attacker
    assert voter.has_verified_phone
    assert voter.phone == VICTIM_PHONE
    mine = APIClient()
    mine.force_authenticate(attacker)
    assert mine.get("/api/v1/ballots/mine/").json()["results"] == []
    attacker.refresh_from_db()
    assert attacker.phone_verified_at is None


def test_without_the_code_an_unverified_phone_gets_nothing(town, volunteer):
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    make_user(verified=True, age=40, municipality=town, phone=VICTIM_PHONE)
    api = APIClient()
    api.force_authenticate(volunteer)
    response = api.post("/api/v1/volunteer/ballots/", _desk_body(campaign, entry), format="json")
    assert response.json()["code"] == "code_required"
    assert not Ballot.objects.exists()


def test_a_resident_who_voted_online_without_a_phone_gets_no_second_ballot_at_the_desk(town, volunteer, sms_outbox):
    """Before issue 11 the desk matched by phone only and made a …@phone.invalid account."""
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    online = make_user(verified=True, full_name="Смирнова Ольга Ивановна", birth_date=years_ago(55), municipality=town)
    ballot_cast(campaign=campaign, voter=online, choices=[entry.pk], channel="web")
    api = APIClient()
    api.force_authenticate(volunteer)
    body = _desk_body(
        campaign, entry, birth_date=online.birth_date.isoformat(), code=_desk_code(volunteer, VICTIM_PHONE, sms_outbox)
    )
    response = api.post("/api/v1/volunteer/ballots/", body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_voted"
    assert Ballot.objects.count() == 1
    assert not User.objects.filter(email__endswith="@phone.invalid").exists()


def test_a_resident_with_an_account_is_sent_to_it_not_given_another(town, volunteer, sms_outbox):
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    make_user(verified=True, full_name="Смирнова  ольга Ивановна", birth_date=years_ago(55), municipality=town)
    with pytest.raises(ResidentHasExistingAccount) as refused:
        volunteer_ballot_cast(
            volunteer=volunteer,
            campaign=campaign,
            phone=VICTIM_PHONE,
            full_name="Смирнова Ольга Ивановна",
            birth_date=years_ago(55),
            municipality=town,
            document_type="passport",
            document_number="6512 345678",
            code=_desk_code(volunteer, VICTIM_PHONE, sms_outbox),
            choices=[entry.pk],
        )
    assert refused.value.code == "resident_has_account"
    assert refused.value.http_status == 409
    assert User.objects.count() == 2  # the volunteer and the existing account


def test_the_same_document_at_a_second_desk_finds_the_same_person(town, volunteer, sms_outbox):
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    kwargs = {
        "volunteer": volunteer,
        "campaign": campaign,
        "full_name": "Смирнова Ольга Ивановна",
        "birth_date": years_ago(55),
        "municipality": town,
        "document_type": "passport",
        "choices": [entry.pk],
    }
    volunteer_ballot_cast(
        phone=VICTIM_PHONE,
        document_number="6512 345678",
        code=_desk_code(volunteer, VICTIM_PHONE, sms_outbox),
        **kwargs,
    )
    with pytest.raises(AlreadyVoted) as again:  # another phone, the same passport typed otherwise
        volunteer_ballot_cast(phone="+79125550078", document_number="6512-345678", **kwargs)
    assert again.value.code == "already_voted"
    assert Ballot.objects.count() == 1


def test_a_campaign_refuses_accounts_below_its_level_and_says_how_to_rise(town, resident):
    campaign = make_campaign(town, min_assurance=Assurance.PHONE_VERIFIED)
    refusal = ballot_refusal(resident, campaign)
    assert refusal.code == "assurance_too_low"
    assert "/me/phone/" in str(refusal)
    User.objects.filter(pk=resident.pk).update(phone=VICTIM_PHONE, phone_verified_at=timezone.now())
    resident.refresh_from_db()
    assert ballot_refusal(resident, campaign) is None


def test_two_email_accounts_of_one_person_cannot_both_reach_the_phone_level(town, resident, sms_outbox):
    campaign = make_campaign(town, min_assurance=Assurance.PHONE_VERIFIED)
    User.objects.filter(pk=resident.pk).update(phone=VICTIM_PHONE, phone_verified_at=timezone.now())
    second = make_user(verified=True, age=30, municipality=town, phone=VICTIM_PHONE)
    from portal.accounts.identity import user_phone_code_send, user_phone_verify

    user_phone_code_send(user=second)
    with pytest.raises(ValidationError) as refused:
        user_phone_verify(user=second, code=re.search(r"\d{6}", sms_outbox[-1].text).group(0))
    assert refused.value.error_dict["code"][0].code == "phone_verified_elsewhere"
    assert ballot_refusal(User.objects.get(pk=second.pk), campaign).code == "assurance_too_low"


def test_a_13_year_old_cannot_edit_the_birth_date_while_a_vote_is_upcoming(town):
    make_campaign(town, phase="upcoming")
    child = make_user(verified=True, age=13, municipality=town, full_name="Петя")
    with pytest.raises(ValidationError) as refused:
        user_profile_update(user=child, full_name="Петя", birth_date=years_ago(20), municipality=town)
    assert refused.value.error_dict["birth_date"][0].code == "locked_by_vote"
    assert User.objects.get(pk=child.pk).birth_date == years_ago(13)


def test_residence_cannot_be_retyped_into_a_town_with_an_open_vote(town, neighbour_town, resident):
    make_campaign(neighbour_town)
    with pytest.raises(ValidationError) as refused:
        user_profile_update(
            user=resident, full_name=resident.full_name, birth_date=resident.birth_date, municipality=neighbour_town
        )
    assert refused.value.error_dict["municipality"][0].code == "locked_by_vote"


def test_with_no_vote_near_the_resident_may_correct_their_details(town, neighbour_town, resident):
    make_campaign(town, phase="closed")
    user_profile_update(
        user=resident, full_name=resident.full_name, birth_date=years_ago(31), municipality=neighbour_town
    )
    assert User.objects.get(pk=resident.pk).municipality == neighbour_town


def test_provider_verified_details_are_never_the_residents_to_change(town, neighbour_town, resident):
    User.objects.filter(pk=resident.pk).update(provider_verified_at=timezone.now(), identity_provider="regional-id")
    resident.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        user_profile_update(user=resident, full_name=resident.full_name, birth_date=years_ago(31), municipality=town)
    assert refused.value.error_dict["birth_date"][0].code == "verified_by_provider"


def test_an_official_corrects_details_with_a_reason_in_the_audit_log(town, official, resident):
    make_campaign(town, phase="upcoming")
    user_eligibility_correct(
        actor=official, user=resident, birth_date=years_ago(29), municipality=town, reason="Ошибка в дате, паспорт"
    )
    assert User.objects.get(pk=resident.pk).birth_date == years_ago(29)
    event = AuditEvent.objects.get(action="action:eligibility_correct")
    assert event.after["reason"] == "Ошибка в дате, паспорт"
    assert event.actor == official


def test_an_official_outside_the_scope_cannot_correct(other_official, resident, town):
    from portal.accounts.permissions import OutOfScope

    with pytest.raises(OutOfScope) as refused:
        user_eligibility_correct(actor=other_official, user=resident, birth_date=None, municipality=town, reason="x")
    assert refused.value.code == "out_of_scope"


def test_the_profile_no_longer_calls_an_email_check_a_verified_identity(client, resident):
    client.force_login(resident)
    page = client.get("/me/").content.decode()
    assert 'data-assurance="self_declared"' in page
    assert "identity verified" not in page
