"""Casting: `ballot_cast` is the one way a ballot enters the database, whatever the channel.

It validates the ballot against its campaign and raises a `BallotError` (with a stable
`code`) that writes nothing; then it writes, all or nothing, the voter's participation in
the register and the ballot in the box, with nothing that joins them but the sealed link
(votes.sealing). The database has the last word: the register's unique constraints refuse
a second ballot of one person in a list or in its vote group, and on PostgreSQL the
register's trigger (migration 0010) refuses a ballot after the close and stamps the time
with the database clock.
"""

from __future__ import annotations

import datetime
import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
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
from portal.prepared import Prepared
from votes import rules, screening, sealing
from votes.models import Ballot, BallotChoice, Campaign, Channel, Entry, Participation, ballot_id_new
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
    TooFewChoices,
    TooManyChoices,
    UnknownEntry,
)

# --- Casting ----------------------------------------------------------------------


@dataclass(frozen=True)
class CastBallot:
    """What the voter is told: the receipt code (shown once, never stored), the ballot and
    their participation (both just written; the caller must not store them together)."""

    receipt: str
    ballot: Ballot
    participation: Participation

    @property
    def cast_at(self) -> datetime.datetime:
        return self.participation.voted_at


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


_ENTRIES_CHOSEN: Prepared[Entry] = Prepared(
    Entry, lambda campaign_id, entry_ids: Entry.objects.filter(campaign_id=campaign_id, pk__in=entry_ids)
)


def ballot_validate(*, campaign: Campaign, choices: Iterable[ChoiceInput]) -> list[tuple[Entry, int]]:
    """The ballot's (entry, points) pairs, or the `InvalidBallot` that explains what is wrong."""
    pairs = _ballot_rules_check(campaign, choices)
    entry_ids = [entry_id for entry_id, _points in pairs]
    if all(type(entry_id) is int for entry_id in entry_ids):  # compiled once per process and count
        found = _ENTRIES_CHOSEN.all(campaign.pk, entry_ids)
    else:
        found = list(Entry.objects.filter(campaign=campaign, pk__in=entry_ids))
    entries = {entry.pk: entry for entry in found}
    if len(entries) != len(entry_ids):
        raise UnknownEntry()
    if campaign.method == rules.KNAPSACK:
        spent = sum((entries[entry_id].cost for entry_id, _p in pairs), Decimal(0))
        if campaign.budget is not None and spent > campaign.budget:
            raise OverBudget(
                _("Your basket costs %(spent)s, over the budget of %(budget)s.")
                % {"spent": rubles(spent), "budget": rubles(campaign.budget)}
            )
    return [(entries[entry_id], points) for entry_id, points in pairs]


def _ballot_rules_check(campaign: Campaign, choices: Iterable[ChoiceInput]) -> list[tuple[int, int]]:
    """The (entry id, points) pairs of a ballot that keeps the campaign's rules, with its
    entries not looked up yet; or the `InvalidBallot` that explains what is wrong."""
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
    return pairs


