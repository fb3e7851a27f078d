"""Counting and selection rules for participatory-budgeting votes, over plain data.

No Django here: the tally service streams ballots out of PostgreSQL, groups identical
ballots and hands them to these functions, and the test suite checks every rule against
the reference implementation (``pabutools``) and against official pabulib results.

Inputs
------
* ``projects``: a sequence of :class:`Project` (id, integer cost, optional name).
* ``ballots``: ``Mapping[tuple[tuple[str, int], ...], int]`` -- a ballot, written as the
  sorted tuple of ``(project_id, value)``, mapped to how many voters cast exactly it.
  ``value`` is 1 for choose-1 / approval / knapsack, the points for cumulative and the
  rank (1 = first choice) for ordinal ballots.

Ballot methods (values equal pabulib ``vote_type``)
----------------------------------------------------
``choose-1``, ``approval``, ``cumulative``, ``ordinal`` and ``knapsack`` (a basket that
fits the budget; it is counted exactly like approval).

Scores (:func:`tally_scores`)
-----------------------------
``votes`` is the number of ballots naming the project. ``score`` is the sum of points:
equal to votes for choose-1/approval/knapsack, the points for cumulative, and for
ordinal ballots the points of the chosen ``ordinal_scoring``:

* ``"borda"`` (default): rank r on a ballot of maximum length L earns ``L - r + 1``
  points (L is ``ordinal_max_length``, by default the longest ballot). This is what
  Krakow publishes: on Poland_Krakow_2022_Biezanow-Prokocim.pb (L = 3, points 3,2,1)
  it reproduces the official ``score`` column exactly (see tests/votes/test_pabulib.py).
* ``"borda-ballot"``: ``len(ballot) - r`` points, pabutools' ``Additive_Borda_Sat``.
* ``"first-choice"``: 1 point for a first choice, nothing else.

Selection rules (values equal pabulib ``rule``)
-----------------------------------------------
* ``top-k``: the k projects with the highest score; no budget.
* ``greedy``: projects by score, each funded if it fits the budget still left;
  a project that does not fit is skipped and the next one is tried.
  Projects with score 0 are considered too, last (as pabutools does); so are free
  projects, which always fit.
* ``greedy-no-skip``: the same, but counting stops at the first project that does
  not fit.
* ``greedy-threshold``: greedy among the projects whose score (pabulib
  ``min_project_score_threshold``; ``threshold_on="votes"`` to use votes) is at least
  the threshold; the rest are marked ``below_threshold``. Katowice 2023 Murcki (the
  sample using it) matches with either reading: the only project whose votes and
  score straddle 50 (L18/07/X, 42 votes, 54 points) does not fit the budget left.
* ``greedy-reserve``: greedy without skipping, then the first project that did not fit
  is funded from a reserve when the budget left covers at least ``reserve_share`` of
  its cost (Poznań's "greedy-custom": 80 %). It is marked apart
  (``Outcome.selected_by_reserve``, reason ``reserve``); ``budget_used`` counts the
  budget left it took, ``Outcome.reserve_used`` what the reserve paid.
* Every greedy rule (``greedy``, ``greedy-no-skip``, ``greedy-threshold``,
  ``greedy-reserve``) applies ``threshold`` when one is given: a project below it is
  never funded (``below_threshold``) and, under no-skip, does not stop the count.
  ``greedy-threshold`` requires one.
* ``equalshares``: the Method of Equal Shares (MES) exactly as pabutools'
  ``method_of_equal_shares``: the budget is split equally among all voters; each round
  funds the project whose cost its supporters can cover with the smallest maximal
  payment per unit of utility (``rho``); every supporter pays ``min(money left,
  rho * utility)``. Utilities are the project cost for approval-like ballots
  (pabutools ``Cost_Sat``, which is what pabulib and equalshares.net use) and the
  points for cumulative and ordinal ballots (pabutools ``Additive_Cardinal_Sat``);
  ``mes_utility`` overrides that (``"cost"`` or ``"points"``).
* ``equalshares/add1``: pabulib's "MES with Add1 completion": MES is rerun with the
  per-voter budget increased by 1 currency unit (pabutools
  ``method_of_equal_shares(..., voter_budget_increment=1)``) until its outcome is
  exhaustive among the supported projects, or would overspend the real budget (then
  the previous outcome is kept). That is all pabulib's label means: the official Assen
  2024 result (the only ``equalshares/add1`` sample) leaves 23,300 EUR unspent although
  project 7 (12,000 EUR) would fit. ``greedy_completion=True`` additionally fills what
  is left greedily by score, as pabutools' ``completion_by_rule_combination`` with
  ``greedy_utilitarian_welfare``/``Cost_Sat`` does (reason ``completion``).

Exclusivity groups (``groups``)
-------------------------------
``groups`` maps a project id to a short label; projects sharing a label exclude each
other (two designs for one courtyard, two projects on one plot: Warszawa's
``greedy-exclusive``). Every rule selects at most one project per group: once a
project of a group is selected, the others are skipped with reason
``excluded_by_group`` (``excluded_by`` names the winner). Greedy rules go on to the
next project (an excluded project never stops greedy-no-skip); top-k takes the next
one; MES drops the group's other projects from the candidates, as if unaffordable;
the reserve goes to the first project that did not fit and is not excluded. A project
without a label (or with ``""``) is in no group.

Tie-breaking (``tie_break``)
----------------------------
Projects with equal scores (greedy rules, top-k) or equal ``rho`` (equal shares) are
ordered by the campaign's tie-break, and then always by the project id in ascending
lexicographic (Unicode code point) order -- so "10" comes before "9":

* ``lower-id`` (default): the id alone, identical to pabutools' default
  ``lexico_tie_breaking`` (pabutools breaks ties on ``Project.name``, which is the
  pabulib ``project_id`` when a file is read with ``parse_pabulib``; ids are therefore
  the stable key here, never the human-readable name).
* ``more-votes``: more voters first (differs from the score on points and rankings).
* ``cheaper`` / ``dearer``: lower / higher cost first.
* ``lottery``: by the SHA-256 hex digest of ``"<seed>:<project id>"`` (UTF-8),
  ascending, with a ``tie_seed`` published before the count: anyone can redo it.

Outputs
-------
:func:`select` returns an :class:`Outcome`: the selected ids in selection order, budget
used/left and, for every project, an :class:`Explanation` with a machine-readable
``reason`` and the numbers a plain-language sentence needs.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from math import inf
from typing import Any

try:  # gmpy2's mpq is Fraction at C speed; it ships with pabutools. Optional.
    from gmpy2 import mpq as _Q
except ImportError:  # pragma: no cover - exercised by forcing _Q = Fraction in tests
    _Q = Fraction
from typing import Literal

# Ballot methods (pabulib ``vote_type``).
CHOOSE_ONE = "choose-1"
APPROVAL = "approval"
CUMULATIVE = "cumulative"
ORDINAL = "ordinal"
KNAPSACK = "knapsack"
METHODS: tuple[str, ...] = (CHOOSE_ONE, APPROVAL, CUMULATIVE, ORDINAL, KNAPSACK)
_APPROVAL_LIKE = frozenset({CHOOSE_ONE, APPROVAL, KNAPSACK})

# Selection rules (pabulib ``rule``).
TOP_K = "top-k"
GREEDY = "greedy"
GREEDY_NO_SKIP = "greedy-no-skip"
GREEDY_THRESHOLD = "greedy-threshold"
EQUAL_SHARES = "equalshares"
EQUAL_SHARES_ADD1 = "equalshares/add1"
GREEDY_RESERVE = "greedy-reserve"
RULES: tuple[str, ...] = (
    TOP_K,
    GREEDY,
    GREEDY_NO_SKIP,
    GREEDY_THRESHOLD,
    GREEDY_RESERVE,
    EQUAL_SHARES,
    EQUAL_SHARES_ADD1,
)
GREEDY_RULES = frozenset({GREEDY, GREEDY_NO_SKIP, GREEDY_THRESHOLD, GREEDY_RESERVE})

# Tie-breaks (module docstring).
TIE_LOWER_ID = "lower-id"
TIE_MORE_VOTES = "more-votes"
TIE_CHEAPER = "cheaper"
TIE_DEARER = "dearer"
TIE_LOTTERY = "lottery"
TIE_BREAKS: tuple[str, ...] = (TIE_LOWER_ID, TIE_MORE_VOTES, TIE_CHEAPER, TIE_DEARER, TIE_LOTTERY)

# Ordinal scorings.
BORDA = "borda"
BORDA_BALLOT = "borda-ballot"
FIRST_CHOICE = "first-choice"
ORDINAL_SCORINGS: tuple[str, ...] = (BORDA, BORDA_BALLOT, FIRST_CHOICE)
DEFAULT_ORDINAL_SCORING = BORDA
# The campaign setting's names for the two scorings it offers (BORDA_BALLOT is for tests
# against pabutools' own Borda).
ORDINAL_BORDA = BORDA
ORDINAL_FIRST_CHOICE = FIRST_CHOICE

# Reason codes used in explanations.
FITS_BUDGET = "fits_budget"
BUDGET_EXHAUSTED = "budget_exhausted"
BELOW_THRESHOLD = "below_threshold"
STOPPED_NO_SKIP = "stopped_no_skip"
NOT_REACHED = "not_reached"
IN_TOP_K = "top_k"
NOT_IN_TOP_K = "not_in_top_k"
EQUAL_SHARES_ROUND = "equal_shares_round"
FREE_PROJECT = "free_project"
COMPLETION = "completion"
TOO_EXPENSIVE_FOR_SUPPORTERS = "too_expensive_for_supporters"
NO_SUPPORTERS = "no_supporters"
EXCLUDED_BY_GROUP = "excluded_by_group"
RESERVE = "reserve"

Ballot = tuple[tuple[str, int], ...]
Ballots = Mapping[Ballot, int]
MesUtility = Literal["cost", "points"]


class RulesError(ValueError):
    """Invalid input to a counting or selection rule; ``code`` says which (for callers and tests)."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    cost: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class ProjectScore:
    project_id: str
    votes: int
    score: int


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a project was (not) selected. Fields not relevant to ``reason`` are None."""

    project_id: str
    selected: bool
    reason: str
    cost: int
    votes: int
    score: int
    # 1-based position in the order the rule considered projects (greedy, top-k),
    # or the MES round in which the project was funded.
    position: int | None = None
    round: int | None = None
    # Budget left just before the project was considered.
    budget_left: int | Fraction | None = None
    threshold: int | None = None
    # MES: rho (price per unit of utility) and the largest payment a supporter made.
    rho: Fraction | None = None
    max_payment: Fraction | None = None
    supporters: int | None = None
    # MES, unfunded: the money its supporters had left at the end.
    supporters_budget: Fraction | None = None
    # Exclusivity: the project's group, and the selected project that excluded it.
    group: str | None = None
    excluded_by: str | None = None
    # Reserve rule: the share of the cost the budget left had to cover, and what the
    # reserve paid on top of the budget left.
    reserve_share: Fraction | None = None
    reserve_used: int | None = None
    # The tie-break that ordered this project against one with the same score.
    tie_break: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    rule: str
    selected: tuple[str, ...]
    explanations: dict[str, Explanation]
    budget: int
    budget_used: int
    budget_left: int
    # MES only: the per-voter budget of the run that was kept (add1 raises it).
    per_voter_budget: Fraction | None = None
    mes_runs: int = 0
    extra: dict[str, object] = field(default_factory=dict)
    # Reserve rule: the winners funded from the reserve (also in ``selected``).
    selected_by_reserve: tuple[str, ...] = ()
    reserve_used: int = 0


# --------------------------------------------------------------------------- scores


def _ordinal_points(scoring: str, rank: int, length: int, max_length: int) -> int:
    if scoring == BORDA:
        return max(max_length - rank + 1, 0)
    if scoring == BORDA_BALLOT:
        return length - rank
    if scoring == FIRST_CHOICE:
        return 1 if rank == 1 else 0
    raise RulesError(f"unknown ordinal scoring {scoring!r}; use one of {ORDINAL_SCORINGS}")


def ballot_points(
    method: str,
    ballot: Ballot,
    *,
    ordinal_scoring: str = DEFAULT_ORDINAL_SCORING,
    ordinal_max_length: int = 0,
) -> dict[str, int]:
    """Points each project gets from one ballot under ``method``."""
    if method in _APPROVAL_LIKE:
        return {pid: 1 for pid, _ in ballot}
    if method == CUMULATIVE:
        return dict(ballot)
    if method == ORDINAL:
        n = len(ballot)
        return {pid: _ordinal_points(ordinal_scoring, rank, n, ordinal_max_length) for pid, rank in ballot}
    raise RulesError(f"unknown ballot method {method!r}; use one of {METHODS}")


def _max_ballot_length(ballots: Ballots) -> int:
    return max((len(b) for b in ballots), default=0)


def tally_scores(
    method: str,
    ballots: Ballots,
    *,
    ordinal_scoring: str = DEFAULT_ORDINAL_SCORING,
    ordinal_max_length: int | None = None,
    projects: Iterable[str] = (),
) -> dict[str, ProjectScore]:
    """Votes and score of each project named on a ballot (and of ``projects``, at 0)."""
    if method == ORDINAL and ordinal_scoring not in ORDINAL_SCORINGS:
        raise RulesError(f"unknown ordinal scoring {ordinal_scoring!r}")
    max_len = ordinal_max_length or _max_ballot_length(ballots)
    votes: dict[str, int] = dict.fromkeys(projects, 0)
    score: dict[str, int] = dict.fromkeys(projects, 0)
    approval_like = method in _APPROVAL_LIKE
    for ballot, count in ballots.items():
        if count < 0:
            raise RulesError("a ballot count cannot be negative")
        if approval_like:  # fast path: one point each, no per-ballot dict
            for pid, _ in ballot:
                votes[pid] = votes.get(pid, 0) + count
            continue
        points = ballot_points(method, ballot, ordinal_scoring=ordinal_scoring, ordinal_max_length=max_len)
        for pid, pts in points.items():
            votes[pid] = votes.get(pid, 0) + count
            score[pid] = score.get(pid, 0) + pts * count
    if approval_like:
        score = votes
    return {pid: ProjectScore(pid, votes[pid], score[pid]) for pid in votes}


# --------------------------------------------------------------------------- select


def _score_of(scores: Mapping[str, ProjectScore], pid: str) -> tuple[int, int]:
    s = scores.get(pid)
    return (0, 0) if s is None else (s.votes, s.score)


def tie_keys(
    projects: Sequence[Project],
    scores: Mapping[str, ProjectScore],
    tie_break: str = TIE_LOWER_ID,
    tie_seed: str = "",
) -> dict[str, tuple[Any, ...]]:
    """Each project's place among projects it ties with: smaller first (module docstring)."""
    if tie_break not in TIE_BREAKS:
        raise RulesError(f"unknown tie-break {tie_break!r}; use one of {TIE_BREAKS}", "unknown_tie_break")
    if tie_break == TIE_LOTTERY and not tie_seed:
        raise RulesError("a lottery tie-break needs a published seed", "lottery_without_seed")
    keys: dict[str, tuple[Any, ...]] = {}
    for p in projects:
        if tie_break == TIE_MORE_VOTES:
            keys[p.id] = (-_score_of(scores, p.id)[0], p.id)
        elif tie_break == TIE_CHEAPER:
            keys[p.id] = (p.cost, p.id)
        elif tie_break == TIE_DEARER:
            keys[p.id] = (-p.cost, p.id)
        elif tie_break == TIE_LOTTERY:
            keys[p.id] = (lottery_ticket(tie_seed, p.id), p.id)
        else:
            keys[p.id] = (p.id,)
    return keys


