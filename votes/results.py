"""Reads of stored tallies: what is public, staleness, the .pb form of a campaign.

Nothing here counts: pages and downloads read the stored Tally rows.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone

from portal.replica import REPLICA, primary_wal_position, read_alias, replica_has_replayed
from portal.streaming import streaming_transaction
from votes import ledger, pabulib
from votes.models import Ballot, Campaign, Tally, TallyRow

logger = logging.getLogger(__name__)


def public_tally(campaign: Campaign, *, now: datetime | None = None) -> Tally | None:
    """The tally of `campaign` anyone may see (`Tally.objects.public`), or None."""
    return Tally.objects.public(now).filter(campaign=campaign).first()


def withheld_live_tally(campaign: Campaign, *, now: datetime | None = None) -> Tally | None:
    """The live tally of `campaign` held back for too few ballots (`Tally.objects.live_withheld`):
    its pages say how many ballots are in, and nothing per entry."""
    return Tally.objects.live_withheld(now).filter(campaign=campaign).first()


def tally_rows(tally: Tally):
    return tally.rows.select_related("entry__proposal").order_by("rank", "pk")


def live_tally_is_stale(campaign: Campaign, *, now: datetime | None = None) -> bool:
    """True when an open campaign's live tally is older than a few beat intervals:
    the worker or beat may be down."""
    now = now or timezone.now()
    if not campaign.is_open(now):
        return False
    limit = settings.LIVE_TALLY_INTERVAL * settings.LIVE_TALLY_STALE_INTERVALS
    live = Tally.objects.filter(campaign=campaign, kind=Tally.Kind.LIVE).first()
    if live is not None:
        reference = live.computed_at or live.started_at
    else:
        reference = campaign.opened_at or campaign.voting_opens_at
    return (now - reference).total_seconds() > limit


def _amount(value) -> str:
    return str(int(value)) if value == value.to_integral_value() else str(value)


def campaign_election(campaign: Campaign) -> pabulib.PbElection:
    """The campaign as a pabulib election, with the stored final tally as votes/score/selected."""
    municipality = campaign.municipality
    meta = {
        "description": campaign.title,
        "country": municipality.region.name,
        "unit": municipality.name,
        "instance": str(campaign.year),
        "budget": _amount(campaign.budget) if campaign.budget is not None else "0",
        "vote_type": campaign.method,
        "rule": campaign.rule,
        "date_begin": timezone.localtime(campaign.voting_opens_at).strftime("%d.%m.%Y"),
        "date_end": timezone.localtime(campaign.voting_closes_at).strftime("%d.%m.%Y"),
        "min_length": str(campaign.min_choices),
        "max_length": str(campaign.max_choices),
        "currency": "RUB",
    }
    if campaign.points:
        meta["max_sum_points"] = str(campaign.points)
    if campaign.score_threshold is not None:
        meta["min_project_score_threshold"] = str(campaign.score_threshold)
    if campaign.reserve_share is not None:
        meta["reserve_share"] = str(campaign.reserve_share.normalize())
    if campaign.tie_break != "lower-id":
        meta["tie_break"] = campaign.tie_break
        if campaign.tie_break == "lottery":
            meta["tie_break_seed"] = campaign.tie_break_seed
    final = Tally.objects.final_done().filter(campaign=campaign).first()
    rows = {row.entry_id: row for row in final.rows.all()} if final else {}
    projects = []
    entries = list(campaign.entries.select_related("proposal").order_by("position", "pk"))
    groups = any(e.exclusion_label for e in entries)
    for entry in entries:
        project = {"project_id": entry.external_id, "cost": _amount(entry.cost), "name": entry.proposal.title}
        if groups:
            project["exclusivity_group"] = entry.exclusion_label
        row = rows.get(entry.pk)
        if row is not None:
            # pabulib's convention: 2 marks a project funded from a reserve.
            selected = "2" if row.selected_by_reserve else "1" if row.selected else "0"
            project |= {"votes": str(row.votes), "score": _amount(row.score), "selected": selected}
        projects.append(project)
    columns = ["project_id", "cost", "name"] + (["exclusivity_group"] if groups else [])
    columns += ["votes", "score", "selected"] if rows else []
    votes = []
    # In the ledger's order and under the ledger's names (the receipt hash), never the
    # order of casting, a database id or an imported voter id (those live in the
    # register, apart from the box): none may hint at who cast a ballot.
    with streaming_transaction():
        ballots = (
            Ballot.objects.counted()
            .filter(campaign=campaign)
            .order_by("receipt_hash", "choices__points", "choices__entry__external_id")
            .values_list("pk", "receipt_hash", "choices__entry__external_id", "choices__points")
            .iterator(chunk_size=5000)
        )
        current: dict[str, Any] | None = None
        for pk, receipt, external_id, points in ballots:
            if current is None or current["_pk"] != pk:
                current = {"_pk": pk, "voter_id": receipt[:16], "vote_list": [], "points_list": []}
                votes.append(current)
            if external_id is not None:
                current["vote_list"].append(external_id)
                current["points_list"].append(points)
    for vote in votes:
        del vote["_pk"]
        if campaign.method != "cumulative":
            # Ordinal ballots are listed in rank order (sorted by points = rank above).
            del vote["points_list"]
    vote_columns = ["voter_id", "vote"] + (["points"] if campaign.method == "cumulative" else [])
    return pabulib.PbElection(
        meta=meta, projects=projects, votes=votes, project_columns=columns, vote_columns=vote_columns
    )


def _number(value):
    return int(value) if value == value.to_integral_value() else float(value)


def results_dict(campaign: Campaign, tally: Tally, rows: list[TallyRow] | None = None) -> dict:
    """The stored tally as plain data: the API, the JSON download and the ledger header.
    `rows` are the tally's rows when the caller has read them already."""
    if not tally.standings_disclosed:
        rows = []  # the public reads never pass such a tally; nothing per entry if one does
    elif rows is None:
        rows = list(tally_rows(tally))
    return {
        "campaign": campaign.pk,
        "final": tally.kind == Tally.Kind.FINAL,
        "computed_at": tally.computed_at.isoformat() if tally.computed_at else None,
        "ballots": tally.ballots_counted,
        "budget": _number(campaign.budget) if campaign.budget is not None else None,
        "budget_used": _number(tally.budget_used),
        "ledger_head": tally.ledger_head or None,
        "annulled": annulled_by_reason(campaign.pk) if tally.kind == Tally.Kind.FINAL else {},
        "entries": [
            {
                "entry": row.entry_id,
                "external_id": row.entry.external_id,
                "title": row.entry.proposal.title,
                "cost": _number(row.entry.cost),
                "votes": row.votes,
                "score": _number(row.score),
                "rank": row.rank,
                "selected": row.selected,
                "selected_by_reserve": row.selected_by_reserve,
            }
            for row in rows
        ],
    }


