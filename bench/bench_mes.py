"""Time votes.rules' Method of Equal Shares against pabutools; check the outcomes agree.

Run: ``python bench/bench_mes.py`` (from the repository root). Prints a few lines and
returns a dict from :func:`main`. Times are the best of 3 runs (pabutools: of up to 3,
one when a run takes over 10 s); ours include tallying. Cases: the largest sample
``.pb`` file and a generated 100,000-voter approval election (seeded). pabutools runs
in a child process with a time limit; if it cannot finish the 100k election in time,
a smaller generated election is used for the comparison and the output says so.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import sys
import time
from math import inf
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from votes import pabulib, rules  # noqa: E402

PABUTOOLS_LIMIT_S = 150.0


def _pabulib_dir() -> Path:
    # The regular samples kept in the repository; PABULIB_DIR points at another folder.
    env = os.environ.get("PABULIB_DIR")
    return Path(env) if env else ROOT / "tests" / "data" / "pabulib"


def generate(voters: int, projects: int = 40, seed: int = 2024) -> pabulib.RulesInput:
    """Approval election with skewed popularity, so ballots repeat as in real votes."""
    rng = random.Random(seed)
    ids = [f"P{i:03d}" for i in range(projects)]
    costs = [rng.randrange(20, 400) * 1000 for _ in ids]
    weights = [1.0 / (i + 1) ** 0.8 for i in range(projects)]
    ballots: dict[rules.Ballot, int] = {}
    for _ in range(voters):
        size = rng.randint(1, 5)
        chosen = set(rng.choices(ids, weights=weights, k=size))
        ballot = tuple(sorted((pid, 1) for pid in chosen))
        ballots[ballot] = ballots.get(ballot, 0) + 1
    return pabulib.RulesInput(
        projects=[rules.Project(pid, c) for pid, c in zip(ids, costs, strict=True)],
        ballots=ballots,
        method=rules.APPROVAL,
        rule=rules.EQUAL_SHARES,
        budget=sum(costs) * 3 // 10,
        threshold=None,
        min_length=1,
        max_length=5,
    )


REPEATS = 3  # best of 3 for both sides (pabutools only when one run is under 10 s)


def ours(ri: pabulib.RulesInput, rule: str) -> tuple[list[str], float]:
    best = inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        ids = [p.id for p in ri.projects]
        scores = rules.tally_scores(ri.method, ri.ballots, projects=ids)
        out = rules.select(
            rule,
            ri.projects,
            scores,
            budget=ri.budget,
            ballots=ri.ballots,
            method=ri.method,
        )
        best = min(best, time.perf_counter() - start)
    return list(out.selected), best


def _pabutools_job(ri: pabulib.RulesInput, rule: str, multi: bool, queue: Any) -> None:
    from pabutools.election import (
        ApprovalBallot,
        ApprovalProfile,
        Cost_Sat,
        Instance,
        Project,
    )
    from pabutools.rules import method_of_equal_shares

    pb = {p.id: Project(p.id, p.cost) for p in ri.projects}
    instance = Instance(pb.values(), budget_limit=ri.budget)
    profile = ApprovalProfile()
    for ballot, count in ri.ballots.items():
        for _ in range(count):
            profile.append(ApprovalBallot(pb[pid] for pid, _ in ballot))
    best = inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        prof = profile.as_multiprofile() if multi else profile
        outcome = method_of_equal_shares(
            instance,
            prof,
            sat_class=Cost_Sat,
            voter_budget_increment=1 if rule == rules.EQUAL_SHARES_ADD1 else None,
        )
        best = min(best, time.perf_counter() - start)
        if best > 10:
            break
    queue.put(([p.name for p in outcome], best))


def pabutools(ri: pabulib.RulesInput, rule: str, *, multi: bool) -> tuple[list[str], float] | None:
    """(outcome, seconds) or None when pabutools exceeds PABUTOOLS_LIMIT_S."""
    queue: Any = mp.Queue()
    proc = mp.Process(target=_pabutools_job, args=(ri, rule, multi, queue))
    proc.start()
    try:
        return queue.get(timeout=PABUTOOLS_LIMIT_S)
    except Exception:  # queue.Empty: over the limit
        return None
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join()


def compare(label: str, ri: pabulib.RulesInput, rule: str) -> dict[str, Any]:
    voters = sum(ri.ballots.values())
    mine, t_ours = ours(ri, rule)
    row: dict[str, Any] = {
        "case": label,
        "rule": rule,
        "voters": voters,
        "distinct_ballots": len(ri.ballots),
        "ours_s": round(t_ours, 4),
    }
    for multi in (False, True):
        key = "pabutools_multiprofile" if multi else "pabutools_profile"
        ref = pabutools(ri, rule, multi=multi)
        if ref is None:
            row[key + "_s"] = f">{PABUTOOLS_LIMIT_S:.0f}"
            continue
        theirs, t_ref = ref
        row[key + "_s"] = round(t_ref, 3)
        row[key + "_same"] = theirs == mine
        row[key + "_ratio"] = round(t_ref / t_ours, 1) if t_ours else None
    print(
        f"{label:42} {rule:17} voters={voters:>7} ours={row['ours_s']:>7}s  "
        f"pabutools={row.get('pabutools_profile_s')}s "
        f"(x{row.get('pabutools_profile_ratio')}, "
        f"same={row.get('pabutools_profile_same')})  "
        f"multiprofile={row.get('pabutools_multiprofile_s')}s "
        f"(x{row.get('pabutools_multiprofile_ratio')}, "
        f"same={row.get('pabutools_multiprofile_same')})"
    )
    return row


def main() -> dict[str, Any]:
    results: dict[str, Any] = {}
    files = sorted(_pabulib_dir().glob("*.pb"), key=lambda p: p.stat().st_size)
    if files:
        largest = files[-1]
        ri = pabulib.to_rules_input(pabulib.parse(largest))
        results["largest_file"] = compare(largest.name, ri, rules.EQUAL_SHARES)
        add1 = compare(largest.name, ri, rules.EQUAL_SHARES_ADD1)
        results["largest_file_add1"] = add1
    else:
        print(f"no sample files in {_pabulib_dir()}; skipping the file case")
    big = generate(100_000)
    row = compare("generated approval, 100k voters", big, rules.EQUAL_SHARES)
    results["generated_100k"] = row
    if not isinstance(row.get("pabutools_profile_s"), float):
        print("pabutools did not finish the 100k election in time; comparing on 20k:")
        results["generated_20k"] = compare("generated approval, 20k voters", generate(20_000), rules.EQUAL_SHARES)
    return results


if __name__ == "__main__":
    main()