def lottery_ticket(seed: str, project_id: str) -> str:
    """The public lottery's number for a project: sha256("<seed>:<project id>"), hex."""
    return hashlib.sha256(f"{seed}:{project_id}".encode()).hexdigest()


def _ranked(
    projects: Sequence[Project],
    scores: Mapping[str, ProjectScore],
    ties: Mapping[str, tuple[Any, ...]],
    *,
    free_last: bool = False,
) -> list[Project]:
    # Higher score first, then the tie-break (lower id: pabutools' lexicographic default).
    # Greedy: a free project always fits, so where it goes changes no outcome; it goes
    # with the score-0 projects because pabutools' cost satisfaction gives it 0.
    def key(p: Project) -> tuple[int, tuple[Any, ...]]:
        score = _score_of(scores, p.id)[1]
        return (0 if free_last and p.cost == 0 else -score, ties[p.id])

    return sorted(projects, key=key)


def _check_projects(projects: Sequence[Project]) -> None:
    seen: set[str] = set()
    for p in projects:
        if p.id in seen:
            raise RulesError(f"duplicate project id {p.id!r}", "duplicate_project")
        if p.cost < 0:
            raise RulesError(f"project {p.id!r} has a negative cost", "negative_cost")
        seen.add(p.id)


class _Groups:
    """Exclusivity groups: at most one selected project per label (module docstring)."""

    def __init__(self, groups: Mapping[str, str] | None) -> None:
        self.of = {pid: label for pid, label in (groups or {}).items() if label}
        self.winner: dict[str, str] = {}

    def blocker(self, pid: str) -> str | None:
        """The selected project that excludes ``pid``, if any."""
        label = self.of.get(pid)
        return None if label is None else self.winner.get(label)

    def take(self, pid: str) -> None:
        label = self.of.get(pid)
        if label is not None:
            self.winner.setdefault(label, pid)


