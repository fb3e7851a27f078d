"""votes.pabulib on the real sample files, and votes.rules against pabutools and the
official results recorded in them.

Files: the 39 samples in ``tests/data/pabulib`` (six regular ones, 33 irregular ones in
``more/``), so a fresh clone checks them all.

Conformance with the official ``selected`` column (checked by
``test_selection_equals_the_official_result``):

===========================  ================  =====  ==========================
file                         rule              match  note
===========================  ================  =====  ==========================
Netherlands_Amsterdam_643    greedy            --     no ``selected`` column
Netherlands_Assen_2024       equalshares/add1  yes    MES + Add1, no greedy fill
Poland_Gdansk_2020           greedy            --     no ``selected`` column
Poland_Gdynia_2025_Wielki..  greedy-no-skip    yes    selected=1 only (below)
Poland_Katowice_2023_Murcki  greedy-threshold  yes    threshold 50, score/votes
Poland_Krakow_2022_Biez...   greedy            yes    ordinal, borda L=3 (3,2,1)
===========================  ================  =====  ==========================

Gdynia marks 2025/WIK/0007 with selected=2: an extra "Projekt +1" turnout-award project
funded from city money outside the participatory budget, so only selected=1 is the
rule's outcome. Katowice matches whether the 50-point threshold is read on score or on
votes (both are asserted). Assen's official outcome is MES with Add1 and leaves 23,300
EUR unspent although project 7 (12,000) fits: pabulib's ``equalshares/add1`` has no
greedy fill, which is why ``greedy_completion`` defaults to False.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from tests.votes import pabutools_ref as ref
from tests.votes.counting_fixtures import pabulib_samples
from votes import pabulib, rules

pytest.importorskip("pabutools")
from pabutools.election import parse_pabulib
from pabutools.election.pabulib import parse_pabulib_from_string

PB_FILES = pabulib_samples()
files = pytest.mark.parametrize("path", PB_FILES, ids=[p.name for p in PB_FILES])


def _load(path: Path) -> tuple[pabulib.PbElection, pabulib.RulesInput]:
    election = pabulib.parse(path)
    return election, pabulib.to_rules_input(election)


def _scores(ri: pabulib.RulesInput) -> dict[str, rules.ProjectScore]:
    return rules.tally_scores(ri.method, ri.ballots, projects=[p.id for p in ri.projects])


def _select(ri: pabulib.RulesInput, rule: str, **kw: Any) -> rules.Outcome:
    # The file's threshold belongs to the file's rule: pabutools' greedy has none.
    return rules.select(
        rule,
        ri.projects,
        _scores(ri),
        budget=ri.budget,
        ballots=ri.ballots,
        method=ri.method,
        threshold=ri.threshold if rule == ri.rule else None,
        money_unit=ri.scale,
        **kw,
    )


def _ballot_key(ballot: Any, vote_type: str) -> tuple[Any, ...]:
    if vote_type == "ordinal":
        return tuple(p.name for p in ballot)
    if vote_type == "cumulative":
        return tuple(sorted((p.name, int(v)) for p, v in ballot.items()))
    return tuple(sorted(p.name for p in ballot))


def _pabutools_view(instance: Any, profile: Any) -> dict[str, Any]:
    vote_type = instance.meta["vote_type"]
    return {
        "projects": sorted((p.name, int(p.cost)) for p in instance),
        "budget": int(instance.budget_limit),
        "ballots": Counter(_ballot_key(b, vote_type) for b in profile),
    }


@files
def test_scores_equal_the_published_columns(path: Path) -> None:
    election, ri = _load(path)
    scores = _scores(ri)
    # Cities that published a vote naming a project twice counted it twice in their
    # votes column; the portal counts it once (an approval is a set), so it is one less.
    repeats: Counter[str] = Counter()
    for vote in election.votes:
        raw = [x.strip() for x in str(vote["vote"]).split(",") if x.strip()]
        repeats.update({pid: n - 1 for pid, n in Counter(raw).items() if n > 1})
    for row in election.projects:
        s = scores[row["project_id"]]
        if row.get("votes"):
            assert s.votes == int(row["votes"]) - repeats[row["project_id"]], row["project_id"]
        if row.get("score"):
            # Krakow (ordinal): the default "borda" (L - r + 1) reproduces its score.
            assert s.score == int(row["score"]), row["project_id"]


@files
def test_parse_reads_what_pabutools_reads(path: Path) -> None:
    election, ri = _load(path)
    instance, profile = parse_pabulib(str(path))
    assert sorted(p["project_id"] for p in election.projects) == sorted(p.name for p in instance)
    assert len(election.votes) == len(profile)
    assert election.meta == dict(instance.meta.items())
    mine: Counter[tuple[tuple[str, int], ...]] = Counter()
    for ballot, count in ri.ballots.items():
        if ri.method == rules.ORDINAL:
            key: tuple[Any, ...] = tuple(pid for pid, _ in sorted(ballot, key=lambda x: x[1]))
        elif ri.method == rules.CUMULATIVE:
            key = ballot
        else:
            key = tuple(pid for pid, _ in ballot)
        mine[key] += count
    assert mine == _pabutools_view(instance, profile)["ballots"]


@files
def test_round_trip_through_pabutools(path: Path, tmp_path: Path) -> None:
    election, _ = _load(path)
    text = pabulib.dump(election)
    out = tmp_path / path.name
    out.write_text(text, encoding="utf-8")
    again_instance, again_profile = parse_pabulib(str(out))
    instance, profile = parse_pabulib(str(path))
    assert _pabutools_view(again_instance, again_profile) == _pabutools_view(instance, profile)
    again = pabulib.parse(text)
    assert again.projects == election.projects

    def meant(votes: list[dict[str, object]]) -> list[dict[str, object]]:
        # The dump writes each vote as the city meant it (a repeated project merged).
        return [{k: v for k, v in vote.items() if k not in ("vote", "points")} for vote in votes]

    assert meant(again.votes) == meant(election.votes)
    assert again.meta["budget"] == election.meta["budget"]


def _rules_to_check(method: str) -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = [
        (rules.GREEDY, {}),
        (rules.EQUAL_SHARES, {}),
        (rules.EQUAL_SHARES_ADD1, {}),
        (rules.EQUAL_SHARES_ADD1, {"greedy_completion": True}),
    ]
    if method == rules.CUMULATIVE:
        cases.append((rules.EQUAL_SHARES, {"mes_utility": "cost"}))
    return cases


REGULAR = [p for p in PB_FILES if p.parent.name != "more"]


@pytest.mark.parametrize("path", REGULAR, ids=[p.name for p in REGULAR])
def test_every_rule_equals_pabutools_on_the_file(path: Path) -> None:
    # The six regular files: every rule. pabutools' MES with add1 takes minutes on the
    # larger irregular files, whose greedy outcome is compared below.
    _, ri = _load(path)
    if ri.method == rules.ORDINAL:
        # pabutools has no L - r + 1 scoring: feed it the same points as cumulative.
        instance, profile, cardinal = ref.build(ri.projects, ri.ballots, ri.budget, method=ri.method)
    else:
        instance, profile = parse_pabulib(str(path))
        cardinal = ri.method == rules.CUMULATIVE
    multi = profile.as_multiprofile()  # same outcome, much faster in pabutools
    cache: dict[tuple[str, bool], Any] = {}  # one pabutools MES run per variant
    for rule, kw in _rules_to_check(ri.method):
        ours = _select(ri, rule, **kw)
        if rule == rules.GREEDY:
            expected = ref.greedy(instance, multi, cardinal)
        else:
            utility = kw.get("mes_utility", "points" if cardinal else "cost")
            add1 = rule == rules.EQUAL_SHARES_ADD1
            if (utility, add1) not in cache:
                cache[(utility, add1)] = ref.mes_allocation(instance, multi, utility=utility, add1=add1)
            allocation = cache[(utility, add1)]
            if kw.get("greedy_completion"):
                expected = ref.complete(instance, multi, allocation)
            else:
                expected = ref.names(allocation)
        assert list(ours.selected) == expected, (rule, kw)


IRREGULAR = [p for p in PB_FILES if p.parent.name == "more"]


@pytest.mark.parametrize("path", IRREGULAR, ids=[p.name for p in IRREGULAR])
def test_greedy_equals_pabutools_on_the_irregular_files(path: Path) -> None:
    # pabutools reads a repeated project as the portal does in approval votes (a set)
    # but keeps only the last points of a cumulative one: fed the portal's ballots.
    _, ri = _load(path)
    instance, profile, cardinal = ref.build(ri.projects, ri.ballots, ri.budget, method=ri.method)
    assert list(_select(ri, rules.GREEDY).selected) == ref.greedy(instance, profile.as_multiprofile(), cardinal)


def _official(election: pabulib.PbElection, mark: str = "1") -> set[str]:
    # selected == 1 is the rule's outcome; 2 is a reserve (Poznań) or an award
    # (Gdynia's turnout award, see above), compared only under the reserve rule.
    return {p["project_id"] for p in election.projects if p.get("selected") == mark}


@files
def test_selection_equals_the_official_result(path: Path) -> None:
    """Counted as the portal imports it: the file's rule, or the one its words or its
    sidecar (an official's choice, tests/data/pabulib/README.md) give."""
    if "selected" not in pabulib.parse(path).project_columns:
        pytest.skip(f"{path.name} has no selected column")
    try:
        election, choice = pabulib.load_choice(path)
    except pabulib.PabulibError as exc:
        if exc.code != "rule_needs_choice":
            raise
        pytest.skip(f"{path.name}: {exc}")
    _, outcome = pabulib.count(election, choice)
    by_reserve = set(outcome.selected_by_reserve)
    assert set(outcome.selected) - by_reserve == _official(election)
    if choice.rule == rules.GREEDY_RESERVE:
        assert by_reserve == _official(election, "2")
    if path.name == "Poland_Katowice_2023_Murcki.pb":
        # Its threshold of 50 gives the same outcome read on votes.
        _, ri = _load(path)
        by_votes = _select(ri, ri.rule, threshold_on="votes")  # type: ignore[arg-type]
        assert set(by_votes.selected) == _official(election)


# ------------------------------------------------------------------ format quirks

GOOD = (
    "\ufeffMETA\r\nkey;value\r\nbudget;10\r\nvote_type;cumulative\r\n"
    'comment;"a; quoted ""value"""\r\n'
    'PROJECTS\r\nproject_id;cost;name\r\n1;4;"Park; north"\r\n2;6;None\r\n'
    "VOTES\r\nvoter_id;vote;points;age\r\nv1;1,2;2,1;30\r\nv2;2;3;None\r\n"
)


def test_quirks_bom_crlf_quotes_points() -> None:
    e = pabulib.parse(GOOD.encode("utf-8"))
    assert e.meta["comment"] == 'a; quoted "value"'
    assert e.projects[0]["name"] == "Park; north"
    assert e.votes[0]["vote_list"] == ["1", "2"]
    assert e.votes[0]["points_list"] == [2, 1]
    ri = pabulib.to_rules_input(e)
    assert ri.ballots == {(("1", 2), ("2", 1)): 1, (("2", 3),): 1}
    assert ri.budget == 10
    assert ri.method == rules.CUMULATIVE
    inst, prof = parse_pabulib_from_string(pabulib.dump(e))
    assert sorted(int(p.cost) for p in inst) == [4, 6]
    assert sorted(sorted((p.name, int(v)) for p, v in b.items()) for b in prof) == [
        [("1", 2), ("2", 1)],
        [("2", 3)],
    ]


def test_ordinal_votes_keep_rank_order() -> None:
    text = (
        "META\nkey;value\nbudget;5\nvote_type;ordinal\nPROJECTS\nproject_id;cost\n"
        "a;1\nb;1\nVOTES\nvoter_id;vote\n1;b,a\n"
    )
    ri = pabulib.to_rules_input(pabulib.parse(text))
    assert ri.ballots == {(("a", 2), ("b", 1)): 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PROJECTS\nproject_id;cost\n", r"line 1: .*META"),
        ("META\nkey;value\nbudget;5\nPROJECTS\nproject_id;cost\n1;x\nVOTES\nvoter_id;vote\n",
         r"line 6: cost of project '1' 'x' is not a number"),
        ("META\nkey;value\nbudget;5\nPROJECTS\nproject_id;cost\n1;2\nVOTES\nvoter_id;vote\n"
         "v;1,7\n", r"line 9: vote names unknown project '7'"),
        ("META\nkey;value\nbudget;5\nPROJECTS\nproject_id;cost\n1;2;3\n",
         r"line 6: PROJECTS row has 3 fields, the header has 2"),
        ("META\nkey;value\nbudget;5\nvote_type;cumulative\nPROJECTS\nproject_id;cost\n1;2\n"
         "VOTES\nvoter_id;vote;points\nv;1;1,2\n", r"line 10: 1 projects but 2 points"),
        ("META\nkey;value\nbudget;5\nPROJECTS\nproject_id;cost\n1;2\n1;3\n",
         r"line 7: duplicate project_id '1'"),
        ("META\nkey;value\nbudget;5\nPROJECTS\nproject_id;cost\n1;2\n",
         r"missing VOTES section"),
        ("META\nkey;value\nPROJECTS\nproject_id;cost\nVOTES\nvoter_id;vote\n",
         r"META has no budget"),
        ("META\nkey;value\nbudget;5\nPROJECTS\nid;cost\n", r"line 5: PROJECTS needs"),
    ],
)  # fmt: skip
def test_malformed_input_names_the_line(text: str, message: str) -> None:
    with pytest.raises(pabulib.PabulibError, match=message):
        pabulib.parse(text)


