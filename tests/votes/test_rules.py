"""votes.rules against pabutools on generated elections (hypothesis), plus unit checks.

Pure Python: no database, runs with ``-p no:django`` and inside the Django suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.votes import pabutools_ref as ref
from votes import rules

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elections(draw: Any, method: str, zero_cost: bool = False) -> dict[str, Any]:
    n = draw(st.integers(1, 6))
    # Few distinct costs and small counts make ties (equal scores, equal rho) common.
    low = 0 if zero_cost else 1
    costs = draw(st.lists(st.sampled_from([low, 2, 3, 5, 6, 10]), min_size=n, max_size=n))
    ids = draw(
        st.lists(
            st.sampled_from(["1", "2", "9", "10", "a", "B", "p1", "p10"]),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    projects = [rules.Project(pid, c) for pid, c in zip(ids, costs, strict=True)]
    ballots: dict[rules.Ballot, int] = {}
    for _ in range(draw(st.integers(0, 7))):
        if method == rules.CHOOSE_ONE:
            chosen = [draw(st.sampled_from(ids))]
        else:
            chosen = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=n, unique=True))
        if method == rules.CUMULATIVE:
            ballot = tuple(sorted((pid, draw(st.integers(1, 4))) for pid in chosen))
        elif method == rules.ORDINAL:
            ballot = tuple(sorted((pid, r) for r, pid in enumerate(chosen, start=1)))
        else:
            ballot = tuple(sorted((pid, 1) for pid in chosen))
        ballots[ballot] = ballots.get(ballot, 0) + draw(st.integers(1, 4))
    budget = draw(st.integers(0, sum(costs) + 3))
    return {
        "projects": projects,
        "ballots": ballots,
        "budget": budget,
        "method": method,
    }


def _scores(e: Mapping[str, Any], **kw: Any) -> dict[str, rules.ProjectScore]:
    return rules.tally_scores(e["method"], e["ballots"], projects=[p.id for p in e["projects"]], **kw)


def _check_explanations(out: rules.Outcome, projects: list[rules.Project]) -> None:
    """Every project is explained, consistently with the selection."""
    assert set(out.explanations) == {p.id for p in projects}
    for pid, ex in out.explanations.items():
        assert ex.selected == (pid in out.selected), ex
        assert ex.reason
    assert out.budget_used == sum(p.cost for p in projects if p.id in out.selected)


APPROVAL_LIKE = [rules.CHOOSE_ONE, rules.APPROVAL, rules.KNAPSACK]
ALL_METHODS = [*APPROVAL_LIKE, rules.CUMULATIVE, rules.ORDINAL]


@pytest.mark.parametrize("method", ALL_METHODS)
@SETTINGS
@given(data=st.data())
def test_greedy_equals_pabutools(method: str, data: st.DataObject) -> None:
    e = data.draw(elections(method, zero_cost=True))
    ours = rules.select(rules.GREEDY, e["projects"], _scores(e), budget=e["budget"])
    inst, prof, cardinal = ref.build(e["projects"], e["ballots"], e["budget"], method=method)
    assert list(ours.selected) == ref.greedy(inst, prof, cardinal)
    _check_explanations(ours, e["projects"])
    assert ours.budget_used + ours.budget_left == e["budget"]
    assert ours.budget_used == sum(p.cost for p in e["projects"] if p.id in ours.selected)


@pytest.mark.parametrize("method", [rules.APPROVAL, rules.CUMULATIVE])
@SETTINGS
@given(data=st.data(), threshold=st.integers(0, 12))
def test_greedy_threshold_equals_pabutools_on_eligible(method: str, data: st.DataObject, threshold: int) -> None:
    e = data.draw(elections(method))
    scores = _scores(e)
    ours = rules.select(
        rules.GREEDY_THRESHOLD,
        e["projects"],
        scores,
        budget=e["budget"],
        threshold=threshold,
    )
    keep = {pid for pid, s in scores.items() if s.score >= threshold}
    inst, prof, cardinal = ref.build(e["projects"], e["ballots"], e["budget"], method=method, keep=keep)
    assert list(ours.selected) == ref.greedy(inst, prof, cardinal)
    for pid, ex in ours.explanations.items():
        assert (ex.reason == rules.BELOW_THRESHOLD) == (pid not in keep)


@pytest.mark.parametrize("method", [rules.APPROVAL, rules.CUMULATIVE])
@SETTINGS
@given(data=st.data(), k=st.integers(0, 7))
def test_top_k_equals_pabutools_unit_cost_greedy(method: str, data: st.DataObject, k: int) -> None:
    # Top-k is greedy with every cost 1 and a budget of k.
    e = data.draw(elections(method))
    ours = rules.select(rules.TOP_K, e["projects"], _scores(e), budget=e["budget"], k=k)
    inst, prof, cardinal = ref.build(e["projects"], e["ballots"], k, method=method, cost_override=1)
    assert list(ours.selected) == ref.greedy(inst, prof, cardinal)


@pytest.mark.parametrize("method", [rules.APPROVAL, rules.CUMULATIVE])
@SETTINGS
@given(data=st.data())
def test_greedy_no_skip_is_the_greedy_prefix(method: str, data: st.DataObject) -> None:
    # pabutools has no no-skip rule: its greedy order, cut at the first project that
    # does not fit, is the reference.
    e = data.draw(elections(method))
    scores = _scores(e)
    ours = rules.select(rules.GREEDY_NO_SKIP, e["projects"], scores, budget=e["budget"])
    inst, prof, cardinal = ref.build(e["projects"], e["ballots"], 10**9, method=method)
    order = ref.greedy(inst, prof, cardinal)  # everything fits: the full pabutools order
    cost = {p.id: p.cost for p in e["projects"]}
    expected, left = [], e["budget"]
    for pid in order:
        if cost[pid] > left:
            break
        expected.append(pid)
        left -= cost[pid]
    assert list(ours.selected) == expected
    stops = [x for x in ours.explanations.values() if x.reason == rules.STOPPED_NO_SKIP]
    assert len(stops) <= 1
    if stops:
        assert stops[0].cost > stops[0].budget_left


MES_CASES = [
    (rules.CHOOSE_ONE, "cost"),
    (rules.APPROVAL, "cost"),
    (rules.KNAPSACK, "cost"),
    (rules.CUMULATIVE, "points"),
    (rules.CUMULATIVE, "cost"),
    (rules.ORDINAL, "points"),
]


@pytest.mark.parametrize(("method", "utility"), MES_CASES)
@SETTINGS
@given(data=st.data())
def test_equal_shares_equals_pabutools(method: str, utility: str, data: st.DataObject) -> None:
    e = data.draw(elections(method))
    ours = rules.select(
        rules.EQUAL_SHARES,
        e["projects"],
        _scores(e),
        budget=e["budget"],
        ballots=e["ballots"],
        method=method,
        mes_utility=utility,  # type: ignore[arg-type]
    )
    inst, prof, _ = ref.build(e["projects"], e["ballots"], e["budget"], method=method)
    assert list(ours.selected) == ref.mes(inst, prof, utility=utility, add1=False, completion=False)
    assert ours.budget_used <= e["budget"]


@pytest.mark.parametrize(("method", "utility"), MES_CASES)
@pytest.mark.parametrize("completion", [False, True])
@SETTINGS
@given(data=st.data())
def test_equal_shares_add1_equals_pabutools(method: str, utility: str, completion: bool, data: st.DataObject) -> None:
    e = data.draw(elections(method))
    ours = rules.select(
        rules.EQUAL_SHARES_ADD1,
        e["projects"],
        _scores(e),
        budget=e["budget"],
        ballots=e["ballots"],
        method=method,
        mes_utility=utility,  # type: ignore[arg-type]
        greedy_completion=completion,
    )
    inst, prof, _ = ref.build(e["projects"], e["ballots"], e["budget"], method=method)
    expected = ref.mes(inst, prof, utility=utility, add1=True, completion=completion)
    assert list(ours.selected) == expected
    _check_explanations(ours, e["projects"])
    assert ours.budget_used <= e["budget"]


@SETTINGS
@given(data=st.data())
def test_equal_shares_with_free_projects_equals_pabutools_as_a_set(
    data: st.DataObject,
) -> None:
    # pabutools adds supported zero-cost projects first, in set order: compare sets.
    e = data.draw(elections(rules.APPROVAL, zero_cost=True))
    ours = rules.select(
        rules.EQUAL_SHARES,
        e["projects"],
        _scores(e),
        budget=e["budget"],
        ballots=e["ballots"],
    )
    inst, prof, _ = ref.build(e["projects"], e["ballots"], e["budget"], method=rules.APPROVAL)
    expected = ref.mes(inst, prof, utility="cost", add1=False, completion=False)
    assert sorted(ours.selected) == sorted(expected)


@SETTINGS
@given(data=st.data())
def test_equal_shares_without_gmpy2_gives_the_same_outcome(
    data: st.DataObject, monkeypatch_module: pytest.MonkeyPatch
) -> None:
    e = data.draw(elections(rules.CUMULATIVE))
    kw = {"budget": e["budget"], "ballots": e["ballots"], "method": rules.CUMULATIVE}
    fast = rules.select(rules.EQUAL_SHARES_ADD1, e["projects"], _scores(e), **kw)
    monkeypatch_module.setattr(rules, "_Q", Fraction)
    try:
        slow = rules.select(rules.EQUAL_SHARES_ADD1, e["projects"], _scores(e), **kw)
    finally:
        monkeypatch_module.undo()
    assert fast == slow


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@SETTINGS
@given(data=st.data())
def test_borda_ballot_scoring_equals_pabutools_borda(data: st.DataObject) -> None:
    from pabutools.election import Additive_Borda_Sat, OrdinalBallot, OrdinalProfile

    e = data.draw(elections(rules.ORDINAL))
    ours = _scores(e, ordinal_scoring=rules.BORDA_BALLOT)
    pb = {p.id: ref.PbProject(p.id, p.cost) for p in e["projects"]}
    profile = OrdinalProfile()
    for ballot, count in e["ballots"].items():
        ranked = [pid for pid, _ in sorted(ballot, key=lambda x: x[1])]
        for _ in range(count):
            profile.append(OrdinalBallot([pb[pid] for pid in ranked]))
    inst = ref.Instance(pb.values(), budget_limit=e["budget"])
    sats = profile.as_sat_profile(Additive_Borda_Sat)
    for pid, project in pb.items():
        assert ours[pid].score == sum(s.sat([project]) for s in sats), inst


@pytest.mark.parametrize("method", [rules.APPROVAL, rules.CUMULATIVE])
@SETTINGS
@given(data=st.data())
def test_tally_equals_pabutools_scores(method: str, data: st.DataObject) -> None:
    e = data.draw(elections(method))
    ours = _scores(e)
    inst, prof, cardinal = ref.build(e["projects"], e["ballots"], e["budget"], method=method)
    for project in inst:
        if cardinal:
            assert ours[project.name].score == prof.total_score(project)
            assert ours[project.name].votes == sum(1 for b in prof if project in b)
        else:
            assert ours[project.name].votes == prof.approval_score(project)
            assert ours[project.name].score == ours[project.name].votes


def test_ordinal_scorings_on_one_ballot() -> None:
    ballots = {(("a", 1), ("b", 2)): 2, (("c", 1),): 1}
    borda = rules.tally_scores(rules.ORDINAL, ballots, ordinal_max_length=3)
    assert {k: v.score for k, v in borda.items()} == {"a": 6, "b": 4, "c": 3}
    first = rules.tally_scores(rules.ORDINAL, ballots, ordinal_scoring=rules.FIRST_CHOICE)
    assert {k: v.score for k, v in first.items()} == {"a": 2, "b": 0, "c": 1}
    assert {k: v.votes for k, v in first.items()} == {"a": 2, "b": 2, "c": 1}


def test_ties_go_to_the_smaller_id_in_code_point_order() -> None:
    projects = [rules.Project("9", 5), rules.Project("10", 5), rules.Project("B", 5)]
    ballots: dict[rules.Ballot, int] = {(("10", 1), ("9", 1), ("B", 1)): 3}
    scores = rules.tally_scores(rules.APPROVAL, ballots)
    out = rules.select(rules.GREEDY, projects, scores, budget=10)
    assert out.selected == ("10", "9")
    assert out.explanations["B"].reason == rules.BUDGET_EXHAUSTED
    assert out.explanations["B"].budget_left == 0
    mes = rules.select(rules.EQUAL_SHARES, projects, scores, budget=10, ballots=ballots)
    assert mes.selected == ("10", "9")


def test_explanations_cover_every_project_with_numbers() -> None:
    projects = [rules.Project("a", 6), rules.Project("b", 6), rules.Project("c", 1)]
    ballots: dict[rules.Ballot, int] = {(("a", 1),): 3, (("b", 1),): 1}
    scores = rules.tally_scores(rules.APPROVAL, ballots, projects=["c"])
    out = rules.select(rules.EQUAL_SHARES, projects, scores, budget=8, ballots=ballots)
    assert out.selected == ("a",)
    a, b, c = (out.explanations[x] for x in "abc")
    assert a.reason == rules.EQUAL_SHARES_ROUND
    assert a.round == 1
    assert a.max_payment == Fraction(2)
    assert a.rho == Fraction(1, 3)
    assert b.reason == rules.TOO_EXPENSIVE_FOR_SUPPORTERS
    assert b.supporters_budget == Fraction(2)
    assert c.reason == rules.NO_SUPPORTERS
    assert out.per_voter_budget == Fraction(2)


def test_invalid_input_is_refused() -> None:
    p = [rules.Project("a", 1)]
    with pytest.raises(rules.RulesError, match="unknown selection rule"):
        rules.select("lottery", p, {}, budget=1)
    with pytest.raises(rules.RulesError, match="needs the ballots"):
        rules.select(rules.EQUAL_SHARES, p, {}, budget=1)
    with pytest.raises(rules.RulesError, match="threshold"):
        rules.select(rules.GREEDY_THRESHOLD, p, {}, budget=1)
    with pytest.raises(rules.RulesError, match="duplicate"):
        rules.select(rules.GREEDY, p * 2, {}, budget=1)
    with pytest.raises(rules.RulesError, match="unknown project"):
        rules.select(rules.EQUAL_SHARES, p, {}, budget=1, ballots={(("zz", 1),): 1})