def select(
    rule: str,
    projects: Sequence[Project],
    scores: Mapping[str, ProjectScore],
    *,
    budget: int,
    ballots: Ballots | None = None,
    method: str = APPROVAL,
    k: int | None = None,
    threshold: int | None = None,
    threshold_on: Literal["score", "votes"] = "score",
    mes_utility: MesUtility | None = None,
    ordinal_scoring: str = DEFAULT_ORDINAL_SCORING,
    ordinal_max_length: int | None = None,
    greedy_completion: bool = False,
    groups: Mapping[str, str] | None = None,
    tie_break: str = TIE_LOWER_ID,
    tie_seed: str = "",
    reserve_share: Fraction | None = None,
    money_unit: int = 1,
) -> Outcome:
    """Run selection ``rule``; see the module docstring for the rules, groups and ties.

    ``ballots`` and ``method`` are needed for the equal-shares rules only; ``k`` for
    top-k, ``threshold`` for greedy-threshold (any greedy rule applies it when given),
    ``reserve_share`` (0 < share <= 1) for greedy-reserve. ``money_unit`` is one
    currency unit in the integer money of ``budget`` and costs (100 when they are
    counted in kopecks): MES add1 raises each voter's budget by one unit.
    """
    _check_projects(projects)
    if budget < 0:
        raise RulesError("the budget cannot be negative", "negative_budget")
    ties = tie_keys(projects, scores, tie_break, tie_seed)
    known = {p.id for p in projects}
    unknown_grouped = sorted(set(groups or {}) - known)
    if unknown_grouped:
        raise RulesError(f"exclusivity groups name unknown projects {unknown_grouped}", "unknown_grouped_project")
    if rule == TOP_K:
        if k is None or k < 0:
            raise RulesError("top-k needs a non-negative k", "top_k_without_k")
        out = _top_k(projects, scores, k, budget, ties, _Groups(groups))
    elif rule in GREEDY_RULES:
        if rule == GREEDY_THRESHOLD and threshold is None:
            raise RulesError("greedy-threshold needs a threshold", "threshold_missing")
        share = None
        if rule == GREEDY_RESERVE:
            if reserve_share is None or not 0 < reserve_share <= 1:
                raise RulesError("greedy-reserve needs a reserve share above 0 and at most 1", "reserve_share_invalid")
            share = Fraction(reserve_share)
        out = _greedy(
            rule,
            projects,
            scores,
            budget,
            ties,
            _Groups(groups),
            skip=rule not in (GREEDY_NO_SKIP, GREEDY_RESERVE),
            threshold=threshold,
            threshold_on=threshold_on,
            reserve_share=share,
        )
    elif rule in (EQUAL_SHARES, EQUAL_SHARES_ADD1):
        if ballots is None:
            raise RulesError(f"{rule} needs the ballots", "ballots_missing")
        if method not in METHODS:
            raise RulesError(f"unknown ballot method {method!r}", "unknown_method")
        utility = mes_utility or ("cost" if method in _APPROVAL_LIKE else "points")
        out = _equal_shares(
            rule,
            projects,
            scores,
            ballots,
            budget,
            ties,
            groups,
            method=method,
            utility=utility,
            ordinal_scoring=ordinal_scoring,
            ordinal_max_length=ordinal_max_length,
            greedy_completion=greedy_completion,
            money_unit=money_unit,
        )
    else:
        raise RulesError(f"unknown selection rule {rule!r}; use one of {RULES}", "unknown_rule")
    if tie_break != TIE_LOWER_ID:
        out.extra["tie_break"] = tie_break
    return out