def test_non_utf8_bytes_are_refused() -> None:
    with pytest.raises(pabulib.PabulibError, match="not UTF-8"):
        pabulib.parse(b"META\nkey;value\nbudget;\xff\n")


# ------------------------------------------------------------ read as cities meant it

HEAD = "META\nkey;value\nbudget;{budget}\nvote_type;{vote_type}\nPROJECTS\nproject_id;cost\n579;{cost}\n1;3\n"


def _irregular(text: str) -> tuple[pabulib.PbElection, dict[str, list[Any]]]:
    election = pabulib.parse(text)
    found: dict[str, list[Any]] = {}
    for item in election.irregularities:
        found.setdefault(item.code, []).append(item.line)
    return election, found


def test_a_cumulative_vote_naming_a_project_four_times_gives_it_the_sum() -> None:
    # Częstochowa 2020: "579,579,579,579;1,1,1,1" gave project 579 four points.
    text = (
        HEAD.format(budget=10, vote_type="cumulative", cost=5)
        + "VOTES\nvoter_id;vote;points\nv;579,579,579,579;1,1,1,1\n"
    )
    election, found = _irregular(text)
    assert found == {"repeated_project": [11]}
    assert election.votes[0]["vote_list"] == ["579"]
    assert election.votes[0]["points_list"] == [4]
    assert pabulib.to_rules_input(election).ballots == {(("579", 4),): 1}


