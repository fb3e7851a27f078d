"""Every write on campaigns, ballots, tallies and ideas (keyword-only `<entity>_<action>`).

A package by concern; the names callers use are re-exported here, so
`from votes.services import ballot_cast` keeps working.

- errors: why a write was refused (`BallotError` and its subclasses, each with a `code`);
- ballots: casting, for every channel, into the register and the box; imported ballots;
- campaigns: opening and closing;
- tallies: counting and publishing results;
- seal: the public ledger and its sealed head;
- imports: a published pabulib election as a closed campaign;
- ideas: residents' ideas and their moderation;
- notifications: the vote's e-mails, enqueued after commit and sent by the tasks;
- verification: the screening after the close and the commission's decisions;
- turnout: officials told once a day that a vote is behind pace;
- locks: the advisory lock that keeps two workers off one tally.
"""

from votes.results import ledger_rows
from votes.services.ballots import (
    BIGINT_MAX,
    MAX_POINTS,
    CastBallot,
    ChoiceInput,
    ImportedBallot,
    ballot_cast,
    ballot_validate,
    ballots_import,
    desk_phone_code_send,
    volunteer_ballot_cast,
)
from votes.services.campaigns import (
    campaign_close,
    campaign_open,
    campaigns_clock_tick,
)
from votes.services.errors import (
    AlreadyVoted,
    AlreadyVotedInVote,
    BallotError,
    CampaignNotOpen,
    DuplicateEntry,
    InvalidBallot,
    InvalidPoints,
    InvalidRanking,
    MalformedChoices,
    NotAllowedToAssist,
    NotEligible,
    OverBudget,
    PhoneNotProved,
    PointsOverLimit,
    ProfileChanged,
    ResidentDetailsMismatch,
    ResidentHasExistingAccount,
    ResultsError,
    TallyError,
    TooFewChoices,
    TooManyChoices,
    UnknownEntry,
)
from votes.services.ideas import (
    IDEA_MAX_PHOTOS,
    idea_approve,
    idea_merge,
    idea_reject,
    idea_submit,
    idea_validate_photos,
)
from votes.services.imports import (
    campaign_import_pabulib,
)
from votes.services.notifications import (
    email_campaign_opened_send,
    email_idea_decided_send,
    email_results_published_send,
    email_turnout_behind_send,
    notifications_campaign_opened_enqueue,
    notifications_idea_decided_enqueue,
    notifications_results_published_enqueue,
)
from votes.services.seal import (
    ledger_head_compute,
    ledger_seal,
    ledger_seal_enqueue,
    ledger_seal_request,
)
from votes.services.tallies import (
    Recount,
    live_tallies_enqueue,
    results_publish,
    tally_compute,
    tally_enqueue,
    tally_outcome,
    tally_recount,
)
from votes.services.turnout import turnout_notices_send
from votes.services.verification import (
    VerificationError,
    finding_clear,
    participation_annul,
    screening_data_erase,
    screening_enqueue,
    screening_run,
    verification_approve,
)

__all__ = [
    "BIGINT_MAX",
    "IDEA_MAX_PHOTOS",
    "MAX_POINTS",
    "AlreadyVoted",
    "AlreadyVotedInVote",
    "BallotError",
    "CampaignNotOpen",
    "CastBallot",
    "ChoiceInput",
    "DuplicateEntry",
    "ImportedBallot",
    "InvalidBallot",
    "InvalidPoints",
    "InvalidRanking",
    "MalformedChoices",
    "NotAllowedToAssist",
    "NotEligible",
    "OverBudget",
    "PhoneNotProved",
    "PointsOverLimit",
    "ProfileChanged",
    "Recount",
    "ResidentDetailsMismatch",
    "ResidentHasExistingAccount",
    "ResultsError",
    "TallyError",
    "TooFewChoices",
    "TooManyChoices",
    "UnknownEntry",
    "VerificationError",
    "ballot_cast",
    "ballot_validate",
    "ballots_import",
    "campaign_close",
    "campaign_import_pabulib",
    "campaign_open",
    "campaigns_clock_tick",
    "desk_phone_code_send",
    "email_campaign_opened_send",
    "email_idea_decided_send",
    "email_results_published_send",
    "email_turnout_behind_send",
    "finding_clear",
    "idea_approve",
    "idea_merge",
    "idea_reject",
    "idea_submit",
    "idea_validate_photos",
    "ledger_head_compute",
    "ledger_rows",
    "ledger_seal",
    "ledger_seal_enqueue",
    "ledger_seal_request",
    "live_tallies_enqueue",
    "notifications_campaign_opened_enqueue",
    "notifications_idea_decided_enqueue",
    "notifications_results_published_enqueue",
    "participation_annul",
    "results_publish",
    "screening_data_erase",
    "screening_enqueue",
    "screening_run",
    "tally_compute",
    "tally_enqueue",
    "tally_outcome",
    "tally_recount",
    "turnout_notices_send",
    "verification_approve",
    "volunteer_ballot_cast",
]