def _explain(
    p: Project,
    scores: Mapping[str, ProjectScore],
    selected: bool,
    reason: str,
    **kw: object,
) -> Explanation:
    votes, score = _score_of(scores, p.id)
    return Explanation(p.id, selected, reason, p.cost, votes, score, **kw)  # type: ignore[arg-type]


def _top_k(
    projects: Sequence[Project],
    scores: Mapping[str, ProjectScore],
    k: int,
    budget: int,
    ties: Mapping[str, tuple[Any, ...]],
    groups: _Groups,
) -> Outcome:
    chosen: list[Project] = []
    expl: dict[str, Explanation] = {}
    for i, p in enumerate(_ranked(projects, scores, ties), start=1):
        blocker = groups.blocker(p.id)
        if blocker is not None:
            expl[p.id] = _explain(
                p, scores, False, EXCLUDED_BY_GROUP, position=i, group=groups.of[p.id], excluded_by=blocker
            )
        elif len(chosen) < k:
            chosen.append(p)
            groups.take(p.id)
            expl[p.id] = _explain(p, scores, True, IN_TOP_K, position=i)
        else:
            expl[p.id] = _explain(p, scores, False, NOT_IN_TOP_K, position=i)
    used = sum(p.cost for p in chosen)
    return Outcome(TOP_K, tuple(p.id for p in chosen), expl, budget, used, budget - used)