# The register's one-ballot-per-person constraints as PostgreSQL and SQLite name them.
ONE_BALLOT_PER_VOTER = frozenset(
    {"participation_one_per_voter", "votes_participation.campaign_id, votes_participation.voter_id"}
)
ONE_BALLOT_PER_VOTE = frozenset(
    {"participation_one_per_voter_in_vote", "votes_participation.vote_group_id, votes_participation.voter_id"}
)
# A choice's entry must be one of the ballot's campaign (the composite key of migration 0002).
CHOICE_OF_THE_CAMPAIGN = "choice_entry_same_campaign"
# A random ballot id that is taken already (one in billions): drawn again.
BALLOT_ID_TAKEN = frozenset({"votes_ballot_pkey", "votes_ballot.id"})


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
    client: screening.Client | None = None,
) -> CastBallot:
    """Record `voter`'s ballot in `campaign` and return its receipt (shown once).

    `client` is the request's (address, user agent) (lib.client_address): the register
    keeps only their keyed hashes and the time bucket, for the screening after the close.

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
    if connection.vendor == "postgresql" and campaign.method != rules.KNAPSACK:
        # The entries are looked up by the INSERT itself: a choice's (entry, campaign)
        # foreign key refuses an entry of another campaign or none (UnknownEntry below),
        # one query fewer. A basket needs the costs first.
        chosen = _ballot_rules_check(campaign, choices)
    else:
        chosen = [(entry.pk, points) for entry, points in ballot_validate(campaign=campaign, choices=choices)]

    receipt = receipt_code_new()
    participation = Participation(
        campaign=campaign, vote_group_id=campaign.vote_group_id, voter=voter, channel=channel, volunteer=volunteer
    )
    participation.client_hash, participation.agent_hash = screening.client_hashes(client)
    participation.time_bucket = screening.time_bucket(participation.voted_at)
    ballot = Ballot(campaign=campaign, receipt_hash=receipt_hash(receipt))
    if campaign.commission_public_key:
        participation.sealed_link = sealing.link_seal(campaign.commission_public_key, ballot.receipt_hash)
    # No "already voted?" query first: the register's constraints answer it (below).
    for attempt in range(3):
        try:
            _ballot_insert(participation, ballot, chosen)
            break
        except IntegrityError as error:
            constraint = violated_constraint(error)
            if constraint in ONE_BALLOT_PER_VOTER:
                raise AlreadyVoted() from error
            if constraint in ONE_BALLOT_PER_VOTE:
                raise AlreadyVotedInVote() from error
            if constraint == "ballot_within_voting_window":
                raise CampaignNotOpen(_("Voting in this campaign is closed."), code="campaign_closed") from error
            if constraint == CHOICE_OF_THE_CAMPAIGN:
                raise UnknownEntry() from error
            if constraint in BALLOT_ID_TAKEN and attempt < 2:
                ballot.id = ballot_id_new()
                continue
            raise
    metrics.ballot_cast_record(channel=channel, campaign_id=campaign.pk)
    return CastBallot(receipt=receipt, ballot=ballot, participation=participation)


# The voter's row is read again in the same statement, locked FOR KEY SHARE until the
# ballot commits, and must still hold the residence and birth date eligibility was
# checked against: a profile change that committed since writes no ballot, and one in
# flight (FOR UPDATE in user_profile_update) is waited for and then seen. Without it, a
# move between two open votes racing a ballot gave one person a ballot in each.
# The participation and the ballot are two rows of two tables with no column in common;
# the ballot is written only if the participation was (the register's trigger and
# constraints refuse it otherwise), and keeps only the day of the participation's time.
_BALLOT_INSERT_SQL = """
    WITH voter AS (
        SELECT id FROM accounts_user
        WHERE id = %s AND municipality_id IS NOT DISTINCT FROM %s AND birth_date IS NOT DISTINCT FROM %s
        FOR KEY SHARE
    ), participation AS (
        INSERT INTO votes_participation (campaign_id, vote_group_id, voter_id, channel, volunteer_id, voted_at,
                                         sealed_link, client_hash, agent_hash, time_bucket)
        SELECT %s, %s, voter.id, %s, %s, %s, %s, %s, %s, %s FROM voter
        RETURNING id, voted_at
    ), ballot AS (
        INSERT INTO votes_ballot (id, campaign_id, cast_on, receipt_hash, annulled_reason)
        SELECT %s, %s, (participation.voted_at AT TIME ZONE %s)::date, %s, '' FROM participation
        RETURNING cast_on
    ), choices AS (
        INSERT INTO votes_ballotchoice (ballot_id, campaign_id, entry_id, points)
        SELECT %s, %s, choice.entry_id, choice.points
        FROM ballot, unnest(%s::bigint[], %s::smallint[]) AS choice (entry_id, points)
    )
    SELECT participation.id, participation.voted_at, ballot.cast_on FROM participation, ballot
