"""Writes on campaigns and ballots.

`ballot_cast` is the one way a ballot enters the database, whatever the channel (web,
API, volunteer, paper). It validates the ballot against its campaign and raises a
`BallotError` (with a stable `code`) that writes nothing; the database then has the last
word: the unique constraint refuses a second ballot of the same voter, and on PostgreSQL
the trigger of migration 0002 refuses a ballot after the close and stamps `cast_at`
with the database clock.

Writes on campaigns, ballots, tallies and ideas (keyword-only `<entity>_<action>`).
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, IntegerField, Max, Sum, Value, When
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.accounts.models import User
from portal.queue import task_send_on_commit
from projects.models import Proposal, ProposalPhoto, Space
from projects.services import photo_store
from votes import ledger, rules
from votes.models import Ballot, BallotChoice, Campaign, Channel, Entry, Idea, Tally, TallyRow
from votes.permissions import (
    PHASE_REFUSALS,
    Refusal,
    assisted_channel,
    ballot_refusal,
    can_assist,
    can_assist_in,
    can_enter_paper,
)
from votes.receipts import receipt_code_new, receipt_hash
from votes.results import results_page_invalidate

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
    chosen = ballot_validate(campaign=campaign, choices=choices)

    receipt = receipt_code_new()
    ballot = Ballot(
        campaign=campaign, voter=voter, channel=channel, volunteer=volunteer, receipt_hash=receipt_hash(receipt)
    )
    # No "already voted?" query first: the unique constraint answers it (AlreadyVoted below).
    try:
        _ballot_insert(ballot, chosen)
    except IntegrityError as error:
        constraint = _violated_constraint(error)
        if constraint == "ballot_one_per_voter":
            raise AlreadyVoted() from error
        if constraint == "ballot_within_voting_window":
            raise CampaignNotOpen(_("Voting in this campaign is closed."), code="campaign_closed") from error
        raise
    return CastBallot(receipt=receipt, ballot=ballot)


_BALLOT_INSERT_SQL = """
    WITH ballot AS (
        INSERT INTO votes_ballot (campaign_id, voter_id, channel, volunteer_id, cast_at, receipt_hash)
        VALUES (%s, %s, %s, %s, %s, %s)
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
    if connection.vendor != "postgresql":
        with transaction.atomic():
            ballot.save(force_insert=True)
            BallotChoice.objects.bulk_create(
                BallotChoice(ballot=ballot, campaign_id=ballot.campaign_id, entry=entry, points=points)
                for entry, points in chosen
            )
        return
    params = [
        ballot.campaign_id,
        ballot.voter_id,
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
        ballot.pk, ballot.cast_at = cursor.fetchone()
    ballot._state.adding = False
    ballot._state.db = connection.alias


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
            # Residents who can vote hear of it once, after the opening commits.
            notifications_campaign_opened_enqueue(campaign=locked)
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
            results_page_invalidate_on_commit(campaign_id=locked.pk)  # live standings leave the page
            # Whoever closes (the clock or an official), the final count follows the commit.
            tally_enqueue(campaign=locked, final=True)
    campaign.closed_at = locked.closed_at
    return locked


class ResidentDetailsMismatch(BallotError):
    code = "resident_mismatch"
    default_message = _(
        "This phone number belongs to a resident with another name or birth date. Check the number and the document."
    )


def volunteer_ballot_cast(
    *,
    volunteer: User,
    campaign: Campaign,
    phone: str,
    full_name: str,
    birth_date: datetime.date,
    municipality,
    choices: Iterable[ChoiceInput],
    channel: str = Channel.VOLUNTEER,
) -> CastBallot:
    """A ballot entered by a volunteer for the resident in front of them, or a paper
    ballot entered by an official (channel 'paper').

    The resident is found by phone or created, and verified by the volunteer (who checked
    the passport); all in one transaction with the ballot, so a refused ballot creates
    no account.
    """
    from portal.accounts.phones import InvalidPhone
    from portal.accounts.services import ResidentMismatch, resident_verify_in_person

    if channel not in (Channel.VOLUNTEER, Channel.PAPER) or channel != assisted_channel(volunteer):
        raise NotAllowedToAssist()
    if not can_assist_in(volunteer, campaign):
        raise NotAllowedToAssist()
    try:
        with transaction.atomic():
            resident = resident_verify_in_person(
                volunteer=volunteer, phone=phone, full_name=full_name, birth_date=birth_date, municipality=municipality
            )
            return ballot_cast(campaign=campaign, voter=resident, choices=choices, channel=channel, volunteer=volunteer)
    except InvalidPhone:
        raise InvalidBallot(_("Enter a Russian mobile number, e.g. +7 912 345-67-89."), code="invalid_phone") from None
    except ResidentMismatch:
        raise ResidentDetailsMismatch() from None


# --- Counting ---


# Tallies are recomputed from the stored ballots, never incremented: running one twice,
# or again after a worker died half-way, stores the same rows.


class TallyError(Exception):
    """A tally cannot be computed (bad campaign configuration); the message says why."""


class ResultsError(Exception):
    """Results cannot be published yet; the message says why."""


def _money_scale(campaign: Campaign, entries: list[Entry]) -> int:
    amounts = [e.cost for e in entries] + ([campaign.budget] if campaign.budget is not None else [])
    return ledger.money_scale(amounts)


def _project_id_of(entries: list[Entry]) -> dict[int, str]:
    # The entry's external id is the rules' project id: ties go to the smaller id, as in
    # pabutools reading the same election from a .pb file.
    return {e.pk: e.external_id for e in entries}


def _scores_from_sql(campaign: Campaign, entries: list[Entry]) -> dict[str, rules.ProjectScore]:
    """Votes and score per entry in one GROUP BY over votes_ballotchoice."""
    points = "points"
    if campaign.method == rules.ORDINAL:
        # points holds the rank; Borda gives L - rank + 1 with L = the ballot length limit.
        length = campaign.max_choices
        if campaign.ordinal_scoring == rules.ORDINAL_FIRST_CHOICE:
            score = Sum(Case(When(points=1, then=Value(1)), default=Value(0), output_field=IntegerField()))
        elif campaign.ordinal_scoring == rules.ORDINAL_BORDA:
            score = Sum(
                Case(
                    When(points__lte=length, then=Value(length + 1) - F(points)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            )
        else:
            raise TallyError(f"unknown ordinal scoring {campaign.ordinal_scoring!r}")
    elif campaign.method == rules.CUMULATIVE:
        score = Sum(points)
    else:
        score = Count("*")
    # count(*), not count(id): the (campaign, entry) index answers it without the heap.
    rows = (
        BallotChoice.objects.filter(campaign_id=campaign.pk)
        .order_by()
        .values("entry_id")
        .annotate(votes=Count("*"), score=score)
    )
    ids = _project_id_of(entries)
    scores = {e.external_id: rules.ProjectScore(e.external_id, 0, 0) for e in entries}
    for row in rows:
        pid = ids[row["entry_id"]]
        scores[pid] = rules.ProjectScore(pid, row["votes"], int(row["score"] or 0))
    return scores


def _grouped_ballots(campaign: Campaign, entries: list[Entry], *, chunk_size: int = 5000) -> dict[rules.Ballot, int]:
    """Identical ballots grouped with their counts, streamed so memory stays flat.

    PostgreSQL groups them itself (one row per distinct ballot); elsewhere choices are
    read in ballot order through a server-side cursor and grouped here. Ballots with no
    choice count too: equal shares splits the budget among every voter.
    """
    ids = _project_id_of(entries)
    grouped: dict[rules.Ballot, int] = {}
    with_choices = 0
    if connection.vendor == "postgresql":
        sql = """
            SELECT choices, count(*) FROM (
                SELECT array_agg(entry_id || ':' || points ORDER BY entry_id) AS choices
                FROM votes_ballotchoice WHERE campaign_id = %s GROUP BY ballot_id
            ) AS per_ballot GROUP BY choices
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [campaign.pk])
            for choices, count in cursor.fetchall():  # one row per distinct ballot
                ballot = []
                for item in choices:
                    entry_id, points = item.split(":")
                    ballot.append((ids[int(entry_id)], int(points)))
                key = tuple(sorted(ballot))
                grouped[key] = grouped.get(key, 0) + count
                with_choices += count
    else:
        current_ballot = None
        ballot: list[tuple[str, int]] = []

        def flush() -> None:
            key = tuple(sorted(ballot))
            grouped[key] = grouped.get(key, 0) + 1

        choices = (
            BallotChoice.objects.filter(campaign_id=campaign.pk)
            .order_by("ballot_id")
            .values_list("ballot_id", "entry_id", "points")
            .iterator(chunk_size=chunk_size)
        )
        for ballot_id, entry_id, points in choices:
            if ballot_id != current_ballot:
                if current_ballot is not None:
                    flush()
                    with_choices += 1
                current_ballot, ballot = ballot_id, []
            ballot.append((ids[entry_id], points))
        if current_ballot is not None:
            flush()
            with_choices += 1
    empty = Ballot.objects.filter(campaign_id=campaign.pk).count() - with_choices
    if empty:
        grouped[()] = grouped.get((), 0) + empty
    return grouped


def _needs_ballots(campaign: Campaign) -> bool:
    return campaign.rule in (rules.EQUAL_SHARES, rules.EQUAL_SHARES_ADD1)


def _json_number(value, scale: int):
    """Numbers of an Explanation for JSON: money back in currency units, rationals as floats."""
    if value is None:
        return None
    if isinstance(value, Fraction):
        value = float(value)
    if scale != 1:
        return float(Decimal(str(value)) / scale)
    return value


_MONEY_FIELDS = ("cost", "budget_left", "max_payment", "supporters_budget")


def _explanation_json(explanation: rules.Explanation, scale: int) -> dict:
    data = asdict(explanation)
    data.pop("project_id", None)
    data.pop("selected", None)
    out = {}
    for key, value in data.items():
        if value is None:
            continue
        if key in _MONEY_FIELDS:
            out[key] = _json_number(value, scale)
        elif isinstance(value, Fraction):
            out[key] = float(value)
        else:
            out[key] = value
    return out


def tally_outcome(campaign: Campaign, entries: list[Entry]) -> tuple[dict[str, rules.ProjectScore], rules.Outcome, int]:
    """Scores and the rule's outcome over the stored ballots, plus the money scale."""
    scale = _money_scale(campaign, entries)
    projects = [rules.Project(e.external_id, int(e.cost * scale), str(e)) for e in entries]
    scores = _scores_from_sql(campaign, entries)
    ballots = _grouped_ballots(campaign, entries) if _needs_ballots(campaign) else None
    budget = int((campaign.budget or 0) * scale)
    try:
        outcome = rules.select(
            campaign.rule,
            projects,
            scores,
            budget=budget,
            ballots=ballots,
            method=campaign.method,
            k=campaign.winners,
            threshold=campaign.score_threshold,
            ordinal_scoring=campaign.ordinal_scoring,
            ordinal_max_length=campaign.max_choices if campaign.method == rules.ORDINAL else None,
        )
    except rules.RulesError as exc:
        raise TallyError(str(exc)) from exc
    return scores, outcome, scale


def _standings(entries: list[Entry], scores: dict[str, rules.ProjectScore]) -> list[Entry]:
    # Rank by score, then by external id (the rules' tie-break), selected or not.
    return sorted(entries, key=lambda e: (-scores[e.external_id].score, e.external_id))


def _ledger_ballots(campaign_id: int, *, chunk_size: int = 5000) -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """Ballots in ledger order (receipt hash), with their choices; streamed."""
    rows = (
        Ballot.objects.filter(campaign_id=campaign_id)
        .order_by("receipt_hash", "choices__entry__external_id")
        .values_list("receipt_hash", "choices__entry__external_id", "choices__points")
        .iterator(chunk_size=chunk_size)
    )
    current, choices = None, []
    for receipt, external_id, points in rows:
        if receipt != current:
            if current is not None:
                yield current, choices
            current, choices = receipt, []
        if external_id is not None:
            choices.append((external_id, points))
    if current is not None:
        yield current, choices


def ledger_rows(campaign_id: int) -> Iterator[tuple[int, str, list, str]]:
    """``(position, receipt_hash, choices, chain hash)`` of the campaign's public ledger."""
    return ledger.chain(campaign_id, _ledger_ballots(campaign_id))


def _advisory_key(campaign_id: int, kind: str) -> int:
    # One lock per campaign and kind; a bigint built from the two.
    return campaign_id * 2 + (1 if kind == Tally.Kind.FINAL else 0)


class _TallyLock:
    """A PostgreSQL session advisory lock, so two workers never interleave one tally.

    The second worker waits, then recomputes the same thing. A dead worker's connection
    closes and PostgreSQL releases its lock. Other databases serialise writes anyway.
    """

    def __init__(self, campaign_id: int, kind: str) -> None:
        self.key = _advisory_key(campaign_id, kind)
        self.active = connection.vendor == "postgresql"

    def __enter__(self) -> None:
        if self.active:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [self.key])

    def __exit__(self, *exc) -> None:
        if self.active:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])


def _mark_failed(tally_id: int, error: str) -> None:
    with transaction.atomic():
        Tally.objects.filter(pk=tally_id).update(status=Tally.Status.FAILED, error=error[:4000])
        campaign_id = Tally.objects.filter(pk=tally_id).values_list("campaign_id", flat=True).first()
        if campaign_id is not None:
            results_page_invalidate_on_commit(campaign_id=campaign_id)


def results_page_invalidate_on_commit(*, campaign_id: int) -> None:
    """Forget the campaign's cached results pages once the current transaction commits."""
    transaction.on_commit(lambda: results_page_invalidate(campaign_id))


def _write_rows(
    tally: Tally, campaign: Campaign, entries: list[Entry], scores, outcome: rules.Outcome, scale: int
) -> list[TallyRow]:
    selected = set(outcome.selected)
    rows = []
    for rank, entry in enumerate(_standings(entries, scores), start=1):
        score = scores[entry.external_id]
        rows.append(
            TallyRow(
                tally=tally,
                entry=entry,
                votes=score.votes,
                score=Decimal(score.score),
                rank=rank,
                selected=entry.external_id in selected,
                explanation=_explanation_json(outcome.explanations[entry.external_id], scale),
            )
        )
    TallyRow.objects.filter(tally=tally).delete()
    return TallyRow.objects.bulk_create(rows)


def tally_compute(*, campaign_id: int, final: bool) -> Tally:
    """Count a campaign from its stored ballots and store the result (live or final).

    Marks the Tally running, computes, then replaces its rows and marks it done in one
    transaction; on error marks it failed with the message and re-raises.
    """
    kind = Tally.Kind.FINAL if final else Tally.Kind.LIVE
    with _TallyLock(campaign_id, kind):
        campaign = Campaign.objects.get(pk=campaign_id)
        if final and campaign.closed_at is None:
            raise TallyError(f"campaign {campaign_id} is not closed: only a closed campaign has a final tally")
        if final and campaign.results_published_at is not None:
            # Published results stand: a recount would take them offline while it runs, and
            # could only differ if the stored ballots had been tampered with.
            raise TallyError(f"campaign {campaign_id} has published results: its final tally is not recounted")
        with transaction.atomic():
            tally, _ = Tally.objects.update_or_create(
                campaign=campaign,
                kind=kind,
                defaults={"status": Tally.Status.RUNNING, "started_at": timezone.now(), "error": ""},
            )
        try:
            entries = list(campaign.entries.select_related("proposal").order_by("pk"))
            scores, outcome, scale = tally_outcome(campaign, entries)
            if campaign.method == rules.CHOOSE_ONE:
                # Exactly one choice per choose-1 ballot (ballot_validate and the import
                # enforce it), so the votes add up to the ballots: no second scan.
                ballots_counted = sum(score.votes for score in scores.values())
            else:
                ballots_counted = Ballot.objects.filter(campaign_id=campaign_id).count()
            with transaction.atomic():
                _write_rows(tally, campaign, entries, scores, outcome, scale)
                tally.status = Tally.Status.DONE
                tally.computed_at = timezone.now()
                tally.ballots_counted = ballots_counted
                tally.budget_used = (Decimal(outcome.budget_used) / scale).quantize(Decimal("0.01"))
                # A new count needs a new seal: ledger_seal hashes the ballots just counted.
                tally.ledger_head = ""
                tally.error = ""
                tally.save()
                results_page_invalidate_on_commit(campaign_id=campaign_id)
                if final:
                    ledger_seal_enqueue(campaign_id=campaign_id)
        except Exception as exc:
            _mark_failed(tally.pk, f"{type(exc).__name__}: {exc}")
            raise
    return tally


def _ledger_head_sql(campaign_id: int) -> tuple[str, int]:
    """The ledger head and the number of ballots, read in one sorted pass on PostgreSQL.

    Same format as ``ledger.chain``, without its per-ballot tuples and sorts: PostgreSQL
    returns the choices in ledger order (receipt hash, COLLATE "C" = byte order, which is
    code point order for the hex hashes), the canonical text is built per ballot here
    (choices sorted by external id only when a ballot has several) and hashed.
    """
    sql = """
        SELECT b.receipt_hash, c.entry_id, c.points
        FROM votes_ballot b
        LEFT JOIN votes_ballotchoice c ON c.ballot_id = b.id AND c.campaign_id = b.campaign_id
        WHERE b.campaign_id = %s
        ORDER BY b.receipt_hash COLLATE "C"
    """
    external_id = dict(Entry.objects.filter(campaign_id=campaign_id).values_list("pk", "external_id"))
    sha256 = hashlib.sha256
    head = ledger.genesis(campaign_id)
    count = 0
    current = ""
    choices: list[tuple[str, int]] = []

    def link() -> None:
        nonlocal head
        if not choices:
            text = ""
        elif len(choices) == 1:
            text = f"{choices[0][0]}:{choices[0][1]}"
        else:
            text = ",".join(f"{e}:{p}" for e, p in sorted(choices))
        head = sha256((head + current + text).encode()).hexdigest()

    with transaction.atomic():
        with connection.cursor() as cursor:
            # One sort of every ballot: in memory rather than on disk, and no JIT
            # compilation (about 0.8 s on this plan) for a query that runs once.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, [campaign_id])
            while rows := cursor.fetchmany(20000):
                for receipt, entry_id, points in rows:
                    if receipt != current:
                        if receipt < current:
                            raise TallyError(f"ballot {count + 1}: receipt hashes must be strictly ascending")
                        if count:
                            link()
                        current, choices = receipt, []
                        count += 1
                    if entry_id is not None:
                        choices.append((external_id[entry_id], points))
    if count:
        link()
    return head, count


def ledger_head_compute(campaign_id: int) -> tuple[str, int]:
    """``(head, ballots)`` of the campaign's ledger as it stands in the database."""
    if connection.vendor == "postgresql":
        return _ledger_head_sql(campaign_id)
    count = 0
    head = ledger.genesis(campaign_id)
    for count, _receipt, _choices, head in ledger.chain(campaign_id, _ledger_ballots(campaign_id)):  # noqa: B007
        pass
    return head, count


def ledger_seal(*, campaign_id: int) -> str:
    """Compute the ledger head of the campaign's final tally and store it; return it.

    Runs after the final tally (its own task: the hash chain over every ballot is not
    counting, and the count should not wait for it). Idempotent: a sealed tally keeps
    its head. Refuses when the ballots no longer match the count (recount first).
    """
    with _TallyLock(campaign_id, Tally.Kind.FINAL):
        tally = Tally.objects.filter(campaign_id=campaign_id, kind=Tally.Kind.FINAL).first()
        if tally is None or tally.status != Tally.Status.DONE:
            raise TallyError(f"campaign {campaign_id} has no finished final tally to seal")
        if tally.ledger_head:
            return tally.ledger_head
        head, ballots = ledger_head_compute(campaign_id)
        if ballots != tally.ballots_counted:
            raise TallyError(
                f"campaign {campaign_id}: {ballots} ballots in the ledger, {tally.ballots_counted} counted; recount"
            )
        with transaction.atomic():
            Tally.objects.filter(pk=tally.pk, computed_at=tally.computed_at).update(ledger_head=head)
            results_page_invalidate_on_commit(campaign_id=campaign_id)  # the page shows the head
    return head


def ledger_seal_enqueue(*, campaign_id: int) -> None:
    """Ask a worker to seal the ledger once the final tally's transaction commits."""
    from votes import tasks

    task_send_on_commit(tasks.ledger_seal, campaign_id)


def tally_enqueue(*, campaign: Campaign, final: bool) -> None:
    """Ask a worker to (re)count the campaign once the current transaction commits."""
    from votes import tasks

    task = tasks.tally_final if final else tasks.tally_live
    campaign_id = campaign.pk
    task_send_on_commit(task, campaign_id)


def results_publish(*, campaign: Campaign) -> Campaign:
    """Publish the final results; only after a final tally is done and its ledger sealed."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.closed_at is None:
            raise ResultsError(_("The campaign is not closed yet."))
        final = Tally.objects.filter(campaign=campaign, kind=Tally.Kind.FINAL).first()
        if final is None or final.status != Tally.Status.DONE:
            raise ResultsError(_("The final tally is not done yet: recount first."))
        if not final.ledger_head:
            raise ResultsError(
                _("The ballot ledger is not sealed yet: wait for the seal after the final tally, or recount.")
            )
        if campaign.results_published_at is None:
            campaign.results_published_at = timezone.now()
            campaign.save(update_fields=["results_published_at"])
            # The winners enter the works: their proposals become "selected" (the status
            # the progress updates of officials start from).
            Proposal.objects.filter(
                pk__in=final.rows.filter(selected=True).values("entry__proposal_id"), status=Proposal.Status.APPROVED
            ).update(status=Proposal.Status.SELECTED, selected_at=campaign.results_published_at)
            results_page_invalidate_on_commit(campaign_id=campaign.pk)
            notifications_results_published_enqueue(campaign=campaign)
    return campaign


def campaigns_clock_tick(*, now: datetime.datetime | None = None) -> tuple[list[int], list[int]]:
    """Open the campaigns whose voting has started and close those whose voting ended.

    Returns the ids (opened, closed). Safe with two beats at once: each campaign is
    locked (SKIP LOCKED) and re-checked, so a second run finds nothing left to do; the
    final tally is enqueued after the close commits.
    """
    now = now or timezone.now()
    opened: list[int] = []
    closed: list[int] = []
    due_open = Campaign.objects.filter(
        opened_at__isnull=True, closed_at__isnull=True, voting_opens_at__lte=now, voting_closes_at__gt=now
    ).values_list("pk", flat=True)
    for pk in list(due_open):
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, opened_at__isnull=True, closed_at__isnull=True)
                .first()
            )
            if campaign is not None:
                campaign_open(campaign=campaign)
                opened.append(pk)
    due_close = Campaign.objects.filter(closed_at__isnull=True, voting_closes_at__lte=now).values_list("pk", flat=True)
    for pk in list(due_close):
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(skip_locked=True).filter(pk=pk, closed_at__isnull=True).first()
            )
            if campaign is not None:
                campaign_close(campaign=campaign)  # enqueues the final tally on commit
                closed.append(pk)
    return opened, closed


def live_tallies_enqueue(*, now: datetime.datetime | None = None) -> list[int]:
    """Enqueue a live tally for every open campaign."""
    ids = list(Campaign.objects.open(now).values_list("pk", flat=True))
    for pk in ids:
        tally_enqueue(campaign=Campaign(pk=pk), final=False)
    return ids


def _pb_date(text: str, *, end: bool) -> datetime.datetime:
    """A pabulib date ("09.09.2019", "2019-09-09" or a bare year "2022") as an aware
    datetime: the start of that day (or year), or, for the end date, the start of the next."""
    from datetime import date, timedelta

    text = (text or "").strip()
    try:
        if len(text) == 4 and text.isdigit():
            day = date(int(text) + (1 if end else 0), 1, 1)
            return timezone.make_aware(datetime.datetime(day.year, day.month, day.day))  # noqa: DTZ001
        if "." in text:
            d, m, y = (int(x) for x in text.split("."))
            day = date(y, m, d)
        else:
            day = date.fromisoformat(text)
    except ValueError as exc:
        raise TallyError(f"unreadable date {text!r} (expected DD.MM.YYYY, YYYY-MM-DD or YYYY)") from exc
    if end:
        day += timedelta(days=1)
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day))  # noqa: DTZ001


def _placeholder_oktmo(country: str, unit: str) -> str:
    # pabulib files name foreign cities, which have no OKTMO code; the model requires 8
    # digits, so this is a deterministic PLACEHOLDER derived from a hash, not a real code.
    import hashlib

    digest = hashlib.sha256(f"pabulib:{country}/{unit}".encode()).hexdigest()
    return str(int(digest, 16) % 10**8).zfill(8)


def campaign_import_pabulib(*, election, population: int | None = None, chunk_size: int = 5000) -> Campaign:
    """Create a closed campaign, with its entries and every vote as an imported ballot,
    from a parsed pabulib election (``votes.pabulib.PbElection``).

    The municipality (and region, from the country) is created if missing; its
    population defaults to the number of voters since .pb files do not record it.
    """
    import hashlib

    from django.utils.text import slugify

    from projects.models import Municipality, Proposal, Region, Space
    from votes import pabulib

    meta = election.meta
    method = election.vote_type
    rule = meta.get("rule", "")
    if method not in rules.METHODS:
        raise TallyError(f"unsupported vote_type {method!r}")
    if rule not in rules.RULES:
        raise TallyError(f"unsupported rule {rule!r}; the portal supports {', '.join(rules.RULES)}")
    data = pabulib.to_rules_input(election)
    if data.budget <= 0:
        raise TallyError("the budget must be positive")
    for project in data.projects:
        if project.cost <= 0:
            raise TallyError(f"project {project.id!r} costs {project.cost}: entries must cost more than 0")
    country = meta.get("country") or "Unknown"
    unit = meta.get("unit") or meta.get("description") or "Unknown"
    opens = _pb_date(meta.get("date_begin") or meta.get("instance", ""), end=False)
    closes = _pb_date(meta.get("date_end") or meta.get("date_begin") or meta.get("instance", ""), end=True)
    if closes <= opens:
        raise TallyError("date_end is before date_begin")
    try:
        year = int(meta.get("instance", ""))
    except ValueError:
        year = timezone.localtime(closes).year
    if not 2000 <= year <= 2100:
        year = timezone.localtime(closes).year
    n_projects = len(data.projects)
    if method == rules.CHOOSE_ONE:
        min_choices = max_choices = 1
    else:
        min_choices = max(data.min_length or 1, 1)
        max_choices = max(data.max_length or n_projects, min_choices)
    points = None
    if method == rules.CUMULATIVE:
        points = int(meta.get("max_sum_points") or 0) or max(sum(p for _, p in b) for b in data.ballots) or 1
    n_voters = len(election.votes)

    with transaction.atomic():
        region_slug = slugify(country) or "region"
        region, _ = Region.objects.get_or_create(
            slug=region_slug[:100],
            defaults={"name": country, "code": "PB-" + hashlib.sha256(country.encode()).hexdigest()[:7].upper()},
        )
        municipality = Municipality.objects.filter(region=region, name=unit).first()
        if municipality is None:
            municipality = Municipality.objects.create(
                region=region,
                name=unit,
                slug=slugify(f"{country} {unit}")[:100] or _placeholder_oktmo(country, unit),
                population=population or max(n_voters, 1),
                oktmo=_placeholder_oktmo(country, unit),
            )
        campaign = Campaign.objects.create(
            municipality=municipality,
            title=(meta.get("description") or f"{unit} {year}")[:200],
            description=meta.get("comment", ""),
            year=year,
            voting_opens_at=opens,
            voting_closes_at=closes,
            method=method,
            min_choices=min_choices,
            max_choices=max_choices,
            points=points,
            budget=Decimal(data.budget),
            rule=rule,
            winners=n_projects if rule == rules.TOP_K else None,
            score_threshold=data.threshold if rule == rules.GREEDY_THRESHOLD else None,
        )
        # The window lies in the past: the campaign is imported closed.
        Campaign.objects.filter(pk=campaign.pk).update(opened_at=opens, closed_at=closes)
        campaign.refresh_from_db()
        tag = f"[pb {campaign.pk}]"
        spaces = Space.objects.bulk_create(
            Space(
                municipality=municipality,
                kind=Space.Kind.PUBLIC_SPACE,
                # Unique per municipality: the campaign and project id make it so.
                name=f"{(row.get('name') or row['project_id'])[:150]} {tag} {row['project_id']}"[:200],
                address=row.get("address") or unit,
                description=row.get("description", ""),
                latitude=Decimal(row.get("latitude") or 0),
                longitude=Decimal(row.get("longitude") or 0),
                area_m2=Decimal(1),
            )
            for row in election.projects
        )
        proposals = Proposal.objects.bulk_create(
            Proposal(
                space=space,
                title=(row.get("name") or row["project_id"])[:200],
                description=row.get("description") or row.get("name") or row["project_id"],
                estimated_cost=Decimal(project.cost),
                status=Proposal.Status.APPROVED,
                submitted_at=opens,
                approved_at=opens,
            )
            for space, row, project in zip(spaces, election.projects, data.projects, strict=True)
        )
        entries = Entry.objects.bulk_create(
            Entry(campaign=campaign, proposal=proposal, external_id=project.id, cost=Decimal(project.cost), position=i)
            for i, (proposal, project) in enumerate(zip(proposals, data.projects, strict=True))
        )
        entry_of = {e.external_id: e for e in entries}
        for start in range(0, n_voters, chunk_size):
            chunk = election.votes[start : start + chunk_size]
            ballots = Ballot.objects.bulk_create(
                Ballot(
                    campaign=campaign,
                    external_voter_id=str(vote["voter_id"])[:64],
                    channel="import",
                    cast_at=closes,
                    # No receipt was ever shown: a deterministic hash keeps the ledger stable.
                    receipt_hash=hashlib.sha256(f"pabulib:{campaign.pk}:{vote['voter_id']}".encode()).hexdigest(),
                )
                for vote in chunk
            )
            choices = []
            for ballot, vote in zip(ballots, chunk, strict=True):
                ids = vote["vote_list"]
                if method == rules.CUMULATIVE:
                    values = vote.get("points_list") or []
                elif method == rules.ORDINAL:
                    values = range(1, len(ids) + 1)
                else:
                    values = [1] * len(ids)
                choices.extend(
                    BallotChoice(ballot=ballot, campaign=campaign, entry=entry_of[pid], points=int(v))
                    for pid, v in zip(ids, values, strict=True)
                    if int(v) > 0
                )
            BallotChoice.objects.bulk_create(choices, batch_size=chunk_size)
    return campaign


# --- Ideas ----------------------------------------------------------------------
# A resident's idea becomes a Proposal (status "submitted") linked to the campaign that
# collected it; officials approve it onto that campaign's ballot, merge it into a
# similar proposal, or reject it with a reason the author sees on "my ideas".
IDEA_MAX_PHOTOS = 5


def _idea_require_moderator(user, campaign: Campaign) -> None:
    """Officials and moderators act on ideas of their own municipalities only."""
    from portal.accounts.permissions import can_moderate, municipalities_in_scope

    if not can_moderate(user) or not municipalities_in_scope(user).filter(pk=campaign.municipality_id).exists():
        raise PermissionError("not a moderator of this municipality")


def idea_validate_photos(photos: Sequence[UploadedFile]) -> None:
    """Refuse the whole set before anything is written (files are not transactional)."""
    from votes.forms import validate_photo

    if len(photos) > IDEA_MAX_PHOTOS:
        raise ValidationError(
            _("At most %(count)d photos per idea.") % {"count": IDEA_MAX_PHOTOS}, code="too_many"
        )
    for photo in photos:
        validate_photo(photo)


def idea_submit(
    *,
    campaign: Campaign,
    author,
    title: str,
    description: str,
    estimated_cost: Decimal,
    space: Space | None = None,
    new_space: dict | None = None,
    photos: Sequence[UploadedFile] = (),
    now: datetime.datetime | None = None,
) -> Idea:
    """Record a resident's idea for an existing `space`, or for a `new_space` (a dict
    with name, kind, address, latitude, longitude, area_m2), with optional photos."""
    now = now or timezone.now()
    if not Campaign.objects.collecting_ideas(now).filter(pk=campaign.pk).exists():
        raise ValidationError(_("This campaign is not collecting ideas now."), code="closed")
    if not getattr(author, "is_authenticated", False) or not author.is_verified:
        raise ValidationError(_("Only verified residents can propose ideas."), code="unverified")
    if author.municipality_id != campaign.municipality_id:
        raise ValidationError(
            _("Only residents of %(municipality)s can propose ideas for this campaign.")
            % {"municipality": campaign.municipality},
            code="not_resident",
        )
    if (space is None) == (new_space is None):
        raise ValidationError(_("Choose an existing space or describe a new one."), code="space")
    if space is not None and space.municipality_id != campaign.municipality_id:
        raise ValidationError(_("This space is in another municipality."), code="space")
    idea_validate_photos(photos)

    proposal = Proposal(
        title=title.strip(),
        description=description.strip(),
        estimated_cost=estimated_cost,
        author=author,
        status=Proposal.Status.SUBMITTED,
        submitted_at=now,
    )
    try:
        with transaction.atomic():
            if new_space is not None:
                space = Space(municipality_id=campaign.municipality_id, **new_space)
                space.full_clean(validate_constraints=False)
                space.save()
            proposal.space = space
            proposal.full_clean()
            proposal.save()
            idea = Idea.objects.create(campaign=campaign, proposal=proposal, submitted_at=now)
            for photo in photos:
                ProposalPhoto.objects.create(
                    proposal=proposal, image=photo_store(file=photo), kind=ProposalPhoto.Kind.GENERAL
                )
    except IntegrityError:
        # The one constraint a resident can hit: a new space named like an existing one.
        raise ValidationError(
            _("A space with this name already exists here: choose it from the list."), code="duplicate"
        ) from None
    return idea


def _idea_lock_pending(idea: Idea) -> Proposal:
    proposal = Proposal.objects.select_for_update().get(pk=idea.proposal_id)
    if proposal.status != Proposal.Status.SUBMITTED:
        raise ValidationError(
            _("This idea has already been moderated (%(status)s).")
            % {"status": proposal.get_status_display()},
            code="moderated",
        )
    return proposal


@transaction.atomic
def idea_approve(*, idea: Idea, official) -> Entry:
    """Approve the idea and put it on its campaign's ballot at its estimated cost."""
    # The campaign row is locked so that the clock cannot open the vote between this
    # check and the new entry: the ballot must not change under the first voters.
    campaign = Campaign.objects.select_for_update().get(pk=idea.campaign_id)
    _idea_require_moderator(official, campaign)
    if campaign.ballot_is_frozen():
        raise ValidationError(
            _("Voting has started: the ballot can no longer change."), code="ballot_frozen"
        )
    proposal = _idea_lock_pending(idea)
    proposal.status = Proposal.Status.APPROVED
    proposal.approved_at = timezone.now()
    proposal.save(update_fields=["status", "approved_at"])
    last = campaign.entries.aggregate(last=Max("position"))["last"]
    try:
        with transaction.atomic():
            entry = Entry.objects.create(
                campaign=campaign,
                proposal=proposal,
                external_id=str(proposal.pk),
                cost=proposal.estimated_cost,
                position=0 if last is None else last + 1,
            )
    except IntegrityError:
        raise ValidationError(
            _("The ballot already has an entry with id %(id)s.") % {"id": proposal.pk}, code="duplicate"
        ) from None
    idea.proposal = proposal
    notifications_idea_decided_enqueue(idea=idea)
    return entry


