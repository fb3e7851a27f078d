"""Exclusivity groups, tie-breaks and the reserve rule in votes.rules, against references
written here: pabutools has none of them.

* Greedy rules: a plain reference that walks projects by (score, tie key) and skips a
  project whose group already has a winner.
* MES: a voter-by-voter exact reference (Fractions, no grouping, no float screen); it
  equals pabutools without groups (checked), and votes.rules with them.
* Brute force: whatever the rule, no two selected projects share a group, and the
  spend never exceeds the budget (the reserve aside).
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.votes import pabutools_ref as ref
from tests.votes.test_rules import elections
from votes import rules

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GREEDY_CASES = [rules.GREEDY, rules.GREEDY_NO_SKIP, rules.GREEDY_THRESHOLD]


@st.composite
def grouped(draw: Any, method: str) -> dict[str, Any]:
    e = draw(elections(method))
    labels = draw(
        st.lists(st.sampled_from(["", "", "g1", "g2"]), min_size=len(e["projects"]), max_size=len(e["projects"]))
    )
    e["groups"] = {p.id: label for p, label in zip(e["projects"], labels, strict=True) if label}
    return e


def _scores(e: dict[str, Any]) -> dict[str, rules.ProjectScore]:
    return rules.tally_scores(e["method"], e["ballots"], projects=[p.id for p in e["projects"]])


def _tie_key(p: rules.Project, scores: dict[str, rules.ProjectScore], tie: str, seed: str) -> tuple[Any, ...]:
    if tie == rules.TIE_MORE_VOTES:
        return (-scores[p.id].votes, p.id)
    if tie == rules.TIE_CHEAPER:
        return (p.cost, p.id)
    if tie == rules.TIE_DEARER:
        return (-p.cost, p.id)
    if tie == rules.TIE_LOTTERY:
        return (hashlib.sha256(f"{seed}:{p.id}".encode()).hexdigest(), p.id)
    return (p.id,)


def greedy_reference(e: dict[str, Any], *, no_skip: bool, threshold: int | None, tie: str, seed: str = "") -> list[str]:
    scores = _scores(e)
    order = sorted(
        e["projects"],
        key=lambda p: (0 if p.cost == 0 else -scores[p.id].score, _tie_key(p, scores, tie, seed)),
    )
    left, chosen, used_groups = e["budget"], [], set()
    for p in order:
        if threshold is not None and scores[p.id].score < threshold:
            continue
        group = e["groups"].get(p.id)
        if group in used_groups:
            continue
        if p.cost <= left:
            chosen.append(p.id)
            left -= p.cost
            if group:
                used_groups.add(group)
        elif no_skip:
            break
    return chosen


def greedy_reserve_reference(
    e: dict[str, Any], *, reserve_share: Fraction, threshold: int | None = None, tie: str = rules.TIE_LOWER_ID
) -> list[str]:
    """Poznań's rule as its regulation reads: down the greedy order, the first project that
    does not fit is funded when the budget left covers `reserve_share` of its cost, and
    counting stops at it either way."""
    scores = _scores(e)
    order = sorted(
        e["projects"], key=lambda p: (0 if p.cost == 0 else -scores[p.id].score, _tie_key(p, scores, tie, ""))
    )
    left, chosen, used_groups = e["budget"], [], set()
    for p in order:
        if threshold is not None and scores[p.id].score < threshold:
            continue
        group = e["groups"].get(p.id)
        if group in used_groups:
            continue
        if p.cost > left:
            if left >= reserve_share * p.cost:
                chosen.append(p.id)
            break
        chosen.append(p.id)
        left -= p.cost
        if group:
            used_groups.add(group)
    return chosen


def top_k_reference(e: dict[str, Any], *, k: int) -> list[str]:
    """The k highest scores (lower id first among equals), skipping a project whose group
    already has a winner."""
    scores = _scores(e)
    used: set[str] = set()
    chosen: list[str] = []
    for p in sorted(e["projects"], key=lambda p: (-scores[p.id].score, p.id)):
        if len(chosen) == k:
            break
        if e["groups"].get(p.id) in used:
            continue
        chosen.append(p.id)
        if e["groups"].get(p.id):
            used.add(e["groups"][p.id])
    return chosen


def mes_reference(
    e: dict[str, Any], *, utility: str, groups: dict[str, str], tie: str = rules.TIE_LOWER_ID
) -> list[str]:
    """MES exactly as defined, one voter at a time (slow, obviously right)."""
    scores = _scores(e)
    voters: list[dict[str, int]] = []
    for ballot, count in e["ballots"].items():
        pts = rules.ballot_points(
            e["method"], ballot, ordinal_max_length=max((len(b) for b in e["ballots"]), default=0)
        )
        voters += [{pid: v for pid, v in pts.items() if v > 0}] * count
    if not voters:
        return []
    cost = {p.id: p.cost for p in e["projects"]}
    budget = [Fraction(e["budget"], len(voters))] * len(voters)
    util = [{pid: (cost[pid] if utility == "cost" else v) for pid, v in u.items()} for u in voters]
    chosen: list[str] = []
    used: set[str] = set()
    supported = [p for p in e["projects"] if any(p.id in u for u in util)]
    for p in sorted((p for p in supported if p.cost == 0), key=lambda p: _tie_key(p, scores, tie, "")):
        if groups.get(p.id) not in used:
            chosen.append(p.id)
            if groups.get(p.id):
                used.add(groups[p.id])
    remaining = [p for p in supported if p.cost > 0 and groups.get(p.id) not in used]
    while True:
        best: tuple[Fraction, tuple[Any, ...], rules.Project] | None = None
        for p in remaining:
            sup = [i for i, u in enumerate(util) if p.id in u]
            if sum(budget[i] for i in sup) < p.cost:
                continue
            # Smallest rho with sum(min(b_i, rho * u_i)) == cost.
            sup.sort(key=lambda i: budget[i] / util[i][p.id])
            paid, denom = Fraction(0), sum(util[i][p.id] for i in sup)
            rho = None
            for i in sup:
                candidate = (p.cost - paid) / denom
                if candidate * util[i][p.id] <= budget[i]:
                    rho = candidate
                    break
                paid += budget[i]
                denom -= util[i][p.id]
            assert rho is not None
            key = (rho, _tie_key(p, scores, tie, ""), p)
            if best is None or key[:2] < best[:2]:
                best = key
        if best is None:
            return chosen
        rho, _, p = best
        for i, u in enumerate(util):
            if p.id in u:
                budget[i] -= min(budget[i], rho * u[p.id])
        chosen.append(p.id)
        group = groups.get(p.id)
        if group:
            used.add(group)
        remaining = [q for q in remaining if q.id != p.id and (not group or groups.get(q.id) != group)]


def _assert_one_per_group(selected: tuple[str, ...], groups: dict[str, str]) -> None:
    labels = [groups[pid] for pid in selected if pid in groups]
    assert len(labels) == len(set(labels)), (selected, groups)


@pytest.mark.parametrize("rule", GREEDY_CASES)
@pytest.mark.parametrize("tie", rules.TIE_BREAKS)
@SETTINGS
@given(data=st.data(), threshold=st.integers(0, 6))
def test_greedy_rules_with_groups_and_ties_equal_the_reference(rule: str, tie: str, data: Any, threshold: int) -> None:
    e = data.draw(grouped(data.draw(st.sampled_from([rules.APPROVAL, rules.CUMULATIVE]))))
    seed = "published-seed-2026"
    limit = threshold if rule == rules.GREEDY_THRESHOLD else None
    out = rules.select(
        rule,
        e["projects"],
        _scores(e),
        budget=e["budget"],
        threshold=limit,
        groups=e["groups"],
        tie_break=tie,
        tie_seed=seed,
    )
    expected = greedy_reference(e, no_skip=rule == rules.GREEDY_NO_SKIP, threshold=limit, tie=tie, seed=seed)
    assert list(out.selected) == expected
    _assert_one_per_group(out.selected, e["groups"])
    for pid, ex in out.explanations.items():
        if ex.reason == rules.EXCLUDED_BY_GROUP:
            assert ex.excluded_by in out.selected
            assert e["groups"][ex.excluded_by] == e["groups"][pid]


@pytest.mark.parametrize("method", [rules.APPROVAL, rules.CUMULATIVE])
@SETTINGS
@given(data=st.data(), k=st.integers(0, 5))
def test_top_k_takes_the_next_project_when_one_is_excluded(method: str, data: Any, k: int) -> None:
    e = data.draw(grouped(method))
    out = rules.select(rules.TOP_K, e["projects"], _scores(e), budget=e["budget"], k=k, groups=e["groups"])
    e_all = dict(e, budget=10**9)
    ranked = greedy_reference(e_all, no_skip=False, threshold=None, tie=rules.TIE_LOWER_ID)
    # Greedy with an unlimited budget and zero-cost projects aside is the top-k order.
    expected = top_k_reference(e, k=k)
    assert list(out.selected) == expected
    assert set(expected) <= set(ranked) | {p.id for p in e["projects"] if p.cost == 0}


@pytest.mark.parametrize("tie", [rules.TIE_LOWER_ID, rules.TIE_CHEAPER, rules.TIE_MORE_VOTES])
@SETTINGS
@given(
    data=st.data(), share=st.sampled_from([Fraction(1, 2), Fraction(4, 5), Fraction(1)]), threshold=st.integers(0, 4)
)
def test_greedy_reserve_with_groups_and_ties_equals_the_reference(
    tie: str, data: Any, share: Fraction, threshold: int
) -> None:
    e = data.draw(grouped(data.draw(st.sampled_from([rules.APPROVAL, rules.CUMULATIVE]))))
    out = rules.select(
        rules.GREEDY_RESERVE,
        e["projects"],
        _scores(e),
        budget=e["budget"],
        reserve_share=share,
        threshold=threshold,
        groups=e["groups"],
        tie_break=tie,
    )
    assert list(out.selected) == greedy_reserve_reference(e, reserve_share=share, threshold=threshold, tie=tie)
    _assert_one_per_group(out.selected, e["groups"])


MES_CASES = [(rules.APPROVAL, "cost"), (rules.CUMULATIVE, "points"), (rules.ORDINAL, "points")]


@pytest.mark.parametrize(("method", "utility"), MES_CASES)
@SETTINGS
@given(data=st.data())
def test_the_mes_reference_equals_pabutools_without_groups(method: str, utility: str, data: Any) -> None:
    e = data.draw(elections(method))
    inst, prof, _ = ref.build(e["projects"], e["ballots"], e["budget"], method=method)
    expected = ref.names(ref.mes_allocation(inst, prof, utility=utility, add1=False))
    assert sorted(mes_reference(e, utility=utility, groups={})) == sorted(expected)


@pytest.mark.parametrize(("method", "utility"), MES_CASES)
@pytest.mark.parametrize("tie", [rules.TIE_LOWER_ID, rules.TIE_CHEAPER, rules.TIE_MORE_VOTES])
@SETTINGS
@given(data=st.data())
def test_mes_with_groups_and_ties_equals_the_reference(method: str, utility: str, tie: str, data: Any) -> None:
    e = data.draw(grouped(method))
    out = rules.select(
        rules.EQUAL_SHARES,
        e["projects"],
        _scores(e),
        budget=e["budget"],
        ballots=e["ballots"],
        method=method,
        mes_utility=utility,  # type: ignore[arg-type]
        groups=e["groups"],
        tie_break=tie,
    )
    assert sorted(out.selected) == sorted(mes_reference(e, utility=utility, groups=e["groups"], tie=tie))
    _assert_one_per_group(out.selected, e["groups"])


@SETTINGS
@given(data=st.data(), completion=st.booleans())
def test_mes_add1_with_groups_selects_at_most_one_per_group_within_budget(data: Any, completion: bool) -> None:
    e = data.draw(grouped(rules.APPROVAL))
    out = rules.select(
        rules.EQUAL_SHARES_ADD1,
        e["projects"],
        _scores(e),
        budget=e["budget"],
        ballots=e["ballots"],
        groups=e["groups"],
        greedy_completion=completion,
    )
    _assert_one_per_group(out.selected, e["groups"])
    assert out.budget_used <= e["budget"]


def test_mes_add1_keeps_the_first_run_once_the_one_group_is_taken() -> None:
    """A design list: MES funds design 4 on the first run; 3 was dropped as unaffordable
    before 4 took the group, and can no more be added than the others. The outcome is
    exhaustive, so add1 must not raise the budgets until another design wins (it did: 3)."""
    costs = {"1": 4_000_000, "2": 6_000_000, "3": 6_000_000, "4": 3_000_000}
    ballots: dict[tuple[tuple[str, int], ...], int] = {
        (("3", 1), ("4", 1)): 1,
        (("2", 1), ("3", 1)): 1,
        (("3", 1),): 1,
        (("2", 1),): 1,
        (("1", 1),): 1,
        (("4", 1),): 1,
        (("1", 1), ("4", 1)): 1,
        (("2", 1), ("3", 1), ("4", 1)): 1,
        (("1", 1), ("3", 1), ("4", 1)): 1,
    }
    e: dict[str, Any] = {
        "method": rules.APPROVAL,
        "projects": [rules.Project(pid, cost) for pid, cost in costs.items()],
        "ballots": ballots,
        "budget": 10_000_000,
        "groups": dict.fromkeys(costs, "park"),
    }
    assert mes_reference(e, utility="cost", groups=e["groups"]) == ["4"]
    out = rules.select(
        rules.EQUAL_SHARES_ADD1, e["projects"], _scores(e), budget=e["budget"], ballots=ballots, groups=e["groups"]
    )
    assert out.selected == ("4",)


@SETTINGS
@given(data=st.data())
def test_mes_add1_in_one_group_keeps_plain_mes_when_it_funds_a_project(data: Any) -> None:
    e = data.draw(elections(rules.APPROVAL))
    e["groups"] = {p.id: "one" for p in e["projects"]}
    plain = mes_reference(e, utility="cost", groups=e["groups"])
    out = rules.select(
        rules.EQUAL_SHARES_ADD1, e["projects"], _scores(e), budget=e["budget"], ballots=e["ballots"], groups=e["groups"]
    )
    if plain:
        assert list(out.selected) == plain
    assert len(out.selected) <= 1


def _poznan(votes: dict[str, int], costs: dict[str, int]) -> tuple[list[rules.Project], dict[str, rules.ProjectScore]]:
    projects = [rules.Project(pid, cost) for pid, cost in costs.items()]
    ballots: dict[tuple[tuple[str, int], ...], int] = {((pid, 1),): n for pid, n in votes.items()}
    return projects, rules.tally_scores(rules.CHOOSE_ONE, ballots, projects=list(costs))


def test_reserve_funds_the_next_project_when_the_budget_left_covers_its_share() -> None:
    projects, scores = _poznan({"A": 90, "B": 80, "C": 70, "D": 60}, {"A": 50, "B": 30, "C": 24, "D": 1})
    out = rules.select(rules.GREEDY_RESERVE, projects, scores, budget=100, reserve_share=Fraction(4, 5))
    # 100 - 50 - 30 = 20 left; C costs 24 and 20 >= 0.8 * 24 = 19.2: from the reserve.
    assert out.selected == ("A", "B", "C")
    assert out.selected_by_reserve == ("C",)
    c = out.explanations["C"]
    assert c.reason == rules.RESERVE
    assert c.budget_left == 20
    assert c.reserve_used == 4
    assert out.reserve_used == 4
    assert out.budget_used == 100
    assert out.budget_left == 0
    # Counting stops there, as in Poznań: D (1) is not reached.
    assert out.explanations["D"].reason == rules.NOT_REACHED


def test_reserve_stops_like_no_skip_when_the_budget_left_is_short() -> None:
    projects, scores = _poznan({"A": 90, "B": 80, "C": 70}, {"A": 50, "B": 30, "C": 26})
    out = rules.select(rules.GREEDY_RESERVE, projects, scores, budget=100, reserve_share=Fraction(4, 5))
    # 20 < 0.8 * 26 = 20.8: nothing from the reserve, and C stops the count.
    assert out.selected == ("A", "B")
    assert out.selected_by_reserve == ()
    assert out.explanations["C"].reason == rules.STOPPED_NO_SKIP


def test_reserve_skips_an_excluded_project_and_a_project_below_the_threshold() -> None:
    projects, scores = _poznan({"A": 90, "B": 80, "C": 70, "D": 60}, {"A": 60, "B": 50, "C": 5, "D": 45})
    out = rules.select(
        rules.GREEDY_RESERVE,
        projects,
        scores,
        budget=100,
        reserve_share=Fraction(4, 5),
        groups={"A": "plot", "B": "plot"},
        threshold=65,
    )
    # B is excluded by A, D is below 65 votes; C fits; nothing left for the reserve.
    assert out.selected == ("A", "C")
    assert out.explanations["B"].reason == rules.EXCLUDED_BY_GROUP
    assert out.explanations["B"].excluded_by == "A"
    assert out.explanations["D"].reason == rules.BELOW_THRESHOLD


def test_every_tie_break_orders_two_tied_projects_its_own_way() -> None:
    projects = [rules.Project("1", 10), rules.Project("2", 5)]
    ballots = {(("1", 2), ("2", 1)): 1, (("2", 1),): 1}  # both score 2; project 2 has two voters
    scores = rules.tally_scores(rules.CUMULATIVE, ballots)
    first = {
        tie: rules.select(rules.GREEDY, projects, scores, budget=10, tie_break=tie, tie_seed="s").selected[0]
        for tie in (rules.TIE_LOWER_ID, rules.TIE_MORE_VOTES, rules.TIE_CHEAPER, rules.TIE_DEARER)
    }
    assert first == {"lower-id": "1", "more-votes": "2", "cheaper": "2", "dearer": "1"}


def test_the_lottery_is_the_published_hash_order_and_needs_a_seed() -> None:
    projects = [rules.Project(str(i), 1) for i in range(1, 9)]
    scores = rules.tally_scores(rules.APPROVAL, {tuple((p.id, 1) for p in projects): 1})
    seed = "c0ffee"
    out = rules.select(rules.GREEDY, projects, scores, budget=3, tie_break=rules.TIE_LOTTERY, tie_seed=seed)
    tickets = sorted(projects, key=lambda p: hashlib.sha256(f"{seed}:{p.id}".encode()).hexdigest())
    assert list(out.selected) == [p.id for p in tickets[:3]]
    other = rules.select(rules.GREEDY, projects, scores, budget=3, tie_break=rules.TIE_LOTTERY, tie_seed="another")
    assert other.selected != out.selected  # a different seed draws differently (fixed seeds: not by chance)
    with pytest.raises(rules.RulesError) as missing:
        rules.select(rules.GREEDY, projects, scores, budget=3, tie_break=rules.TIE_LOTTERY)
    assert missing.value.code == "lottery_without_seed"


def test_bad_parameters_are_refused_with_their_code() -> None:
    projects = [rules.Project("a", 1)]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"tie_break": "coin"}, rules.GREEDY, "unknown_tie_break"),
        ({"groups": {"zz": "g"}}, rules.GREEDY, "unknown_grouped_project"),
        ({}, rules.GREEDY_RESERVE, "reserve_share_invalid"),
        ({"reserve_share": Fraction(3, 2)}, rules.GREEDY_RESERVE, "reserve_share_invalid"),
    ]
    for kw, rule, code in cases:
        with pytest.raises(rules.RulesError) as refused:
            rules.select(rule, projects, {}, budget=1, **kw)
        assert refused.value.code == code