def test_an_approval_vote_counts_a_repeated_project_once_and_a_ranking_keeps_its_best_rank() -> None:
    approval = HEAD.format(budget=10, vote_type="approval", cost=5) + "VOTES\nvoter_id;vote\nv;579,1,579\n"
    election, found = _irregular(approval)
    assert found == {"repeated_project": [11]}
    assert election.votes[0]["vote_list"] == ["579", "1"]
    ordinal = HEAD.format(budget=10, vote_type="ordinal", cost=5) + "VOTES\nvoter_id;vote\nv;1,579,1\n"
    assert pabulib.to_rules_input(pabulib.parse(ordinal)).ballots == {(("1", 1), ("579", 2)): 1}


def test_fractional_money_is_kept_exactly_and_counted_in_hundredths() -> None:
    text = HEAD.format(budget="1331751.11", vote_type="approval", cost="1000,50") + "VOTES\nvoter_id;vote\nv;579\n"
    election, found = _irregular(text)
    assert found == {"fractional_cost": [7], "fractional_budget": [3]}
    assert election.budget == Decimal("1331751.11")
    assert election.costs()["579"] == Decimal("1000.50")
    ri = pabulib.to_rules_input(election)
    assert (ri.scale, ri.budget, ri.projects[0].cost) == (100, 133175111, 100050)


