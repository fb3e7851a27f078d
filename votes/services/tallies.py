"""Counting: tallies recomputed from the stored ballots, and the publication of results."""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lib.queue import task_send, task_send_on_commit
from portal.audit.services import audit_decision, audit_snapshot
from portal.streaming import streaming_transaction
from projects.services import proposals_select
from votes import ledger, rules, tasks
from votes.models import Ballot, BallotChoice, Campaign, Entry, Tally, TallyRow
from votes.results import results_page_invalidate_on_commit
from votes.services.errors import ResultsError, TallyError
from votes.services.locks import tally_lock
from votes.services.notifications import notifications_results_published_enqueue
from votes.services.seal import ledger_seal_enqueue

# --- Counting ---


# Tallies are recomputed from the stored ballots, never incremented: running one twice,
# or again after a worker died half-way, stores the same rows.


def _money_scale(campaign: Campaign, entries: list[Entry]) -> int:
    amounts = [e.cost for e in entries] + ([campaign.budget] if campaign.budget is not None else [])
    return ledger.money_scale(amounts)


def _project_id_of(entries: list[Entry]) -> dict[int, str]:
    # The entry's external id is the rules' project id: ties go to the smaller id, as in
    # pabutools reading the same election from a .pb file.
    return {e.pk: e.external_id for e in entries}