def _greedy(
    rule: str,
    projects: Sequence[Project],
    scores: Mapping[str, ProjectScore],
    budget: int,
    ties: Mapping[str, tuple[Any, ...]],
    groups: _Groups,
    *,
    skip: bool,
    threshold: int | None,
    threshold_on: str,
    initial: Sequence[Project] = (),
    reason_selected: str = FITS_BUDGET,
    reserve_share: Fraction | None = None,
) -> Outcome:
    expl: dict[str, Explanation] = {}
    chosen = [p.id for p in initial]
    for p in initial:
        groups.take(p.id)
    left = budget - sum(p.cost for p in initial)
    stopped = False
    taken = set(chosen)
    position = 0
    by_reserve: list[str] = []
    reserve_used = 0
    for p in _ranked(projects, scores, ties, free_last=True):
        if p.id in taken:
            continue
        position += 1
        votes, score = _score_of(scores, p.id)
        if threshold is not None and (votes if threshold_on == "votes" else score) < threshold:
            expl[p.id] = _explain(p, scores, False, BELOW_THRESHOLD, position=position, threshold=threshold)
            continue
        blocker = groups.blocker(p.id)
        if blocker is not None:
            expl[p.id] = _explain(
                p,
                scores,
                False,
                EXCLUDED_BY_GROUP,
                position=position,
                budget_left=left,
                group=groups.of[p.id],
                excluded_by=blocker,
            )
            continue
        if stopped:
            expl[p.id] = _explain(p, scores, False, NOT_REACHED, position=position, budget_left=left)
        elif p.cost <= left:
            expl[p.id] = _explain(p, scores, True, reason_selected, position=position, budget_left=left)
            chosen.append(p.id)
            groups.take(p.id)
            left -= p.cost
        elif reserve_share is not None and left >= reserve_share * p.cost:
            # The first project that does not fit, funded from the budget left plus a reserve.
            reserve_used = p.cost - left
            expl[p.id] = _explain(
                p,
                scores,
                True,
                RESERVE,
                position=position,
                budget_left=left,
                reserve_share=reserve_share,
                reserve_used=reserve_used,
            )
            chosen.append(p.id)
            groups.take(p.id)
            by_reserve.append(p.id)
            left = 0
            stopped = True
        else:
            reason = BUDGET_EXHAUSTED if skip else STOPPED_NO_SKIP
            kw: dict[str, object] = {"reserve_share": reserve_share} if reserve_share is not None else {}
            expl[p.id] = _explain(p, scores, False, reason, position=position, budget_left=left, **kw)
            stopped = not skip
    return Outcome(
        rule,
        tuple(chosen),
        expl,
        budget,
        budget - left,
        left,
        selected_by_reserve=tuple(by_reserve),
        reserve_used=reserve_used,
    )


# ---------------------------------------------------------------- equal shares core


@dataclass(slots=True)
class _MesRound:
    project: int
    rho: Any  # exact rational (mpq or Fraction)
    max_payment: Any


@dataclass(slots=True)
class _MesRun:
    per_voter: Fraction
    free: list[int]
    rounds: list[_MesRound]
    # Final state, kept so that leftovers are computed only for the run that is kept.
    hist: dict[int, dict[tuple[int, int], int]] = field(default_factory=dict)
    budgets: list[Any] = field(default_factory=list)
    # Projects dropped because a project of their exclusivity group was funded.
    excluded: dict[int, int] = field(default_factory=dict)

    def leftover(self) -> dict[int, Fraction]:
        """Money left among the supporters of each supported project not funded."""
        funded = {r.project for r in self.rounds}
        return {j: _frac(_available(h, self.budgets)) for j, h in self.hist.items() if j not in funded}


# Relative tolerance of the float screening in MES; float errors here are ~1e-12.
_ONE_PLUS = 1 + 1e-9
_ONE_MINUS = 1 - 1e-9


def _frac(q: Any) -> Fraction:
    return Fraction(int(q.numerator), int(q.denominator))