"""


def _ballot_insert(participation: Participation, ballot: Ballot, chosen: list[tuple[int, int]]) -> None:
    """Write the participation, the ballot and its choices, all or nothing.

    On PostgreSQL one statement does it (atomic by itself: no BEGIN/COMMIT round trips)
    and returns the time the trigger stamped with the database clock; the constraints
    and the trigger apply exactly as to ORM inserts. Elsewhere the ORM, in a transaction.
    """
    voter = participation.voter
    assert voter is not None  # noqa: S101  (a cast ballot has its voter; imports do not come here)
    if connection.vendor != "postgresql":
        with transaction.atomic():
            unchanged = Q(pk=voter.pk)
            for field, value in (("municipality_id", voter.municipality_id), ("birth_date", voter.birth_date)):
                unchanged &= Q(**{f"{field}__isnull": True}) if value is None else Q(**{field: value})
            if not User.objects.filter(unchanged).exists():
                raise ProfileChanged()
            participation.save(force_insert=True)
            ballot.cast_on = timezone.localdate(participation.voted_at)
            ballot.save(force_insert=True)
            BallotChoice.objects.bulk_create(
                BallotChoice(ballot=ballot, campaign_id=ballot.campaign_id, entry_id=entry_id, points=points)
                for entry_id, points in chosen
            )
        return
    params: list[Any] = [
        voter.pk,
        voter.municipality_id,
        voter.birth_date,
        participation.campaign_id,
        participation.vote_group_id,  # replaced by the trigger with the campaign's
        participation.channel,
        participation.volunteer_id,
        participation.voted_at,  # replaced by the trigger
        participation.sealed_link,
        participation.client_hash,
        participation.agent_hash,
        participation.time_bucket,
        ballot.id,
        ballot.campaign_id,
        settings.TIME_ZONE,
        ballot.receipt_hash,
        ballot.id,
        ballot.campaign_id,
        [entry_id for entry_id, _points in chosen],
        [points for _entry_id, points in chosen],
    ]
    # Inside a caller's transaction, a savepoint keeps a refused ballot from spoiling it.
    with transaction.atomic() if connection.in_atomic_block else nullcontext(), connection.cursor() as cursor:
        cursor.execute(_BALLOT_INSERT_SQL, params)
        row = cursor.fetchone()
    if row is None:
        raise ProfileChanged()
    participation.pk, participation.voted_at, ballot.cast_on = row
    for written in (participation, ballot):
        written._state.adding = False
        written._state.db = connection.alias


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
    """In the campaign's vote: this list or another of its vote group, in any channel."""
    return Participation.objects.of_voter_in_vote(user.pk, campaign).exists()


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


@dataclass(frozen=True)
class ImportedBallot:
    """A ballot counted elsewhere (a pabulib file, the demo's closed vote): who (the file's
    voter id), when, its receipt hash and its (entry, points) choices."""

    external_voter_id: str
    voted_at: datetime.datetime
    receipt_hash: str
    choices: Sequence[tuple[Entry, int]]


def ballots_import(*, campaign: Campaign, ballots: Iterable[ImportedBallot], chunk_size: int = 5000) -> int:
    """Write imported ballots, each as a participation in the register (channel 'import')
    and a ballot in the box, in chunks; the two are written apart, with no link. Returns
    how many were written. The caller holds the transaction."""
    written = 0
    rows = iter(ballots)
    while chunk := list(itertools.islice(rows, chunk_size)):
        Participation.objects.bulk_create(
            Participation(
                campaign=campaign,
                vote_group_id=campaign.vote_group_id,
                external_voter_id=row.external_voter_id,
                channel=Channel.IMPORT,
                voted_at=row.voted_at,
            )
            for row in chunk
        )
        # The box in receipt order, not the file's: row order must not pair it with the register.
        chunk.sort(key=lambda row: row.receipt_hash)
        boxed = Ballot.objects.bulk_create(
            Ballot(campaign=campaign, cast_on=timezone.localdate(row.voted_at), receipt_hash=row.receipt_hash)
            for row in chunk
        )
        BallotChoice.objects.bulk_create(
            (
                BallotChoice(ballot=ballot, campaign=campaign, entry=entry, points=points)
                for ballot, row in zip(boxed, chunk, strict=True)
                for entry, points in row.choices
            ),
            batch_size=chunk_size,
        )
        written += len(chunk)
    return written