def ledger_ballots(campaign_id: int, *, chunk_size: int = 5000) -> Iterator[tuple[str, list[tuple[str, int]], str]]:
    """Ballots in ledger order (receipt hash), with their choices and annulment reason
    ("" when counted); streamed, in one transaction (one snapshot per statement, and a
    cursor PgBouncer can keep)."""
    with streaming_transaction():
        rows = (
            Ballot.objects.filter(campaign_id=campaign_id)
            .order_by("receipt_hash", "choices__entry__external_id")
            .values_list("receipt_hash", "annulled_reason", "choices__entry__external_id", "choices__points")
            .iterator(chunk_size=chunk_size)
        )
        current: str | None = None
        reason = ""
        choices: list[tuple[str, int]] = []
        for receipt, annulled, external_id, points in rows:
            if receipt != current:
                if current is not None:
                    yield current, choices, reason
                current, choices, reason = receipt, [], annulled
            if external_id is not None:
                choices.append((external_id, points))
        if current is not None:
            yield current, choices, reason


def ledger_rows(campaign_id: int) -> Iterator[tuple[int, str, list, str]]:
    """``(position, receipt_hash, choices, chain hash)`` of the campaign's public ledger."""
    return ledger.chain(campaign_id, ledger_ballots(campaign_id))


def annulled_by_reason(campaign_id: int) -> dict[str, int]:
    """How many ballots the commission annulled, by reason (category): public."""
    rows = (
        Ballot.objects.annulled()
        .filter(campaign_id=campaign_id)
        .order_by("annulled_reason")
        .values_list("annulled_reason")
        .annotate(n=models.Count("*"))
    )
    return dict(rows)


def ledger_header(campaign: Campaign, tally: Tally) -> dict:
    return {
        "type": "header",
        "format": "portal-ballot-ledger/1",
        "campaign": campaign.pk,
        "title": campaign.title,
        "method": campaign.method,
        "rule": campaign.rule,
        "budget": _number(campaign.budget) if campaign.budget is not None else None,
        "winners": campaign.winners,
        "threshold": campaign.score_threshold,
        "ordinal_scoring": campaign.ordinal_scoring,
        "max_choices": campaign.max_choices,
        "tie_break": campaign.tie_break,
        # The lottery's seed, published before the count: verify_ledger redoes the draw.
        "tie_break_seed": campaign.tie_break_seed if campaign.tie_break == "lottery" else "",
        "reserve_share": str(campaign.reserve_share.normalize()) if campaign.reserve_share is not None else None,
        "entries": [
            {
                "external_id": e.external_id,
                "title": e.proposal.title,
                "cost": _number(e.cost),
                "exclusivity_group": e.exclusion_label,
            }
            for e in campaign.entries.select_related("proposal").order_by("position", "pk")
        ],
        "results": results_dict(campaign, tally),
        "ballots": tally.ballots_counted,
        "head": tally.ledger_head,
    }


