"""Who may cast a ballot, as small named predicates.

`ballot_refusal` answers *why not* (a stable code for programs, a translatable message
for people); `can_vote` is its yes/no. The services ask the same question before they
write, and the database (unique constraint, trigger) has the last word.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.accounts.models import Assurance, assurance_at_least
from portal.accounts.permissions import (
    is_commission_member_for,
    is_official,
    is_official_for,
    is_volunteer,
)
from votes.models import Campaign


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str | Promise

    def __str__(self) -> str:
        return str(self.message)


# Codes are part of the API (clients switch on them): never rename one.
NOT_YET_OPEN = Refusal("campaign_not_yet_open", _("Voting in this campaign has not opened yet."))
CLOSED = Refusal("campaign_closed", _("Voting in this campaign is closed."))
NOT_AUTHENTICATED = Refusal("not_authenticated", _("Log in to vote."))
INACTIVE = Refusal("account_inactive", _("This account is deactivated."))
NOT_VERIFIED = Refusal(
    "not_verified", _("Confirm your e-mail address (or verify your identity with a volunteer) before voting.")
)
BIRTH_DATE_MISSING = Refusal("birth_date_missing", _("Add your birth date to your profile: voting has a minimum age."))
RESIDENCE_MISSING = Refusal(
    "residence_missing", _("Add your municipality of residence to your profile: residents vote on their own list.")
)
PHASE_REFUSALS = frozenset({NOT_YET_OPEN.code, CLOSED.code})


def _under_age(min_age: int) -> Refusal:
    # Russian declines the age by the number ("с 21 года", "с 14 лет"), hence ngettext.
    message = ngettext(
        "Residents aged %(age)s or older may vote in this campaign.",
        "Residents aged %(age)s or older may vote in this campaign.",
        min_age,
    )
    return Refusal("under_age", message % {"age": min_age})


def _not_resident(campaign: Campaign) -> Refusal:
    if campaign.residence_scope == campaign.ResidenceScope.REGION:
        message = _("Only residents of %(place)s may vote in this campaign.") % {
            "place": campaign.municipality.region.name
        }
    else:
        message = _("Only residents of %(place)s may vote in this campaign.") % {"place": campaign.municipality.name}
    return Refusal("not_resident", message)


def _assurance_too_low(campaign: Campaign) -> Refusal:
    # The profile is where a phone is verified; a volunteer's desk verifies in person.
    message = _(
        'This vote accepts accounts verified at least as "%(level)s". Verify your phone on your profile page '
        "(%(url)s), or vote at a volunteer's desk with your passport."
    ) % {"level": Assurance(campaign.min_assurance).label, "url": reverse("accounts:phone_verify")}
    return Refusal("assurance_too_low", message)


def campaign_refusal(campaign: Campaign, *, now: datetime.datetime | None = None) -> Refusal | None:
    """Why the campaign takes no ballots right now (None: it is open)."""
    phase = campaign.phase(now)
    if phase == "closed":
        return CLOSED
    if phase != "voting":
        return NOT_YET_OPEN
    return None


def voter_refusal(user, campaign: Campaign, *, now: datetime.datetime | None = None) -> Refusal | None:
    """Why `user` may not vote in `campaign`, leaving the campaign's phase aside."""
    if not getattr(user, "is_authenticated", False):
        return NOT_AUTHENTICATED
    if not user.is_active:
        return INACTIVE
    if user.verified_at is None:
        return NOT_VERIFIED
    if not assurance_at_least(user.assurance_level, campaign.min_assurance):
        return _assurance_too_low(campaign)
    if user.birth_date is None:
        return BIRTH_DATE_MISSING
    # Age is counted on the voting day, in the portal's time zone (a birthday at
    # midnight in Yekaterinburg is not a birthday in UTC).
    voting_day = timezone.localdate(now or timezone.now())
    if user.age_on(voting_day) < campaign.min_age:
        return _under_age(campaign.min_age)
    if user.municipality_id is None:
        return RESIDENCE_MISSING
    if campaign.residence_scope == campaign.ResidenceScope.REGION:
        if user.municipality.region_id != campaign.municipality.region_id:
            return _not_resident(campaign)
    elif user.municipality_id != campaign.municipality_id:
        return _not_resident(campaign)
    return None


def ballot_refusal(user, campaign: Campaign, *, now: datetime.datetime | None = None) -> Refusal | None:
    """The first reason `user` may not cast a ballot in `campaign` now, or None."""
    return campaign_refusal(campaign, now=now) or voter_refusal(user, campaign, now=now)


def can_vote(user, campaign: Campaign, *, now: datetime.datetime | None = None) -> bool:
    return ballot_refusal(user, campaign, now=now) is None


# Ideas: who may propose one to a campaign, and when (codes as the idea service's errors).
IDEAS_CLOSED = Refusal("closed", _("This campaign is not collecting ideas now."))
IDEAS_NOT_VERIFIED = Refusal(
    "unverified", _("Only verified residents can propose ideas. Confirm your e-mail address first.")
)


def idea_refusal(user, campaign: Campaign, *, now: datetime.datetime | None = None) -> Refusal | None:
    """Why `user` may not propose an idea to `campaign` now, or None."""
    if not Campaign.objects.collecting_ideas(now).filter(pk=campaign.pk).exists():
        return IDEAS_CLOSED
    if not getattr(user, "is_authenticated", False) or not user.is_verified:
        return IDEAS_NOT_VERIFIED
    if user.municipality_id != campaign.municipality_id:
        message = _("Only residents of %(municipality)s can propose ideas for this campaign.") % {
            "municipality": campaign.municipality
        }
        return Refusal("not_resident", message)
    return None


def can_assist(user) -> bool:
    """Volunteers cast ballots on behalf of residents whose identity they checked."""
    return is_volunteer(user) or bool(getattr(user, "is_authenticated", False) and user.is_superuser)


def can_enter_paper(user, campaign: Campaign) -> bool:
    """Officials of the campaign's municipality enter paper ballots."""
    return is_official_for(user, campaign.municipality_id)


def assisted_channel(user) -> str | None:
    """The channel of the ballots `user` enters for others at the desk: volunteers help
    residents vote, officials enter paper ballots; anyone else enters none."""
    if can_assist(user):
        return "volunteer"
    if is_official(user):
        return "paper"
    return None


def can_assist_in(user, campaign: Campaign) -> bool:
    """May `user` enter a ballot for someone else in `campaign`? Where is
    `Campaign.objects.assistable_by`: a volunteer in their assigned region, an official
    (paper ballots) in their own municipalities."""
    if assisted_channel(user) is None:
        return False
    return Campaign.objects.assistable_by(user).filter(pk=campaign.pk).exists()


# The verification after the close: the campaign's officials and commission see it; only
# the commission decides (clears, annuls, approves). Anyone else: 404.
def can_decide_verification(user, campaign: Campaign) -> bool:
    return is_commission_member_for(user, campaign.municipality_id)


def can_view_verification(user, campaign: Campaign) -> bool:
    return can_decide_verification(user, campaign) or is_official_for(user, campaign.municipality_id)


def can_download_protocol(user, campaign: Campaign) -> bool:
    """The commission's protocol, once the final count is done (the caller has its tally):
    anyone once the results are published; before that, the campaign's commission and officials."""
    return campaign.results_published_at is not None or can_view_verification(user, campaign)