@transaction.atomic
def idea_merge(*, idea: Idea, into: Proposal, official) -> Proposal:
    """Fold the idea into a similar proposal of the same municipality."""
    campaign = Campaign.objects.get(pk=idea.campaign_id)
    _idea_require_moderator(official, campaign)
    target = Proposal.objects.select_related("space").get(pk=into.pk)
    if target.pk == idea.proposal_id:
        raise ValidationError(_("An idea cannot be merged into itself."), code="self")
    if target.space.municipality_id != campaign.municipality_id:
        raise ValidationError(
            _("Merge only into a proposal of the same municipality."), code="other_municipality"
        )
    if target.status in (Proposal.Status.REJECTED, Proposal.Status.MERGED):
        raise ValidationError(
            _("Merge only into a proposal that is still standing."), code="target_closed"
        )
    proposal = _idea_lock_pending(idea)
    proposal.status = Proposal.Status.MERGED
    proposal.merged_into = target
    proposal.rejected_at = timezone.now()
    proposal.save(update_fields=["status", "merged_into", "rejected_at"])
    idea.proposal = proposal
    notifications_idea_decided_enqueue(idea=idea)
    return proposal


@transaction.atomic
def idea_reject(*, idea: Idea, official, reason: str) -> Proposal:
    """Reject the idea; the author reads `reason` on "my ideas" and in the e-mail."""
    campaign = Campaign.objects.get(pk=idea.campaign_id)
    _idea_require_moderator(official, campaign)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the author a reason for the rejection."), code="reason")
    proposal = _idea_lock_pending(idea)
    proposal.status = Proposal.Status.REJECTED
    proposal.rejected_at = timezone.now()
    proposal.rejection_reason = reason
    proposal.save(update_fields=["status", "rejected_at", "rejection_reason"])
    idea.proposal = proposal
    notifications_idea_decided_enqueue(idea=idea)
    return proposal


# --- Notifications --------------------------------------------------------------
# Enqueue helpers: the e-mails go out from Celery, and only once the transaction that
# caused them has committed (a rolled-back approval sends nothing).


def notifications_idea_decided_enqueue(*, idea: Idea) -> None:
    from portal import tasks

    idea_id = idea.pk
    task_send_on_commit(tasks.notify_idea_decided, idea_id)


def notifications_campaign_opened_enqueue(*, campaign: Campaign) -> None:
    """Called by `campaign_open`: tell eligible residents that they can vote."""
    from portal import tasks

    campaign_id = campaign.pk
    task_send_on_commit(tasks.notify_campaign_opened, campaign_id)


def notifications_results_published_enqueue(*, campaign: Campaign) -> None:
    """Called when results are published: tell the campaign's voters."""
    from portal import tasks

    campaign_id = campaign.pk
    task_send_on_commit(tasks.notify_results_published, campaign_id)