def test_repeated_voter_ids_short_rows_and_empty_meta_values_are_read_and_listed() -> None:
    text = (
        "META\nkey;value\nbudget;10\nnote\nPROJECTS\nproject_id;cost;name\n579;5\n1;3;Park;\n"
        "VOTES\nvoter_id;vote\nv;579\nv;1\n"
    )
    election, found = _irregular(text)
    assert found == {"meta_without_value": [4], "short_row": [7], "extra_empty_fields": [8], "duplicate_voter_id": [12]}
    assert len(election.votes) == 2
    assert election.projects[0]["name"] == ""


def test_many_irregularities_of_one_kind_are_listed_up_to_ten_then_counted() -> None:
    votes = "".join(f"v{i};579,579\n" for i in range(25))
    election = pabulib.parse(HEAD.format(budget=10, vote_type="approval", cost=5) + "VOTES\nvoter_id;vote\n" + votes)
    assert [i.line for i in election.irregularities[:10]] == list(range(11, 21))
    assert election.irregularities[10].message == "… and 15 more like these (repeated_project)"


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        (HEAD.format(budget="x", vote_type="approval", cost=5) + "VOTES\nvoter_id;vote\n", "not_a_number", 3),
        (HEAD.format(budget=10, vote_type="approval", cost=-5) + "VOTES\nvoter_id;vote\n", "negative_cost", 7),
        (HEAD.format(budget=10, vote_type="approval", cost=5) + "VOTES\nvoter_id;vote\nv;2\n", "unknown_project", 11),
        (
            HEAD.format(budget=10, vote_type="cumulative", cost=5) + "VOTES\nvoter_id;vote;points\nv;1;-1\n",
            "negative_points",
            11,
        ),
        (HEAD.format(budget=10, vote_type="approval", cost=5) + "VOTES\nvoter_id;vote\nv;1;x;y\n", "field_count", 11),
    ],
)
def test_what_cannot_be_counted_is_refused_with_its_code_and_line(text: str, code: str, line: int) -> None:
    with pytest.raises(pabulib.PabulibError) as refused:
        pabulib.parse(text)
    assert (refused.value.code, refused.value.line) == (code, line)


