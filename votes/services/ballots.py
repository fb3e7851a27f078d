"""Casting: `ballot_cast` is the one way a ballot enters the database, whatever the channel.

It validates the ballot against its campaign and raises a `BallotError` (with a stable
`code`) that writes nothing; the database then has the last word: the unique constraint
refuses a second ballot of the same voter, and on PostgreSQL the trigger of migration
0002 refuses a ballot after the close and stamps `cast_at` with the database clock.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lib.integrity import violated_constraint
from lib.money import rubles
from portal import metrics
from portal.accounts.identity import PhoneCodeError, phone_code_send, phone_code_wrong_try_record
from portal.accounts.models import PhoneCode, User
from portal.accounts.phones import InvalidPhone, phone_normalise
from portal.accounts.services import ResidentHasAccount, ResidentMismatch, resident_verify_in_person
from portal.audit.services import audit_decision
from votes import rules
from votes.models import Ballot, BallotChoice, Campaign, Channel, Entry
from votes.permissions import (
    PHASE_REFUSALS,
    assisted_channel,
    ballot_refusal,
    can_assist,
    can_assist_in,
    can_enter_paper,
)
from votes.receipts import receipt_code_new, receipt_hash
from votes.services.errors import (
    RESIDENT_ALREADY_VOTED,
    AlreadyVoted,
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
    TooFewChoices,
    TooManyChoices,
    UnknownEntry,
)

# --- Casting ----------------------------------------------------------------------


@dataclass(frozen=True)
class CastBallot:
    """What the voter is told: the receipt code (shown once, never stored) and the ballot."""

    receipt: str
    ballot: Ballot

    @property
    def cast_at(self) -> datetime.datetime:
        return self.ballot.cast_at


BIGINT_MAX = 2**63 - 1
ChoiceInput = tuple[int, int | None] | Sequence[int | None] | int


def _parse_choices(choices: Iterable[ChoiceInput]) -> list[tuple[int, int | None]]:
    parsed: list[tuple[int, int | None]] = []
    if isinstance(choices, (str, bytes, dict)):
        raise MalformedChoices()
    try:
        items = list(choices)
    except TypeError:
        raise MalformedChoices() from None
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            entry_id, points = item, None
        elif isinstance(item, (tuple, list)) and len(item) in (1, 2):
            entry_id = item[0]
            points = item[1] if len(item) == 2 else None
        else:
            raise MalformedChoices()
        if not isinstance(entry_id, int) or isinstance(entry_id, bool):
            raise MalformedChoices()
        if not 1 <= entry_id <= BIGINT_MAX:
            # No entry has such an id, and the database driver would overflow on it.
            raise UnknownEntry()
        if points is not None and (not isinstance(points, int) or isinstance(points, bool)):
            raise MalformedChoices()
        parsed.append((entry_id, points))
    return parsed


def _count_limits(campaign: Campaign, n: int) -> None:
    if n < campaign.min_choices:
        raise TooFewChoices(
            ngettext("Choose at least %(count)d project.", "Choose at least %(count)d projects.", campaign.min_choices)
            % {"count": campaign.min_choices}
        )
    if n > campaign.max_choices:
        raise TooManyChoices(
            ngettext("Choose at most %(count)d project.", "Choose at most %(count)d projects.", campaign.max_choices)
            % {"count": campaign.max_choices}
        )


# Points are stored in a smallint; anything larger is nonsense, not a bigger vote.
MAX_POINTS = 32767


def ballot_validate(*, campaign: Campaign, choices: Iterable[ChoiceInput]) -> list[tuple[Entry, int]]:
    """The ballot's (entry, points) pairs, or the `InvalidBallot` that explains what is wrong."""
    parsed = _parse_choices(choices)
    entry_ids = [entry_id for entry_id, _points in parsed]
    if len(set(entry_ids)) != len(entry_ids):
        raise DuplicateEntry()
    method = campaign.method
    for _entry_id, points in parsed:
        if points is not None and not 1 <= points <= MAX_POINTS:
            raise InvalidPoints(_("Points and ranks are whole numbers of at least 1."))
    _count_limits(campaign, len(parsed))

    if method in (rules.CHOOSE_ONE, rules.APPROVAL, rules.KNAPSACK):
        if any(points not in (None, 1) for _e, points in parsed):
            raise InvalidPoints(_("This method takes no points: a project is chosen or not."))
        pairs = [(entry_id, 1) for entry_id, _p in parsed]
    elif method == rules.CUMULATIVE:
        if any(points is None for _e, points in parsed):
            raise InvalidPoints(_("Give each chosen project a number of points."))
        pairs = [(entry_id, points) for entry_id, points in parsed]  # type: ignore[misc]
        total = sum(points for _e, points in pairs)
        if total > (campaign.points or 0):
            raise PointsOverLimit(
                _("You gave %(total)d points; at most %(limit)d may be distributed.")
                % {"total": total, "limit": campaign.points or 0}
            )
    elif method == rules.ORDINAL:
        ranks = [points for _e, points in parsed]
        if any(rank is None for rank in ranks) or sorted(ranks) != list(range(1, len(ranks) + 1)):  # type: ignore[type-var]
            raise InvalidRanking(_("Rank the chosen projects 1, 2, 3… with no gaps and no shared places."))
        pairs = [(entry_id, rank) for entry_id, rank in parsed]  # type: ignore[misc]
    else:  # a method added to the model but not here must fail loudly, not count silently
        raise InvalidBallot(_("This campaign's voting method is not supported."), code="unsupported_method")

    entries = {entry.pk: entry for entry in Entry.objects.filter(campaign=campaign, pk__in=entry_ids)}
    if len(entries) != len(entry_ids):
        raise UnknownEntry()
    if method == rules.KNAPSACK:
        spent = sum((entries[entry_id].cost for entry_id, _p in pairs), Decimal(0))
        if campaign.budget is not None and spent > campaign.budget:
            raise OverBudget(
                _("Your basket costs %(spent)s, over the budget of %(budget)s.")
                % {"spent": rubles(spent), "budget": rubles(campaign.budget)}
            )
    return [(entries[entry_id], points) for entry_id, points in pairs]


