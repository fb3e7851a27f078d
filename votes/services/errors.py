"""Why a write on the vote was refused: one exception class per reason, each with a stable `code`."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from votes.permissions import (
    Refusal,
)

# --- Errors -----------------------------------------------------------------------


class BallotError(Exception):
    """A ballot that was not recorded. `code` is stable (API clients switch on it)."""

    code = "invalid_ballot"
    http_status = 400
    default_message: str | Promise = _("This ballot is not valid.")

    def __init__(self, message: str | Promise | None = None, *, code: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        super().__init__(str(self.message))


class InvalidBallot(BallotError):
    """The choices break the campaign's method or limits (HTTP 400)."""


class MalformedChoices(InvalidBallot):
    code = "malformed_choices"
    default_message = _("Each choice needs an entry id and, where the method asks for it, a whole number of points.")


class TooFewChoices(InvalidBallot):
    code = "too_few_choices"


class TooManyChoices(InvalidBallot):
    code = "too_many_choices"


class DuplicateEntry(InvalidBallot):
    code = "duplicate_entry"
    default_message = _("The same project appears twice on the ballot.")


class UnknownEntry(InvalidBallot):
    code = "unknown_entry"
    default_message = _("A chosen project is not on this campaign's ballot.")


class InvalidPoints(InvalidBallot):
    code = "invalid_points"


class PointsOverLimit(InvalidBallot):
    code = "points_over_limit"


class InvalidRanking(InvalidBallot):
    code = "invalid_ranking"


class OverBudget(InvalidBallot):
    code = "over_budget"


class NotEligible(BallotError):
    """The voter may not vote in this campaign (HTTP 403); `code` says why."""

    code = "not_eligible"
    http_status = 403

    @classmethod
    def from_refusal(cls, refusal: Refusal) -> NotEligible:
        return cls(refusal.message, code=refusal.code)


class CampaignNotOpen(NotEligible):
    code = "campaign_not_open"
    default_message = _("This campaign is not taking ballots now.")


class NotAllowedToAssist(BallotError):
    code = "not_allowed_to_assist"
    http_status = 403
    default_message = _("Only volunteers (and officials, for paper ballots) may enter a ballot for someone else.")


class AlreadyVoted(BallotError):
    code = "already_voted"
    http_status = 409
    default_message = _("You have already voted in this campaign. Each resident has one ballot.")


class AlreadyVotedInVote(AlreadyVoted):
    """A ballot in another list of the same vote group (territories or a design list)."""

    code = "already_voted_in_vote"
    default_message = _(
        "You have already voted in another list of this vote. Each resident has one ballot in the whole vote: "
        "in the list of territories or in one list of design projects."
    )


# What the volunteer is told: the resident's ballot exists, whatever channel it came by.
RESIDENT_ALREADY_VOTED = _(
    "This resident has already voted in this campaign (online, through the app or at a desk). "
    "Each resident has one ballot: no second one can be entered."
)


class ProfileChanged(BallotError):
    """The voter's residence or birth date changed while the ballot was being cast."""

    code = "profile_changed"
    http_status = 409
    default_message = _(
        "Your profile changed while the ballot was being cast, so it was not recorded. "
        "Check where you live and your birth date, then vote again."
    )


class ResidentDetailsMismatch(BallotError):
    code = "resident_mismatch"
    default_message = _(
        "This phone number belongs to a resident with another name or birth date. Check the number and the document."
    )


class PhoneNotProved(BallotError):
    """The desk has no proof of the resident's phone: no code, or a wrong, spent or
    expired one (`code` says which: code_required, code_wrong, code_used, …)."""

    code = "code_required"


class ResidentHasExistingAccount(BallotError):
    code = "resident_has_account"
    http_status = 409
    default_message = _(
        "This resident already has an account on the portal (same name, birth date and municipality). "
        "They must vote with it: online after logging in, or here once the phone on that account is verified."
    )


class TallyError(Exception):
    """A tally cannot be computed (bad campaign configuration); the message says why."""


class ResultsError(Exception):
    """Results cannot be published yet; the message says why, `code` for programs
    (not_closed, tally_not_done, not_sealed)."""

    def __init__(self, message: str | Promise, *, code: str) -> None:
        self.message = message
        self.code = code
        super().__init__(str(message))


class CommissionKeyError(Exception):
    """The commission's key cannot be made or used here; the message says why, `code`
    for programs (key_exists, voting_begun, no_key, wrong_key, no_link, too_few_shares)."""

    def __init__(self, message: str | Promise, *, code: str) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code
