"""Writes on campaigns and ballots.

`ballot_cast` is the one way a ballot enters the database, whatever the channel (web,
API, volunteer, paper). It validates the ballot against its campaign and raises a
`BallotError` (with a stable `code`) that writes nothing; the database then has the last
word: the unique constraint refuses a second ballot of the same voter, and on PostgreSQL
the trigger of migration 0002 refuses a ballot after the close and stamps `cast_at`
with the database clock.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.accounts.models import User
from votes import rules
from votes.models import Ballot, BallotChoice, Campaign, Channel, Entry
from votes.permissions import (
    PHASE_REFUSALS,
    Refusal,
    ballot_refusal,
    can_assist,
    can_enter_paper,
)
from votes.receipts import receipt_code_new, receipt_hash

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


# --- Casting ----------------------------------------------------------------------


@dataclass(frozen=True)
class CastBallot:
    """What the voter is told: the receipt code (shown once, never stored) and the ballot."""

    receipt: str
    ballot: Ballot

    @property
    def cast_at(self) -> datetime.datetime:
        return self.ballot.cast_at


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
        if points is not None and (not isinstance(points, int) or isinstance(points, bool)):
            raise MalformedChoices()
        parsed.append((entry_id, points))
    return parsed


def _count_limits(campaign: Campaign, n: int) -> None:
    if n < campaign.min_choices:
        raise TooFewChoices(
            ngettext(
                "Choose at least %(count)d project.", "Choose at least %(count)d projects.", campaign.min_choices
            )
            % {"count": campaign.min_choices}
        )
    if n > campaign.max_choices:
        raise TooManyChoices(
            ngettext(
                "Choose at most %(count)d project.", "Choose at most %(count)d projects.", campaign.max_choices
            )
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
                _("Your basket costs %(spent)s ₽, over the budget of %(budget)s ₽.")
                % {"spent": _rubles(spent), "budget": _rubles(campaign.budget)}
            )
    return [(entries[entry_id], points) for entry_id, points in pairs]


def _rubles(amount: Decimal) -> str:
    return f"{amount:,.0f}".replace(",", "\u00a0")


def _violated_constraint(error: IntegrityError) -> str:
    """The name of the constraint behind an IntegrityError ('' if unknown)."""
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return name
    text = str(error)
    # SQLite names columns, not constraints.
    if "votes_ballot.campaign_id, votes_ballot.voter_id" in text:
        return "ballot_one_per_voter"
    return ""


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
    # A friendly early answer; the unique constraint below is what actually decides.
    if Ballot.objects.filter(campaign=campaign, voter=voter).exists():
        raise AlreadyVoted()
    chosen = ballot_validate(campaign=campaign, choices=choices)

    receipt = receipt_code_new()
    try:
        with transaction.atomic():
            ballot = Ballot.objects.create(
                campaign=campaign,
                voter=voter,
                channel=channel,
                volunteer=volunteer,
                receipt_hash=receipt_hash(receipt),
            )
            BallotChoice.objects.bulk_create(
                BallotChoice(ballot=ballot, campaign=campaign, entry=entry, points=points) for entry, points in chosen
            )
            # The trigger replaced cast_at with the database clock: answer with the stored value.
            ballot.cast_at = Ballot.objects.filter(pk=ballot.pk).values_list("cast_at", flat=True).get()
    except IntegrityError as error:
        constraint = _violated_constraint(error)
        if constraint == "ballot_one_per_voter":
            raise AlreadyVoted() from error
        if constraint == "ballot_within_voting_window":
            raise CampaignNotOpen(_("Voting in this campaign is closed."), code="campaign_closed") from error
        raise
    return CastBallot(receipt=receipt, ballot=ballot)


# --- Campaign lifecycle -----------------------------------------------------------


def _database_clock() -> datetime.datetime:
    """The time on the database's clock, the one the ballot trigger stamps cast_at with.

    Closing with the same clock as casting means "no ballot after the close" holds even
    when a web host's clock drifts. clock_timestamp(), not now(): now() is the start of
    the transaction, which may be before the lock was granted.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def campaign_open(*, campaign: Campaign) -> Campaign:
    """Stamp the campaign as opened (idempotent); a closed campaign is never reopened.

    Whether ballots are accepted follows the voting window; `opened_at` records when the
    portal (the clock task or an official) announced the opening.
    """
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.closed_at is not None:
            raise CampaignNotOpen(_("A closed campaign cannot be opened again."), code="campaign_closed")
        if locked.opened_at is None:
            locked.opened_at = timezone.now()
            locked.save(update_fields=["opened_at"])
    campaign.opened_at = locked.opened_at
    return locked


def campaign_close(*, campaign: Campaign) -> Campaign:
    """Close the campaign to ballots (idempotent: closing a closed campaign changes nothing).

    Every ballot insert holds FOR KEY SHARE on the campaign row (trigger of migration
    0002) until its transaction ends. FOR UPDATE here waits for those ballots in
    flight, and closed_at is read from the clock only after the lock is granted, so
    every ballot committed before has cast_at < closed_at and every later insert sees
    closed_at and is refused. Ballots do not block each other: only the close waits.
    """
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.closed_at is None:
            locked.closed_at = _database_clock()
            locked.save(update_fields=["closed_at"])
    campaign.closed_at = locked.closed_at
    return locked