# The one-ballot-per-voter constraint as PostgreSQL and SQLite name it.
ONE_BALLOT_PER_VOTER = frozenset({"ballot_one_per_voter", "votes_ballot.campaign_id, votes_ballot.voter_id"})


def _refusals_counted(cast: Callable[..., CastBallot]) -> Callable[..., CastBallot]:
    """Count each refused ballot once by its code (/metrics), however deep it was refused."""

    @functools.wraps(cast)
    def counted(**kwargs) -> CastBallot:
        try:
            return cast(**kwargs)
        except BallotError as error:
            if not getattr(error, "counted", False):
                error.counted = True  # type: ignore[attr-defined]
                metrics.ballot_refusal_record(code=error.code)
            raise

    return counted


@_refusals_counted
def ballot_cast(
    *,
    campaign: Campaign,
    voter: User,
    choices: Iterable[ChoiceInput],
    channel: str,
    volunteer: User | None = None,
) -> CastBallot:
    """Record `voter`'s ballot in `campaign` and return its receipt (shown once).

    `choices` is a list of (entry_id, points): points is 1 (or None) for choose-1,
    approval and knapsack, the points given for cumulative, the rank for ordinal.
    Raises a `BallotError` and writes nothing when the ballot cannot be recorded.
    """
    if channel not in Channel.values or channel == Channel.IMPORT:
        raise InvalidBallot(_("Unknown channel."), code="invalid_channel")
    if channel in (Channel.VOLUNTEER, Channel.PAPER):
        allowed = volunteer is not None and (
            can_assist(volunteer) if channel == Channel.VOLUNTEER else can_enter_paper(volunteer, campaign)
        )
        if not allowed:
            raise NotAllowedToAssist()
    elif volunteer is not None:
        raise InvalidBallot(_("Only assisted ballots name a volunteer."), code="invalid_channel")

    refusal = ballot_refusal(voter, campaign)
    if refusal is not None:
        if refusal.code in PHASE_REFUSALS:
            raise CampaignNotOpen(refusal.message, code=refusal.code)
        raise NotEligible.from_refusal(refusal)
    chosen = ballot_validate(campaign=campaign, choices=choices)

    receipt = receipt_code_new()
    ballot = Ballot(
        campaign=campaign, voter=voter, channel=channel, volunteer=volunteer, receipt_hash=receipt_hash(receipt)
    )
    # No "already voted?" query first: the unique constraint answers it (AlreadyVoted below).
    try:
        _ballot_insert(ballot, chosen)
    except IntegrityError as error:
        constraint = violated_constraint(error)
        if constraint in ONE_BALLOT_PER_VOTER:
            raise AlreadyVoted() from error
        if constraint == "ballot_within_voting_window":
            raise CampaignNotOpen(_("Voting in this campaign is closed."), code="campaign_closed") from error
        raise
    metrics.ballot_cast_record(channel=channel, campaign_id=campaign.pk)
    return CastBallot(receipt=receipt, ballot=ballot)