def ledger_lines(campaign: Campaign, tally: Tally):
    """The ledger download, line by line (JSON Lines; see votes/ledger.py)."""
    yield json.dumps(ledger_header(campaign, tally), ensure_ascii=False) + "\n"
    reasons = dict(Ballot.objects.annulled().filter(campaign=campaign).values_list("receipt_hash", "annulled_reason"))
    for position, receipt_hash, choices, chain_hash in ledger_rows(campaign.pk):
        record: dict[str, Any] = {
            "type": "ballot",
            "position": position,
            "receipt_hash": receipt_hash,
            "choices": [[e, p] for e, p in choices],
            "chain": chain_hash,
        }
        if receipt_hash in reasons:
            record["annulled"] = reasons[receipt_hash]
        yield json.dumps(record, ensure_ascii=False) + "\n"


# --------------------------------------------------------------- whole-page cache
#
# The results page is the same for every anonymous visitor in a language, so it is
# cached whole: a hit is one cache round trip and no database query. Each page is
# stored with the campaign's version token it was rendered under; a tally write, a seal,
# a publication or the close deletes the token (on commit), so readers start a new token
# and never take a page rendered from older data (a render that read the database before
# the change carries the old token, which no reader accepts any more). Every cache call
# fails open: with the cache down the page is rendered as usual and not stored.

RESULTS_PAGE_SECONDS = 300


def _version_key(campaign_id: int) -> str:
    return f"results-page:version:{campaign_id}"


def _page_key(campaign_id: int, language: str) -> str:
    return f"results-page:{campaign_id}:{language}"


def results_page_cached(campaign_id: int, language: str) -> tuple[str | None, bytes | None]:
    """``(version, page)``: the current version token (None when the cache is down) and
    the stored page for this language if it was rendered under that token. One round
    trip: the token and the page (stored with the token it was rendered under) together."""
    key = _version_key(campaign_id)
    try:
        found = cache.get_many([key, _page_key(campaign_id, language)])
        version = found.get(key)
        if version is None:
            cache.add(key, _version_new(), timeout=None)
            return cache.get(key), None
        stored = found.get(_page_key(campaign_id, language))
        if stored is not None and stored[0] == version:
            return version, stored[1]
        return version, None
    except Exception:  # redis-py raises several types; a cache outage must not fail the page
        logger.warning("results page cache unavailable", exc_info=True)
        return None, None


def results_page_storable(version: str) -> bool:
    """False when this page was read from a replica that is behind the version's change."""
    _token, _at, position = version.partition("@")
    if not position or read_alias() != REPLICA:
        return True
    try:
        return replica_has_replayed(position)
    except Exception:
        logger.warning("could not read the replica's replay position", exc_info=True)
        return False


def results_page_store(campaign_id: int, language: str, version: str, content: bytes, timeout: int) -> None:
    try:
        cache.set(_page_key(campaign_id, language), (version, content), timeout)
    except Exception:
        logger.warning("results page cache unavailable", exc_info=True)


def _version_new() -> str:
    """A new version token; with a read replica it carries the primary's WAL position."""
    try:
        position = primary_wal_position()
    except Exception:
        logger.warning("could not read the primary's WAL position", exc_info=True)
        position = None
    return uuid.uuid4().hex + (f"@{position}" if position else "")


def results_page_invalidate(campaign_id: int) -> None:
    """Forget the campaign's cached results pages (every language).

    With a read replica, the new version token carries the primary's WAL position after
    the change: a page rendered from a replica that has not replayed that far yet shows
    the older state and is not stored (`results_page_storable`), so a lagging replica
    never leaves an old page in the cache under the new token.
    """
    try:
        cache.set(_version_key(campaign_id), _version_new(), timeout=None)
    except Exception:
        # Pages expire by themselves after RESULTS_PAGE_SECONDS.
        logger.warning("results page cache unavailable: pages of campaign %s expire on their own", campaign_id)


def results_page_invalidate_on_commit(*, campaign_id: int) -> None:
    """Forget the campaign's cached results pages once the current transaction commits."""
    transaction.on_commit(lambda: results_page_invalidate(campaign_id))


def results_page_seconds(campaign: Campaign, *, now: datetime | None = None) -> int:
    """How long a rendered results page may be served: never past the next opening or
    close of voting, when the page changes without a tally being written."""
    now = now or timezone.now()
    seconds = RESULTS_PAGE_SECONDS
    if campaign.results_published_at is None:
        for moment in (campaign.voting_opens_at, campaign.voting_closes_at):
            if moment is not None and moment > now:
                seconds = min(seconds, int((moment - now).total_seconds()))
    return max(seconds, 0)