def _available(h: dict[tuple[int, int], int], budgets: list[Any]) -> Any:
    return sum((budgets[c] * w for (c, _), w in h.items()), _Q(0))


def _rho(h: dict[tuple[int, int], int], budgets: list[Any], cost: int, *, zero: Any, unaffordable: Any) -> Any:
    """pabutools' affordability: the smallest rho with sum min(b, rho*u) == cost.

    One loop for both arithmetics: floats (``zero=0.0``, ``unaffordable=inf``) screen
    candidates fast, exact fractions (``zero=_Q(0)``) decide.
    """
    entries = sorted(((budgets[c] / u, budgets[c], u, w) for (c, u), w in h.items()))
    contrib = zero
    denom = sum(u * w for _, _, u, w in entries)
    rho = unaffordable
    for _, b, u, w in entries:
        rho = (cost - contrib) / denom
        if rho * u <= b:
            break
        contrib += b * w
        denom -= u * w
    return rho


class _MesInstance:
    """Voter groups (identical ballots) as integer indices, built once per election.

    Exactness: pabutools computes MES with exact rationals (gmpy2 ``mpq``), and ties
    between projects with equal ``rho`` are common (equal costs, equal supporters), so
    floats with an epsilon alone could pick a different winner. Here:

    * voters who have paid the same amounts share a *budget class* whose budget is an
      exact rational (gmpy2 ``mpq`` when available, else ``fractions.Fraction``);
    * each project keeps a histogram ``(class, utility) -> weight`` of its supporters,
      so a round costs integer bookkeeping over the groups that paid, not over voters;
    * floats screen the candidates each round (cheap), and exact rationals decide:
      affordability when the float is within 1e-9 of the cost, and ``rho`` for every
      project within 1e-9 of the best, ties then going to the smaller project id.
      Float error here is around 1e-12, so the exact winner is always screened in.
    """

    def __init__(
        self,
        costs: list[int],
        groups: list[tuple[int, list[tuple[int, int]]]],
        n_voters: int,
        *,
        cost_utility: bool = False,
    ) -> None:
        self.costs = costs
        self.groups = groups  # (weight, [(project index, utility > 0), ...])
        self.n_voters = n_voters
        m = len(costs)
        # Per project: (group, utility) of its supporters, and the starting histogram.
        # With cost utility a supporter's utility is the project cost: keep bare group
        # indices then (no tuple per ballot entry), else (group, utility) pairs.
        supporters: list[list[Any]] = [[] for _ in range(m)]
        weight: dict[tuple[int, int], int] = {}  # (project, utility) -> voters
        get = weight.get
        for g, (w, items) in enumerate(groups):  # the hot loop of the setup
            for item in items:
                supporters[item[0]].append(g if cost_utility else (g, item[1]))
                weight[item] = get(item, 0) + w
        self.cost_utility = cost_utility
        self.supporters = supporters
        self.total_util = [0] * m
        self.start_hist: list[dict[tuple[int, int], int]] = [{} for _ in range(m)]
        for (j, u), w in weight.items():
            self.total_util[j] += w * u
            self.start_hist[j][(0, u)] = w
        # pabutools: a project without supporters is never part of MES; a supported
        # project that costs nothing is taken before the first round.
        self.candidates = [j for j in range(m) if self.total_util[j] > 0 and costs[j] > 0]
        self.free = [j for j in range(m) if self.total_util[j] > 0 and costs[j] == 0]

    def run(self, per_voter: Fraction, order: list[Any], group_of: list[str | None] | None = None) -> _MesRun:
        """One MES run; ``order`` holds each project's tie key (smaller wins a tie),
        ``group_of`` its exclusivity group (None: none)."""
        costs, groups = self.costs, self.groups
        # Class 0 is the starting budget; broke voters leave the histograms entirely.
        start = _Q(per_voter.numerator, per_voter.denominator)
        cls_budget: list[Any] = [start]
        cls_of_value: dict[Any, int] = {start: 0}
        fb: list[float] = [float(start)]
        cls = [0] * len(groups)
        hist = {j: dict(self.start_hist[j]) for j in self.candidates}
        # Free projects come first, in tie order; each takes its group (if any).
        free: list[int] = []
        taken_groups: set[str] = set()
        excluded: dict[int, int] = {}  # project -> the funded project of its group
        group_winner: dict[str, int] = {}
        for j in sorted(self.free, key=lambda j: order[j]):
            g = group_of[j] if group_of else None
            if g is not None and g in taken_groups:
                excluded[j] = group_winner[g]
                continue
            free.append(j)
            if g is not None:
                taken_groups.add(g)
                group_winner[g] = j
        if per_voter <= 0:
            return _MesRun(per_voter, free, [], hist, cls_budget, excluded)
        remaining = set(self.candidates)
        if group_of:
            for j in list(remaining):
                g = group_of[j]
                if g is not None and g in taken_groups:
                    remaining.discard(j)
                    excluded[j] = group_winner[g]
        funded: set[int] = set()
        # rho can only grow as budgets shrink, so last round's value is a lower bound
        # (pabutools prunes the same way). Floats screen, Fractions decide: see
        # _MesInstance's docstring.
        lower = {j: costs[j] / self.total_util[j] for j in remaining}
        rounds: list[_MesRound] = []
        while remaining:
            best_f = inf
            near: list[tuple[float, int]] = []
            for j in sorted(remaining, key=lambda j: lower[j]):
                if lower[j] > best_f * _ONE_PLUS:
                    break
                h = hist[j]
                cost = costs[j]
                available = sum(fb[c] * w for (c, _), w in h.items())
                if available < cost * _ONE_PLUS and (available < cost * _ONE_MINUS or _available(h, cls_budget) < cost):
                    remaining.discard(j)
                    continue
                rho_f = _rho(h, fb, cost, zero=0.0, unaffordable=inf)
                lower[j] = rho_f
                near.append((rho_f, j))
                best_f = min(best_f, rho_f)
            if not near:
                break
            # Exact rho for every project within float noise of the best; ties by id.
            best: Any = None
            best_j = -1
            for rho_f, j in near:
                if rho_f > best_f * _ONE_PLUS:
                    continue
                rho = _rho(hist[j], cls_budget, costs[j], zero=_Q(0), unaffordable=_Q(0))
                if best is None or rho < best or (rho == best and order[j] < order[best_j]):
                    best, best_j = rho, j
            assert best is not None  # noqa: S101 -- near is not empty
            s = best_j
            remaining.discard(s)
            funded.add(s)
            g_s = group_of[s] if group_of else None
            if g_s is not None:
                # A group's other projects are no longer eligible (module docstring).
                for j in list(remaining):
                    if group_of[j] == g_s:  # type: ignore[index]
                        remaining.discard(j)
                        excluded[j] = s
            # Every supporter pays min(budget, rho * utility): one new class per
            # (old class, utility), deduplicated by the resulting budget value.
            move: dict[tuple[int, int], int] = {}
            max_pay = _Q(0)
            sup = self.supporters[s]
            if self.cost_utility:
                sup = [(g, costs[s]) for g in sup]
            for g, u_s in sup:
                c = cls[g]
                if c < 0:
                    continue
                w, items = groups[g]
                key = (c, u_s)
                nc = move.get(key)
                if nc is None:
                    b = cls_budget[c]
                    pay = min(b, best * u_s)
                    max_pay = max(max_pay, pay)
                    nb = b - pay
                    if nb <= 0:
                        nc = -1
                    else:
                        nc = cls_of_value.get(nb, -2)
                        if nc == -2:
                            nc = len(cls_budget)
                            cls_budget.append(nb)
                            fb.append(float(nb))
                            cls_of_value[nb] = nc
                    move[key] = nc
                if nc == c:
                    continue
                cls[g] = nc
                for jj, u in items:
                    h = hist.get(jj)  # type: ignore[assignment]  # None is checked next
                    if h is None or jj in funded:
                        continue
                    k_old = (c, u)
                    left = h[k_old] - w
                    if left:
                        h[k_old] = left
                    else:
                        del h[k_old]
                    if nc >= 0:
                        k_new = (nc, u)
                        h[k_new] = h.get(k_new, 0) + w
            rounds.append(_MesRound(s, best, max_pay))
        return _MesRun(per_voter, free, rounds, hist, cls_budget, excluded)