def _scores_from_sql(campaign: Campaign, entries: list[Entry]) -> dict[str, rules.ProjectScore]:
    """Votes and score per entry in one GROUP BY over votes_ballotchoice (annulled
    ballots left out, as everywhere a tally reads the box)."""
    points = "points"
    score: Sum | Count
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

    # Every choice, then the annulled ballots' taken off: count(*) over the campaign's
    # choices is answered by the (campaign, entry) index without the heap, where a join
    # with the ballots to leave the annulled out read a million of them (24x the bare
    # GROUP BY); the annulled are few and found by their partial index.
    def per_entry(choices) -> dict[int, tuple[int, int]]:
        rows = choices.order_by().values("entry_id").annotate(votes=Count("*"), score=score)
        return {row["entry_id"]: (row["votes"], int(row["score"] or 0)) for row in rows}

    choices = BallotChoice.objects.filter(campaign_id=campaign.pk)
    counted = per_entry(choices)
    for entry_id, (annulled_votes, annulled_score) in per_entry(choices.exclude(ballot__annulled_reason="")).items():
        votes, total = counted[entry_id]
        counted[entry_id] = (votes - annulled_votes, total - annulled_score)
    ids = _project_id_of(entries)
    scores = {e.external_id: rules.ProjectScore(e.external_id, 0, 0) for e in entries}
    for entry_id, (votes, total) in counted.items():
        pid = ids[entry_id]
        scores[pid] = rules.ProjectScore(pid, votes, total)
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
                FROM votes_ballotchoice c JOIN votes_ballot b ON b.id = c.ballot_id
                WHERE c.campaign_id = %s AND b.annulled_reason = '' GROUP BY c.ballot_id
            ) AS per_ballot GROUP BY choices
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [campaign.pk])
            for choices, count in cursor.fetchall():  # one row per distinct ballot
                distinct = []
                for item in choices:
                    entry_id, points = item.split(":")
                    distinct.append((ids[int(entry_id)], int(points)))
                key = tuple(sorted(distinct))
                grouped[key] = grouped.get(key, 0) + count
                with_choices += count
    else:
        current_ballot = None
        ballot: list[tuple[str, int]] = []

        def flush() -> None:
            key = tuple(sorted(ballot))
            grouped[key] = grouped.get(key, 0) + 1

        with streaming_transaction():
            choices = (
                BallotChoice.objects.filter(campaign_id=campaign.pk, ballot__annulled_reason="")
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
    empty = Ballot.objects.counted().filter(campaign_id=campaign.pk).count() - with_choices
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


_MONEY_FIELDS = ("cost", "budget_left", "max_payment", "supporters_budget", "reserve_used")


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


def selection_parameters(campaign: Campaign, entries: list[Entry]) -> dict:
    """The campaign's counting parameters for ``rules.select`` (money not scaled): the
    same for the tally, the ledger header and the recount of a downloaded ledger."""
    return {
        "rule": campaign.rule,
        "k": campaign.winners,
        # Any greedy rule applies a threshold the campaign declares (rules: "Selection rules").
        "threshold": campaign.score_threshold if campaign.rule in rules.GREEDY_RULES else None,
        "groups": {e.external_id: e.exclusion_label for e in entries if e.exclusion_label},
        "tie_break": campaign.tie_break,
        "tie_seed": campaign.tie_break_seed if campaign.tie_break == rules.TIE_LOTTERY else "",
        "reserve_share": Fraction(campaign.reserve_share) if campaign.reserve_share is not None else None,
    }


def tally_outcome(campaign: Campaign, entries: list[Entry]) -> tuple[dict[str, rules.ProjectScore], rules.Outcome, int]:
    """Scores and the rule's outcome over the stored ballots, plus the money scale."""
    scale = _money_scale(campaign, entries)
    projects = [rules.Project(e.external_id, int(e.cost * scale), str(e)) for e in entries]
    scores = _scores_from_sql(campaign, entries)
    ballots = _grouped_ballots(campaign, entries) if _needs_ballots(campaign) else None
    budget = int((campaign.budget or 0) * scale)
    params = selection_parameters(campaign, entries)
    try:
        outcome = rules.select(
            params.pop("rule"),
            projects,
            scores,
            budget=budget,
            ballots=ballots,
            method=campaign.method,
            ordinal_scoring=campaign.ordinal_scoring,
            ordinal_max_length=campaign.max_choices if campaign.method == rules.ORDINAL else None,
            money_unit=scale,
            **params,
        )
    except rules.RulesError as exc:
        raise TallyError(str(exc)) from exc
    return scores, outcome, scale


def _standings(campaign: Campaign, entries: list[Entry], scores: dict[str, rules.ProjectScore]) -> list[Entry]:
    # Rank by score, then by the campaign's tie-break (as the rule did), selected or not.
    projects = [rules.Project(e.external_id, int(e.cost * 100)) for e in entries]
    seed = campaign.tie_break_seed if campaign.tie_break == rules.TIE_LOTTERY else ""
    ties = rules.tie_keys(projects, scores, campaign.tie_break, seed)
    return sorted(entries, key=lambda e: (-scores[e.external_id].score, ties[e.external_id]))


def _mark_failed(tally_id: int, error: str) -> None:
    with transaction.atomic():
        Tally.objects.filter(pk=tally_id).update(status=Tally.Status.FAILED, error=error[:4000])
        campaign_id = Tally.objects.filter(pk=tally_id).values_list("campaign_id", flat=True).first()
        if campaign_id is not None:
            results_page_invalidate_on_commit(campaign_id=campaign_id)


def _write_rows(
    tally: Tally, campaign: Campaign, entries: list[Entry], scores, outcome: rules.Outcome, scale: int
) -> list[TallyRow]:
    selected = set(outcome.selected)
    by_reserve = set(outcome.selected_by_reserve)
    rows = []
    for rank, entry in enumerate(_standings(campaign, entries, scores), start=1):
        score = scores[entry.external_id]
        rows.append(
            TallyRow(
                tally=tally,
                entry=entry,
                votes=score.votes,
                score=Decimal(score.score),
                rank=rank,
                selected=entry.external_id in selected,
                selected_by_reserve=entry.external_id in by_reserve,
                explanation=_explanation_json(outcome.explanations[entry.external_id], scale),
            )
        )
    TallyRow.objects.filter(tally=tally).delete()
    return TallyRow.objects.bulk_create(rows)


def _tally_checks(campaign: Campaign, *, final: bool) -> None:
    if final and campaign.closed_at is None:
        raise TallyError(f"campaign {campaign.pk} is not closed: only a closed campaign has a final tally")
    if final and campaign.results_published_at is not None:
        # Published results stand: a recount would take them offline while it runs, and
        # could only differ if the stored ballots had been tampered with.
        raise TallyError(f"campaign {campaign.pk} has published results: its final tally is not recounted")


def tally_compute(*, campaign_id: int, final: bool) -> Tally:
    """Count a campaign from its stored ballots and store the result (live or final).

    Marks the Tally running (committed, so the admin sees it), then computes, replaces its
    rows and marks it done in a second transaction; on error marks it failed with the
    message and re-raises. Both hold the campaign's transaction-level tally lock, so two
    workers never interleave, and the lock works through PgBouncer in transaction mode.
    """
    kind = Tally.Kind.FINAL if final else Tally.Kind.LIVE
    with transaction.atomic():
        tally_lock(campaign_id, kind)
        campaigns = Campaign.objects.all()
        if final:
            # The campaign row stays locked until the tally is marked running, and
            # results_publish locks it FOR UPDATE: a publication and a recount never
            # pass each other (once running, publication waits for a done, sealed
            # tally). NO KEY: ballots' FOR KEY SHARE on the campaign is not in its way.
            campaigns = campaigns.select_for_update(no_key=True)
        _tally_checks(campaigns.get(pk=campaign_id), final=final)
        tally, _ = Tally.objects.update_or_create(
            campaign_id=campaign_id,
            kind=kind,
            defaults={"status": Tally.Status.RUNNING, "started_at": timezone.now(), "error": ""},
        )
    try:
        with transaction.atomic():
            tally_lock(campaign_id, kind)
            campaign = Campaign.objects.get(pk=campaign_id)
            _tally_checks(campaign, final=final)  # again: another worker may have published meanwhile
            entries = list(campaign.entries.select_related("proposal").order_by("pk"))
            scores, outcome, scale = tally_outcome(campaign, entries)
            if campaign.method == rules.CHOOSE_ONE:
                # Exactly one choice per choose-1 ballot (ballot_validate and the import
                # enforce it), so the votes add up to the ballots: no second scan.
                ballots_counted = sum(score.votes for score in scores.values())
            else:
                # All of them less the annulled, as the scores: two index scans, no heap.
                of_campaign = Ballot.objects.filter(campaign_id=campaign_id)
                ballots_counted = of_campaign.count() - of_campaign.annulled().count()
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
                # The screening of the register follows each final count (votes.services.verification).
                task_send_on_commit(tasks.screening_run, campaign_id)
    except Exception as exc:
        _mark_failed(tally.pk, f"{type(exc).__name__}: {exc}")
        raise
    return tally


def tally_enqueue(*, campaign: Campaign, final: bool) -> None:
    """Ask a worker to (re)count the campaign once the current transaction commits."""
    task = tasks.tally_final if final else tasks.tally_live
    campaign_id = campaign.pk
    task_send_on_commit(task, campaign_id)


@dataclass
class Recount:
    """An official's "recount now" of `campaign`: moot when its results are published
    and stand; otherwise `queued` says, once the transaction has committed, whether the
    broker took the task (None until then), so a refusal is told, not shown as queued."""

    campaign: Campaign
    results_stand: bool = False
    queued: bool | None = None


def tally_recount(*, campaign: Campaign, actor: Any = None) -> Recount:
    """An official asks for a recount: the final tally of a closed campaign, the live one
    of an open one, counted by a worker after commit. Published results stand: nothing
    is asked."""
    recount = Recount(campaign=campaign)
    with transaction.atomic():
        campaign = Campaign.objects.get(pk=campaign.pk)
        if campaign.results_published_at is not None:
            recount.results_stand = True
            return recount
        audit_decision(actor=actor, name="tally_recount", obj=campaign, before=None)
        task = tasks.tally_final if campaign.closed_at is not None else tasks.tally_live
        campaign_id = campaign.pk

        def send() -> None:
            recount.queued = task_send(task, campaign_id)

        transaction.on_commit(send)
    return recount


def results_publish(*, campaign: Campaign, actor: Any = None) -> Campaign:
    """Publish the final results; only after a final tally is done and its ledger sealed."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.closed_at is None:
            raise ResultsError(_("The campaign is not closed yet."), code="not_closed")
        final = Tally.objects.final_done().filter(campaign=campaign).first()
        if final is None:
            raise ResultsError(_("The final tally is not done yet: recount first."), code="tally_not_done")
        if not final.ledger_head:
            raise ResultsError(
                _("The ballot ledger is not sealed yet: wait for the seal after the final tally, or recount."),
                code="not_sealed",
            )
        if campaign.verification_approved_at is None:
            raise ResultsError(
                _("The commission has not approved the verification of the votes yet."),
                code="verification_pending",
            )
        if campaign.results_published_at is None:
            before = audit_snapshot(campaign)
            campaign.results_published_at = timezone.now()
            campaign.save(update_fields=["results_published_at"])
            proposals_select(
                proposal_ids=final.rows.filter(selected=True).values("entry__proposal_id"),
                at=campaign.results_published_at,
            )
            audit_decision(actor=actor, name="results_publish", obj=campaign, before=before)
            results_page_invalidate_on_commit(campaign_id=campaign.pk)
            notifications_results_published_enqueue(campaign=campaign)
    return campaign


def live_tallies_enqueue(*, now: datetime.datetime | None = None) -> list[int]:
    """Enqueue a live tally for every open campaign."""
    ids = list(Campaign.objects.open(now).values_list("pk", flat=True))
    for pk in ids:
        tally_enqueue(campaign=Campaign(pk=pk), final=False)
    return ids
