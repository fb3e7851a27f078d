"""152-ФЗ: consent at sign-up with the policy's version, a privacy page, a public name in
place of the full name, the resident's data as a file, and deletion by erasure that leaves
the register and the ballot box intact and unlinked."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from portal.accounts.models import User, public_name_default
from portal.accounts.services import user_erase
from portal.audit.models import AuditEvent
from projects.models import Comment
from tests.builders import PASSWORD, make_ballot, make_campaign, make_proposal, make_space, make_user
from votes.models import Ballot, Participation

pytestmark = pytest.mark.django_db

SIGNUP = {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD}


def test_sign_up_refuses_without_the_consent_and_links_the_policy(settings) -> None:
    page = Client().get(reverse("account_signup")).content.decode()
    assert 'name="privacy_consent"' in page
    assert reverse("privacy") in page
    assert "checked" not in page.split('name="privacy_consent"', 1)[1].split(">", 1)[0]
    response = Client().post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 200
    assert "Без согласия на обработку персональных данных" in response.content.decode()
    assert not User.objects.filter(email="new@example.org").exists()


def test_sign_up_records_the_consent_with_the_policy_version_and_time(settings) -> None:
    settings.PRIVACY_POLICY_VERSION = "2026-12-01"
    Client().post(reverse("account_signup"), {**SIGNUP, "privacy_consent": "on"})
    user = User.objects.get(email="new@example.org")
    assert user.privacy_consent_version == "2026-12-01"
    assert user.privacy_consent_at is not None
    assert AuditEvent.objects.filter(action="action:privacy_consent", object_id=str(user.pk)).exists()


def test_the_privacy_page_says_what_why_how_long_who_and_how_to_delete(settings) -> None:
    settings.PRIVACY_POLICY_VERSION = "2026-12-01"
    page = Client().get(reverse("privacy")).content.decode()
    for heading in ("Какие данные мы храним", "Зачем", "Как долго", "Кто видит", "удалить свои данные", "2026-12-01"):
        assert heading in page
    assert 'class="site-header' in page or "<header" in page  # in the site's frame


@pytest.mark.parametrize(
    ("full_name", "public"),
    [
        ("Иванова Мария Петровна", "Мария И."),
        ("Анна Сергеевна Иванова", "Анна И."),
        ("Мамедов Рашид Алиевич", "Рашид М."),
        ("Анна Иванова", "Анна И."),
        ("Пётр", "Пётр"),
        ("", ""),
    ],
)
def test_the_default_public_name_is_first_name_and_initial(full_name, public) -> None:
    assert public_name_default(full_name) == public


def test_comments_show_the_public_name_never_the_full_name(town) -> None:
    author = make_user(full_name="Иванова Мария Петровна", municipality=town)
    proposal = make_proposal(make_space(town))
    Comment.objects.create(proposal=proposal, author=author, body="Нужны фонари")
    page = Client().get(proposal.get_absolute_url()).content.decode()
    assert "Мария И." in page
    assert "Иванова" not in page
    author.public_name = "Маша с Уралмаша"
    author.save()
    page = Client().get(proposal.get_absolute_url()).content.decode()
    assert "Маша с Уралмаша" in page


def test_the_profile_sets_the_public_name(resident, town) -> None:
    client = Client()
    client.force_login(resident)
    data = {"full_name": resident.full_name, "birth_date": resident.birth_date.isoformat(), "municipality": town.pk}
    client.post(reverse("accounts:profile"), {**data, "public_name": "Аня"})
    resident.refresh_from_db()
    assert resident.public_label == "Аня"


def test_a_resident_downloads_their_data_as_json(resident, town) -> None:
    Comment.objects.create(proposal=make_proposal(make_space(town)), author=resident, body="Мой комментарий")
    campaign = make_campaign(town, title="Дворы 2027")
    ballot = make_ballot(campaign, resident)
    client = Client()
    client.force_login(resident)
    response = client.get(reverse("accounts:my_data"))
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["account"]["email"] == resident.email
    assert data["account"]["full_name"] == "Анна Иванова"
    assert data["comments"][0]["text"] == "Мой комментарий"
    assert "privacy_consent" in data
    # Where and when they voted, from the register; never the ballot (the box keeps no voter).
    assert [(v["campaign"], v["channel"]) for v in data["votes"]] == [("Дворы 2027", "web")]
    assert ballot.receipt_hash not in response.content.decode()


def test_deleting_the_account_erases_personal_data_in_place_and_keeps_the_ballot(resident, town) -> None:
    campaign = make_campaign(town)
    ballot = make_ballot(campaign, resident)
    comment = Comment.objects.create(proposal=make_proposal(make_space(town)), author=resident, body="Текст")
    resident.phone = "+79001234567"
    resident.save()
    client = Client()
    client.force_login(resident)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'id="delete"' in page
    assert client.post(reverse("accounts:account_erase")).status_code == 302  # no confirmation: nothing done
    assert User.objects.get(pk=resident.pk).erased_at is None
    response = client.post(reverse("accounts:account_erase"), {"confirm": "on"})
    assert response.status_code == 302
    user = User.objects.get(pk=resident.pk)
    assert (user.full_name, user.phone, user.birth_date, user.municipality_id) == ("", None, None, None)
    assert user.email == f"erased-{user.pk}@erased.invalid"
    assert not user.is_active
    assert not user.has_usable_password()
    assert Ballot.objects.filter(pk=ballot.pk, campaign=campaign).exists()
    assert Ballot.objects.filter(campaign=campaign).count() == 1
    # The register keeps its row (one ballot per person still holds), linked to no one named.
    assert Participation.objects.get(campaign=campaign).voter_id == user.pk
    event = AuditEvent.objects.get(action="action:user_erase", object_id=str(user.pk))
    assert event.before is None
    assert event.after is None
    assert "Анна" not in event.object_repr
    assert client.get(reverse("accounts:profile")).status_code == 302  # logged out
    assert not Client().login(email=resident.email, password=PASSWORD)
    page = Client().get(comment.proposal.get_absolute_url()).content.decode()
    assert "Удалённая учётная запись" in page


def test_erasing_twice_changes_nothing_more(resident) -> None:
    first = user_erase(user=resident)
    assert user_erase(user=first).erased_at == first.erased_at