# The voter's row is read again in the same statement, locked FOR KEY SHARE until the
# ballot commits, and must still hold the residence and birth date eligibility was
# checked against: a profile change that committed since writes no ballot, and one in
# flight (FOR UPDATE in user_profile_update) is waited for and then seen. Without it, a
# move between two open votes racing a ballot gave one person a ballot in each.
_BALLOT_INSERT_SQL = """
    WITH voter AS (
        SELECT id FROM accounts_user
        WHERE id = %s AND municipality_id IS NOT DISTINCT FROM %s AND birth_date IS NOT DISTINCT FROM %s
        FOR KEY SHARE
    ), ballot AS (
        INSERT INTO votes_ballot (campaign_id, voter_id, channel, volunteer_id, cast_at, receipt_hash)
        SELECT %s, voter.id, %s, %s, %s, %s FROM voter
        RETURNING id, cast_at
    ), choices AS (
        INSERT INTO votes_ballotchoice (ballot_id, campaign_id, entry_id, points)
        SELECT ballot.id, %s, choice.entry_id, choice.points
        FROM ballot, unnest(%s::bigint[], %s::smallint[]) AS choice (entry_id, points)
    )
    SELECT id, cast_at FROM ballot
"""


def _ballot_insert(ballot: Ballot, chosen: list[tuple[Entry, int]]) -> None:
    """Write the ballot and its choices, all or nothing, and set its id and cast_at.

    On PostgreSQL one statement does it (atomic by itself: no BEGIN/COMMIT round trips)
    and returns the cast_at the trigger stamped with the database clock; the constraints
    and the trigger apply exactly as to ORM inserts. Elsewhere the ORM, in a transaction.
    """
    voter = ballot.voter
    assert voter is not None  # noqa: S101  (a cast ballot has its voter; imports do not come here)
    if connection.vendor != "postgresql":
        with transaction.atomic():
            unchanged = Q(pk=voter.pk)
            for field, value in (("municipality_id", voter.municipality_id), ("birth_date", voter.birth_date)):
                unchanged &= Q(**{f"{field}__isnull": True}) if value is None else Q(**{field: value})
            if not User.objects.filter(unchanged).exists():
                raise ProfileChanged()
            ballot.save(force_insert=True)
            BallotChoice.objects.bulk_create(
                BallotChoice(ballot=ballot, campaign_id=ballot.campaign_id, entry=entry, points=points)
                for entry, points in chosen
            )
        return
    params = [
        voter.pk,
        voter.municipality_id,
        voter.birth_date,
        ballot.campaign_id,
        ballot.channel,
        ballot.volunteer_id,
        ballot.cast_at,  # replaced by the trigger
        ballot.receipt_hash,
        ballot.campaign_id,
        [entry.pk for entry, _points in chosen],
        [points for _entry, points in chosen],
    ]
    # Inside a caller's transaction, a savepoint keeps a refused ballot from spoiling it.
    with transaction.atomic() if connection.in_atomic_block else nullcontext(), connection.cursor() as cursor:
        cursor.execute(_BALLOT_INSERT_SQL, params)
        row = cursor.fetchone()
    if row is None:
        raise ProfileChanged()
    ballot.pk, ballot.cast_at = row
    ballot._state.adding = False
    ballot._state.db = connection.alias


