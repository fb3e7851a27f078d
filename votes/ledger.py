"""The public ballot ledger: every ballot of a closed campaign, chained by hashes.

Pure functions (no Django), shared by the tally service, the ledger download and
``manage.py verify_ledger``, so anyone can rebuild the chain and recount.

Format
------
The ledger of campaign ``<id>`` lists every ballot as ``(receipt_hash, choices)``:

* ``receipt_hash``: the 64-hex sha256 of the voter's receipt code (what the voter can
  recompute from the code they were shown; never the voter, never the helper).
* ``choices``: ``[(external_id, points), ...]`` sorted by external id in Unicode code
  point order; ``points`` is 1 for choose-1/approval/knapsack, the points for cumulative
  ballots and the rank (1 = first) for rankings. A ballot may be empty.

Ballots are ordered by ``receipt_hash`` ascending (hex, so byte and code point order
agree). The chain is::

    h_0 = sha256("campaign:<id>")                          (UTF-8, lowercase hex digest)
    h_i = sha256(h_{i-1} + receipt_hash_i + canonical(choices_i))
    canonical(choices) = ",".join(f"{external_id}:{points}" for each choice)  # "" if empty

where ``+`` joins the hex strings and the canonical text, all UTF-8 encoded. The last
``h_n`` is the head, stored in the final Tally and published with the results.

A ballot the commission annulled after the close (votes.services.verification) stays in
the ledger with no choices (the annulment deletes them: the register names whose ballot
it was), marked with the reason's category (``duplicate_person``, ``bulk_accounts``,
``burst``, ``volunteer_outlier``, ``eligibility_changed``, ``other``), which the chain
covers::

    h_i = sha256(h_{i-1} + receipt_hash_i + "!" + reason_i)

Counted ballots link exactly as before, so a ledger with no annulment is unchanged. The
recount leaves annulled ballots out, as the published results do.

The download (``ledger.jsonl``) is JSON Lines: one header object (``"type": "header"``,
campaign, method, rule, budget, parameters -- threshold, ``tie_break`` and the lottery's
``tie_break_seed``, ``reserve_share`` --, entries with their ``exclusivity_group``,
published results (``selected`` and ``selected_by_reserve`` per entry), ``ballots`` and
``head``), then one object per ballot (``"type": "ballot"``, ``position`` from 1,
``receipt_hash``, ``choices`` as ``[[external_id, points], ...]`` and ``chain`` = h_i).
An annulled ballot's object also has ``"annulled": <reason>``; the header's ``ballots``
and the results' ``ballots`` count the counted ones, and the results' ``annulled`` maps
each reason to its number of ballots.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from votes import rules

Choices = Sequence[tuple[str, int]]


def genesis(campaign_id: int) -> str:
    return hashlib.sha256(f"campaign:{campaign_id}".encode()).hexdigest()


def canonical_choices(choices: Choices) -> str:
    return ",".join(f"{external_id}:{int(points)}" for external_id, points in sorted(choices))


def link(previous: str, receipt_hash: str, choices: Choices, annulled: str = "") -> str:
    # An annulled ballot's choices are gone from the box (the annulment deletes them):
    # its link is its receipt and reason only.
    data = previous + receipt_hash + (f"!{annulled}" if annulled else canonical_choices(choices))
    return hashlib.sha256(data.encode()).hexdigest()


def chain(
    campaign_id: int, ballots: Iterable[tuple[str, Choices] | tuple[str, Choices, str]]
) -> Iterator[tuple[int, str, list[tuple[str, int]], str]]:
    """Yield ``(position, receipt_hash, sorted choices, h_i)`` for ballots in ledger order;
    a ballot may carry a third item, its annulment's reason ("" when counted).

    Refuses ballots out of order (or repeated), since the order is part of the format.
    """
    head = genesis(campaign_id)
    last = ""
    for position, ballot in enumerate(ballots, start=1):
        receipt_hash, choices = ballot[0], ballot[1]
        annulled = ballot[2] if len(ballot) > 2 else ""
        if receipt_hash <= last:
            raise ValueError(f"ballot {position}: receipt hashes must be strictly ascending")
        last = receipt_hash
        ordered = sorted((str(e), int(p)) for e, p in choices)
        head = link(head, receipt_hash, ordered, annulled)
        yield position, receipt_hash, ordered, head


def head_of(campaign_id: int, ballots: Iterable[tuple[str, Choices]]) -> str:
    head = genesis(campaign_id)
    for *_, head in chain(campaign_id, ballots):  # noqa: B007 -- the last link is the head
        pass
    return head


# --------------------------------------------------------------------- verification


def money_scale(amounts: Iterable[Decimal]) -> int:
    """The rules count whole currency units; kopecks only when some amount has them.

    Whole units keep MES add1's "+1 per voter" step equal to pabulib's (1 unit). The
    tally service and the recount of a downloaded ledger both use this one choice.
    """
    return 1 if all(a == a.to_integral_value() for a in amounts) else 100


def recount(header: dict[str, Any], ballots: dict[tuple[tuple[str, int], ...], int]) -> tuple[dict[str, Any], Any]:
    """Scores and the outcome (``rules.Outcome``) of the grouped ``ballots`` under the
    header's rule, groups, tie-break (the lottery redone from its published seed),
    threshold and reserve."""
    entries = header["entries"]
    costs = [Decimal(str(e["cost"])) for e in entries]
    budget = Decimal(str(header.get("budget") or 0))
    scale = money_scale([*costs, budget])
    projects = [rules.Project(e["external_id"], int(c * scale)) for e, c in zip(entries, costs, strict=True)]
    method = header["method"]
    ordinal_max = header.get("max_choices") if method == rules.ORDINAL else None
    rule = header["rule"]
    tie_break = header.get("tie_break") or rules.TIE_LOWER_ID
    share = header.get("reserve_share")
    scores = rules.tally_scores(
        method,
        ballots,
        ordinal_scoring=header.get("ordinal_scoring") or rules.DEFAULT_ORDINAL_SCORING,
        ordinal_max_length=ordinal_max,
        projects=[p.id for p in projects],
    )
    outcome = rules.select(
        rule,
        projects,
        scores,
        budget=int(budget * scale),
        ballots=ballots,
        method=method,
        k=header.get("winners"),
        threshold=header.get("threshold") if rule in rules.GREEDY_RULES else None,
        ordinal_scoring=header.get("ordinal_scoring") or rules.DEFAULT_ORDINAL_SCORING,
        ordinal_max_length=ordinal_max,
        groups={e["external_id"]: e["exclusivity_group"] for e in entries if e.get("exclusivity_group")},
        tie_break=tie_break,
        tie_seed=header.get("tie_break_seed") or "",
        reserve_share=Fraction(str(share)) if share is not None else None,
        money_unit=scale,
    )
    return scores, outcome


def verify(lines: Iterable[str]) -> list[str]:
    """Check a downloaded ledger (JSON Lines): the chain, its head, and a recount against
    the results in its header. Returns the problems found; empty means it matches."""
    problems: list[str] = []
    it = iter(lines)
    try:
        header = json.loads(next(it))
    except (StopIteration, ValueError):
        return ["the file does not start with a JSON header line"]
    if header.get("type") != "header":
        return ["the first line is not the ledger header"]
    campaign_id = int(header["campaign"])
    known = {e["external_id"] for e in header["entries"]}
    grouped: dict[tuple[tuple[str, int], ...], int] = {}
    previous = genesis(campaign_id)
    last = ""
    count = 0
    annulled_by_reason: dict[str, int] = {}
    for number, line in enumerate(it, start=2):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            receipt = record["receipt_hash"]
            choices = sorted((str(e), int(p)) for e, p in record["choices"])
            annulled = str(record.get("annulled") or "")
        except (ValueError, KeyError, TypeError):
            problems.append(f"line {number}: not a ballot record")
            continue
        if annulled:
            annulled_by_reason[annulled] = annulled_by_reason.get(annulled, 0) + 1
        else:
            count += 1
        if receipt <= last:
            problems.append(f"line {number}: receipt hashes are not strictly ascending")
        last = receipt
        unknown = {e for e, _ in choices} - known
        if unknown:
            problems.append(f"line {number}: unknown entries {sorted(unknown)}")
            continue
        previous = link(previous, receipt, choices, annulled)
        if record.get("chain") != previous:
            problems.append(f"line {number}: chain hash does not follow from the lines before it")
        if annulled:
            continue  # annulled by the commission: listed and chained, not counted
        key = tuple(choices)
        grouped[key] = grouped.get(key, 0) + 1
    if previous != header.get("head"):
        problems.append(f"the chain ends at {previous}, the published head is {header.get('head')}")
    results = header.get("results") or {}
    if results.get("ballots") != count:
        problems.append(f"{count} ballots in the ledger, {results.get('ballots')} in the published results")
    if annulled_by_reason != (results.get("annulled") or {}):
        problems.append(
            f"annulled ballots in the ledger {annulled_by_reason}, in the published results {results.get('annulled')}"
        )
    if problems and any("unknown entries" in p for p in problems):
        return problems
    try:
        scores, outcome = recount(header, grouped)
    except ValueError as exc:  # rules.RulesError: the header's parameters cannot be counted
        return [*problems, f"the header cannot be recounted: {exc}"]
    selected = set(outcome.selected)
    published = {r["external_id"]: r for r in results.get("entries", [])}
    for external_id, score in scores.items():
        row = published.get(external_id)
        if row is None:
            problems.append(f"entry {external_id} is missing from the published results")
            continue
        if int(row["votes"]) != score.votes or Decimal(str(row["score"])) != score.score:
            problems.append(
                f"entry {external_id}: recount gives {score.votes} votes / score {score.score}, "
                f"published {row['votes']} / {row['score']}"
            )
    published_selected = {e for e, r in published.items() if r.get("selected")}
    if published_selected != selected:
        problems.append(
            f"recount selects {sorted(selected)}, the published results select {sorted(published_selected)}"
        )
    published_reserve = {e for e, r in published.items() if r.get("selected_by_reserve")}
    if published_reserve != set(outcome.selected_by_reserve):
        problems.append(
            f"recount funds {sorted(outcome.selected_by_reserve)} from the reserve, "
            f"the published results {sorted(published_reserve)}"
        )
    return problems
