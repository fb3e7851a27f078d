"""Build pabutools instances from ``votes.rules`` inputs: the tests' reference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

pytest.importorskip("pabutools")

from pabutools.election import (
    AbstractApprovalProfile,
    Additive_Cardinal_Sat,
    ApprovalBallot,
    ApprovalProfile,
    Cost_Sat,
    CumulativeBallot,
    CumulativeProfile,
    Instance,
)
from pabutools.election import Project as PbProject
from pabutools.election.satisfaction import AdditiveSatisfaction
from pabutools.rules import (
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

from votes import rules


def _points_times_cost(instance, profile, ballot, project, precomputed_values):
    # Greedy in pabutools ranks by total satisfaction / cost; points * cost makes that
    # the sum of points, i.e. pabulib's "greedy by score" for cardinal ballots.
    return ballot.get(project, 0) * project.cost


class PointsCostSat(AdditiveSatisfaction):
    def __init__(self, instance, profile, ballot):
        AdditiveSatisfaction.__init__(self, instance, profile, ballot, _points_times_cost)


def build(
    projects: Sequence[rules.Project],
    ballots: Mapping[rules.Ballot, int],
    budget: int,
    *,
    method: str,
    cost_override: int | None = None,
    keep: set[str] | None = None,
    ordinal_scoring: str = rules.DEFAULT_ORDINAL_SCORING,
) -> tuple[Instance, Any, bool]:
    """(instance, profile, cardinal?) with project name == our project id.

    Ordinal ballots become cumulative ballots of their points under
    ``ordinal_scoring`` (pabutools has no positional scoring with a fixed L).
    """
    pb = {
        p.id: PbProject(p.id, cost_override if cost_override is not None else p.cost)
        for p in projects
        if keep is None or p.id in keep
    }
    instance = Instance(pb.values(), budget_limit=budget)
    max_len = max((len(b) for b in ballots), default=0)
    cardinal = method in (rules.CUMULATIVE, rules.ORDINAL)
    out: list[Any] = []
    for ballot, count in ballots.items():
        points = rules.ballot_points(method, ballot, ordinal_scoring=ordinal_scoring, ordinal_max_length=max_len)
        for _ in range(count):
            if cardinal:
                out.append(CumulativeBallot({pb[pid]: pts for pid, pts in points.items() if pid in pb}))
            else:
                out.append(ApprovalBallot(pb[pid] for pid in points if pid in pb))
    profile = CumulativeProfile(out) if cardinal else ApprovalProfile(out)
    return instance, profile, cardinal


def names(allocation: Any) -> list[str]:
    return [p.name for p in allocation]


def greedy(instance: Instance, profile: Any, cardinal: bool) -> list[str]:
    sat = PointsCostSat if cardinal else Cost_Sat
    return names(greedy_utilitarian_welfare(instance, profile, sat_class=sat))


def mes_allocation(instance: Instance, profile: Any, *, utility: str, add1: bool) -> Any:
    sat = Cost_Sat if utility == "cost" else Additive_Cardinal_Sat
    return method_of_equal_shares(instance, profile, sat_class=sat, voter_budget_increment=1 if add1 else None)


def complete(instance: Instance, profile: Any, allocation: Any) -> list[str]:
    """Greedy fill by score after MES (completion_by_rule_combination's second rule)."""
    sat = Cost_Sat if isinstance(profile, AbstractApprovalProfile) else PointsCostSat
    return names(greedy_utilitarian_welfare(instance, profile, sat_class=sat, initial_budget_allocation=allocation))


def mes(instance: Instance, profile: Any, *, utility: str, add1: bool, completion: bool) -> list[str]:
    outcome = mes_allocation(instance, profile, utility=utility, add1=add1)
    return complete(instance, profile, outcome) if completion else names(outcome)