def _mes_groups(
    projects: Sequence[Project],
    ballots: Ballots,
    *,
    method: str,
    utility: str,
    ordinal_scoring: str,
    ordinal_max_length: int | None,
) -> _MesInstance:
    index = {p.id: i for i, p in enumerate(projects)}
    costs = [p.cost for p in projects]
    max_len = ordinal_max_length or _max_ballot_length(ballots)
    merged: dict[tuple[tuple[int, int], ...], int] = {}
    n_voters = 0
    cost_utility = utility == "cost"
    approval_like = method in _APPROVAL_LIKE
    fast_groups: list[tuple[int, list[tuple[int, int]]]] = []
    # Shared (index, cost) tuples: no tuple is built per ballot on the fast path.
    cost_item = {p.id: (j, p.cost) for j, p in enumerate(projects)}
    for ballot, count in ballots.items():
        if count <= 0:
            if count < 0:
                raise RulesError("a ballot count cannot be negative")
            continue
        n_voters += count
        try:
            if approval_like and cost_utility:  # fast path for the common case
                items = [cost_item[pid] for pid, _ in ballot]
            else:
                points = ballot_points(
                    method,
                    ballot,
                    ordinal_scoring=ordinal_scoring,
                    ordinal_max_length=max_len,
                )
                # Cost utility counts every project named on the ballot (pabutools
                # Cost_Sat is "project in ballot" * cost); points only positive ones.
                items = [(index[pid], costs[index[pid]] if cost_utility else pts) for pid, pts in points.items()]
        except KeyError as exc:
            raise RulesError(f"a ballot names unknown project {exc.args[0]!r}") from None
        if approval_like and cost_utility:
            # Distinct ballots stay distinct here: no need to merge them again.
            fast_groups.append((count, items))
            continue
        key = tuple(sorted(it for it in items if it[1] > 0))
        merged[key] = merged.get(key, 0) + count
    groups = fast_groups + [(w, list(items)) for items, w in merged.items() if items]
    return _MesInstance(costs, groups, n_voters, cost_utility=cost_utility)