@_refusals_counted
def volunteer_ballot_cast(
    *,
    volunteer: User,
    campaign: Campaign,
    phone: str,
    full_name: str,
    birth_date: datetime.date,
    municipality,
    choices: Iterable[ChoiceInput],
    document_type: str,
    document_number: str,
    code: str | None = None,
    channel: str = Channel.VOLUNTEER,
) -> CastBallot:
    """A ballot entered by a volunteer for the resident in front of them, or a paper
    ballot entered by an official (channel 'paper').

    The resident is one person across channels (resident_verify_in_person): the account
    of their document or verified phone, else — once they read the SMS code to the
    volunteer — an account for that phone, never a second one for someone who has an
    account already. The check of their document is recorded. All in one transaction
    with the ballot, so a refused ballot creates and verifies nothing; a resident who
    voted by any channel is told so (AlreadyVoted, 409).
    """
    if channel not in (Channel.VOLUNTEER, Channel.PAPER) or channel != assisted_channel(volunteer):
        raise NotAllowedToAssist()
    if not can_assist_in(volunteer, campaign):
        raise NotAllowedToAssist()
    try:
        with transaction.atomic():
            resident = resident_verify_in_person(
                volunteer=volunteer,
                phone=phone,
                full_name=full_name,
                birth_date=birth_date,
                municipality=municipality,
                document_type=document_type,
                document_number=document_number,
                code=code,
            )
            try:
                cast = ballot_cast(
                    campaign=campaign, voter=resident, choices=choices, channel=channel, volunteer=volunteer
                )
            except AlreadyVoted as error:
                raise AlreadyVoted(RESIDENT_ALREADY_VOTED) from error
            if channel == Channel.PAPER:
                # The official's decision to enter a ballot is logged; whose ballot it was
                # and what it says are not (the event names the campaign only).
                audit_decision(actor=volunteer, name="paper_ballot_enter", obj=campaign, before=None)
            return cast
    except InvalidPhone:
        raise InvalidBallot(_("Enter a Russian mobile number, e.g. +7 912 345-67-89."), code="invalid_phone") from None
    except ResidentMismatch:
        raise ResidentDetailsMismatch() from None
    except PhoneCodeError as error:
        phone_code_wrong_try_record(error=error)  # after the rollback, so the try counts
        raise PhoneNotProved(error.message, code=error.code) from None
    except ResidentHasAccount as existing:
        if _has_voted(existing.account, campaign):
            raise AlreadyVoted(RESIDENT_ALREADY_VOTED) from None
        raise ResidentHasExistingAccount() from None


def _has_voted(user: User, campaign: Campaign) -> bool:
    return Ballot.objects.filter(campaign=campaign, voter=user).exists()


def desk_phone_code_send(*, volunteer: User, phone: str) -> None:
    """Send the resident at the desk a code to read to the volunteer (proof of the phone)."""
    if assisted_channel(volunteer) is None:
        raise NotAllowedToAssist()
    try:
        phone_code_send(phone=phone_normalise(phone), purpose=PhoneCode.Purpose.DESK, requested_by=volunteer)
    except InvalidPhone:
        raise InvalidBallot(_("Enter a Russian mobile number, e.g. +7 912 345-67-89."), code="invalid_phone") from None
    except PhoneCodeError as error:
        failure = PhoneNotProved(error.message, code=error.code)
        failure.http_status = 429 if error.code == "too_many_sends" else 503
        raise failure from None
