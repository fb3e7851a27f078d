"""The eligibility predicates as a role-by-phase matrix."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from portal.accounts.models import User
from votes.permissions import ballot_refusal, can_assist, can_vote

pytestmark = pytest.mark.django_db

PHASES = ["upcoming", "ideas", "voting", "closed"]

# role -> (residence scope of the campaign, the refusal code while voting is open)
ROLES = {
    "anonymous": ("municipality", "not_authenticated"),
    "unverified_resident": ("municipality", "not_verified"),
    "under_age_resident": ("municipality", "under_age"),
    "resident_without_birth_date": ("municipality", "birth_date_missing"),
    "resident_without_residence": ("municipality", "residence_missing"),
    "resident_of_another_municipality": ("municipality", "not_resident"),
    "resident_of_another_municipality_region_wide": ("region", None),
    "resident_of_another_region_region_wide": ("region", "not_resident"),
    "eligible_resident": ("municipality", None),
    # Volunteers and officials are residents too: one ballot each, like everybody.
    "volunteer": ("municipality", None),
    "official": ("municipality", None),
}


@pytest.fixture
def role_user(make_user, neighbour_town, far_town, town):
    def make(role: str):
        return {
            "anonymous": lambda: AnonymousUser(),
            "unverified_resident": lambda: make_user(verified=False),
            "under_age_resident": lambda: make_user(age=13),
            "resident_without_birth_date": lambda: make_user(age=None),
            "resident_without_residence": lambda: make_user(municipality=None),
            "resident_of_another_municipality": lambda: make_user(municipality=neighbour_town),
            "resident_of_another_municipality_region_wide": lambda: make_user(municipality=neighbour_town),
            "resident_of_another_region_region_wide": lambda: make_user(municipality=far_town),
            "eligible_resident": lambda: make_user(),
            "volunteer": lambda: make_user(role=User.Role.VOLUNTEER),
            "official": lambda: make_user(role=User.Role.MUNICIPAL_OFFICIAL),
        }[role]()

    return make


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", list(ROLES))
def test_ballot_refusal_by_role_and_phase(make_campaign, role_user, role, phase):
    scope, code_when_open = ROLES[role]
    campaign = make_campaign(phase=phase, residence_scope=scope)
    user = role_user(role)
    refusal = ballot_refusal(user, campaign)
    if phase == "voting":
        expected = code_when_open
    else:
        expected = "campaign_closed" if phase == "closed" else "campaign_not_yet_open"
    assert (refusal.code if refusal else None) == expected
    assert can_vote(user, campaign) is (expected is None)
    if refusal:
        assert str(refusal.message)


@pytest.mark.parametrize("role", list(ROLES))
def test_only_volunteers_assist(role_user, role):
    assert can_assist(role_user(role)) is (role == "volunteer")


def test_deactivated_volunteer_does_not_assist(make_user):
    assert not can_assist(make_user(role=User.Role.VOLUNTEER, is_active=False))


def test_age_is_counted_on_the_voting_day(make_campaign, make_user):
    """Fourteen tomorrow is not fourteen today; a refusal yesterday is a ballot tomorrow."""
    import datetime

    from django.utils import timezone

    campaign = make_campaign(min_age=14)
    user = make_user(age=14)
    user.birth_date += datetime.timedelta(days=1)
    assert ballot_refusal(user, campaign).code == "under_age"
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    assert ballot_refusal(user, campaign, now=tomorrow) is None