def _equal_shares(
    rule: str,
    projects: Sequence[Project],
    scores: Mapping[str, ProjectScore],
    ballots: Ballots,
    budget: int,
    ties: Mapping[str, tuple[Any, ...]],
    groups: Mapping[str, str] | None,
    *,
    method: str,
    utility: str,
    ordinal_scoring: str,
    ordinal_max_length: int | None,
    greedy_completion: bool,
    money_unit: int = 1,
) -> Outcome:
    if utility not in ("cost", "points"):
        raise RulesError(f"unknown MES utility {utility!r}; use 'cost' or 'points'")
    # The setup allocates one small container per ballot entry and creates no cycles;
    # the cyclic GC would keep rescanning them (it doubled the time on 100k voters).
    # Pausing it is process-wide but short, and it is restored even on errors.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        inst = _mes_groups(
            projects,
            ballots,
            method=method,
            utility=utility,
            ordinal_scoring=ordinal_scoring,
            ordinal_max_length=ordinal_max_length,
        )
        group_of = [(groups or {}).get(p.id) or None for p in projects] if groups else None
        order = [ties[p.id] for p in projects]
        run, runs = _mes_rounds(rule, inst, budget, order, group_of, money_unit)
    finally:
        if gc_was_enabled:
            gc.enable()
    return _mes_outcome(rule, projects, scores, budget, run, runs, greedy_completion, ties, groups)


def _mes_rounds(
    rule: str,
    inst: _MesInstance,
    budget: int,
    order: list[Any],
    group_of: list[str | None] | None = None,
    money_unit: int = 1,
) -> tuple[_MesRun, int]:
    """The MES run to keep (add1: the last feasible one) and how many runs it took."""
    costs = inst.costs
    runs = 0
    if inst.n_voters == 0:
        # pabutools returns the empty allocation without running MES.
        return _MesRun(Fraction(0), [], []), runs
    run = inst.run(Fraction(budget, inst.n_voters), order, group_of)
    runs = 1
    if rule == EQUAL_SHARES_ADD1:
        candidates = inst.candidates
        while True:
            chosen = {r.project for r in run.rounds}
            spent = sum(costs[j] for j in chosen)
            # A project dropped as unaffordable before its group's winner was funded is
            # not in run.excluded, yet it can no more be added than one dropped after.
            taken = {group_of[j] for j in (*chosen, *run.free)} - {None} if group_of else set()
            # Exhaustive: every supported project is funded, unaffordable, or excluded
            # by a funded project of its group.
            if all(
                j in chosen
                or j in run.excluded
                or (group_of is not None and group_of[j] in taken)
                or spent + costs[j] > budget
                for j in candidates
            ):
                break  # exhaustive among the supported projects
            nxt = inst.run(run.per_voter + money_unit, order, group_of)
            runs += 1
            if sum(costs[r.project] for r in nxt.rounds) > budget:
                break  # overspends: keep the previous outcome
            run = nxt
    return run, runs


def _mes_outcome(
    rule: str,
    projects: Sequence[Project],
    scores: Mapping[str, ProjectScore],
    budget: int,
    run: _MesRun,
    runs: int,
    greedy_completion: bool,
    ties: Mapping[str, tuple[Any, ...]],
    groups: Mapping[str, str] | None,
) -> Outcome:
    """Explanations for the kept MES run, then the optional greedy fill."""
    order = [p.id for p in projects]
    leftover = run.leftover()
    expl: dict[str, Explanation] = {}
    chosen_ids: list[str] = []
    for j in run.free:
        p = projects[j]
        chosen_ids.append(p.id)
        expl[p.id] = _explain(p, scores, True, FREE_PROJECT, round=0)
    spent = 0
    for i, r in enumerate(run.rounds, start=1):
        p = projects[r.project]
        chosen_ids.append(p.id)
        expl[p.id] = _explain(
            p,
            scores,
            True,
            EQUAL_SHARES_ROUND,
            round=i,
            rho=_frac(r.rho),
            max_payment=_frac(r.max_payment),
            supporters=_score_of(scores, p.id)[0],
            budget_left=budget - spent,
        )
        spent += p.cost
    if greedy_completion:
        # Fill what is left greedily by score, skipping what does not fit.
        initial = [projects[j] for j in run.free] + [projects[r.project] for r in run.rounds]
        comp = _greedy(
            rule,
            projects,
            scores,
            budget,
            ties,
            _Groups(groups),
            skip=True,
            threshold=None,
            threshold_on="score",
            initial=initial,
            reason_selected=COMPLETION,
        )
        index = {pid: j for j, pid in enumerate(order)}
        for pid, e in comp.explanations.items():
            j = index[pid]
            if not e.selected and j in leftover:
                e = replace(e, supporters_budget=leftover[j])
            expl[pid] = e
        chosen_ids = list(comp.selected)
    for j, p in enumerate(projects):
        if p.id in expl:
            continue
        if j in run.excluded:
            expl[p.id] = _explain(
                p,
                scores,
                False,
                EXCLUDED_BY_GROUP,
                group=(groups or {}).get(p.id),
                excluded_by=projects[run.excluded[j]].id,
            )
        elif j in leftover:
            expl[p.id] = _explain(
                p,
                scores,
                False,
                TOO_EXPENSIVE_FOR_SUPPORTERS,
                supporters_budget=leftover[j],
            )
        else:
            expl[p.id] = _explain(p, scores, False, NO_SUPPORTERS)
    cost_of = {p.id: p.cost for p in projects}
    used = sum(cost_of[pid] for pid in chosen_ids)
    return Outcome(
        rule,
        tuple(chosen_ids),
        expl,
        budget,
        used,
        budget - used,
        per_voter_budget=run.per_voter,
        mes_runs=runs,
    )