def _meta_election(rule: str, comment: str = "") -> pabulib.PbElection:
    text = (
        f'META\nkey;value\nbudget;10\nrule;{rule}\ncomment;"{comment}"\nPROJECTS\nproject_id;cost\n773;5\n153;5\n'
        "VOTES\nvoter_id;vote\nv;773,153\n"
    )
    return pabulib.parse(text)


def test_rules_written_in_words_are_read_or_left_to_the_official() -> None:
    poznan = pabulib.resolve_rule(
        _meta_election("greedy-custom", "if the remaining budget is enough to fund at least 75% of that project, "
                       "we fund it as well with the external reserve funds")
    )  # fmt: skip
    assert (poznan.rule, poznan.reserve_share, poznan.flagged) == (rules.GREEDY_RESERVE, Fraction(3, 4), True)
    warszawa = pabulib.resolve_rule(
        _meta_election("greedy-exclusive", "projects 773 and 153 both targeted the area near ul. Konarskiego and "
                       "could not be implemented simultaneously")
    )  # fmt: skip
    assert (warszawa.rule, warszawa.groups) == (rules.GREEDY, {"773": "excl-773", "153": "excl-773"})
    for rule in ("unknown", "greedy-custom"):
        with pytest.raises(pabulib.PabulibError) as refused:
            pabulib.resolve_rule(_meta_election(rule))
        assert refused.value.code == "rule_needs_choice"
        assert refused.value.line == 4
    chosen = pabulib.resolve_rule(_meta_election("unknown"), rule=rules.GREEDY)
    assert chosen.flagged
    assert chosen.notes[0].code == "rule_chosen"
    with pytest.raises(pabulib.PabulibError) as refused:
        pabulib.resolve_rule(_meta_election("greedy"), exclusive=[["773", "999"]])
    assert refused.value.code == "exclusive_unknown"
