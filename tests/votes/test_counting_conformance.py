"""Conformance with real results, through the database: each of the 39 sample files is
imported by ``manage.py import_pabulib`` (with its ``<name>.portal.json`` choices, as
an official would give them), counted by ``manage.py tally --final``, and the stored
selection is compared with the city's official one; ``manage.py pabulib_conformance``
prints the same comparison for every file (the README's conformance table).

Every sample either imports or is refused with its reason: the two Budapest files
name no rule the portal can count (``unknown``; their comments describe per-category
budgets and paper votes missing from the data), so the import asks for the rule.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.votes.counting_fixtures import PABULIB_SAMPLES, pabulib_samples
from votes import pabulib, rules
from votes.models import Campaign, Tally

FILES = pabulib_samples()
NEEDS_THE_OFFICIALS_RULE = {"Hungary_Budapest_2022_VIII_Jozsefvaros.pb", "Hungary_Budapest_2025_XI_Ujbuda.pb"}

pytestmark = [pytest.mark.django_db]


def _import(path) -> tuple[Campaign, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_pabulib", str(path), stdout=out, stderr=err)
    return Campaign.objects.get(pk=int(out.getvalue().strip().splitlines()[-1])), err.getvalue()


def _count(campaign: Campaign) -> tuple[Tally, str]:
    tally_out = io.StringIO()
    call_command("tally", str(campaign.pk), "--final", stdout=tally_out)
    return Tally.objects.get(campaign=campaign, kind="final"), tally_out.getvalue()


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_import_and_final_tally_reproduce_the_file(path) -> None:
    if path.name in NEEDS_THE_OFFICIALS_RULE:
        with pytest.raises(CommandError, match="choose the rule the city used") as refused:
            _import(path)
        assert "refused: line 12:" in str(refused.value)
        assert not Campaign.objects.exists()
        return
    election, choice = pabulib.load_choice(path)
    campaign, printed_import = _import(path)
    # What was irregular is printed and stored for officials, with its line.
    assert len(campaign.import_irregularities) == len(election.irregularities) + len(choice.notes)
    for item in election.irregularities:
        assert f"irregular: line {item.line}: {item.message}" in printed_import
    assert campaign.rule == choice.rule
    assert campaign.imported_rule == choice.file_rule
    tally, printed = _count(campaign)
    assert tally.status == "done"
    assert tally.ballots_counted == len(election.votes)
    rows = {row.entry.external_id: row for row in tally.rows.select_related("entry")}
    assert set(rows) == {p["project_id"] for p in election.projects}
    # Money exactly as published (Warszawa's sub-area budgets have grosze).
    assert campaign.budget == election.budget
    assert {e: r.entry.cost for e, r in rows.items()} == election.costs()
    # Votes (and score, where published) as counted by PostgreSQL equal the file's
    # columns, less the repeats a city counted twice (test_pabulib).
    ri, _ = pabulib.count(election, choice)
    scores = rules.tally_scores(ri.method, ri.ballots, projects=[p.id for p in ri.projects])
    for pid, row in rows.items():
        assert row.votes == scores[pid].votes, pid
        if ri.method != rules.ORDINAL:
            assert row.score == scores[pid].score, pid
    for project in election.projects:
        if project.get("score"):
            assert rows[project["project_id"]].score == int(project["score"]), project["project_id"]
    lines = printed.strip().splitlines()
    assert [line.split("\t")[0] for line in lines[:-1]] == [
        r.entry.external_id for r in sorted(rows.values(), key=lambda r: r.rank) if r.selected
    ]
    assert f"{tally.ballots_counted} ballots" in lines[-1]
    if "selected" not in election.project_columns:
        return  # Amsterdam 643, Gdańsk 2020 and Seattle 2019 record no official winners
    official = {p["project_id"] for p in election.projects if p.get("selected") == "1"}
    by_reserve = {pid for pid, row in rows.items() if row.selected_by_reserve}
    assert {pid for pid, row in rows.items() if row.selected} - by_reserve == official
    if campaign.rule == rules.GREEDY_RESERVE:
        assert by_reserve == {p["project_id"] for p in election.projects if p.get("selected") == "2"}


def test_conformance_command_reproduces_every_sample_that_records_winners() -> None:
    out = io.StringIO()
    call_command("pabulib_conformance", str(PABULIB_SAMPLES), str(PABULIB_SAMPLES / "more"), stdout=out)
    lines = out.getvalue().strip().splitlines()
    by_file = {line.split("\t")[1]: line for line in lines[:-1]}
    assert set(by_file) == {p.name for p in FILES}
    statuses = {name: line.split("\t")[0] for name, line in by_file.items()}
    assert {n for n, s in statuses.items() if s == "REFUSED"} == NEEDS_THE_OFFICIALS_RULE
    assert {n for n, s in statuses.items() if s == "NO-WINNERS"} == {
        "Netherlands_Amsterdam_643.pb",
        "Poland_Gdansk_2020.pb",
        "US_Stanford_Dataset_Your_Voice_Your_Choice_Parks_and_Streets-_Seattle_2019_District_3_vote_knapsacks.pb",
    }
    assert "DIFFER" not in statuses.values()
    assert "repeated_project" in by_file["Poland_Warszawa_2026_Blonia_Wilanowskie.pb"]
    assert "rule greedy-reserve (file: greedy-custom)" in by_file["Poland_Poznan_2024_9_-_Stare_Miasto__small.pb"]
    assert "[groups 1]" in by_file["Poland_Warszawa_2022_Bemowo.pb"]
    assert lines[-1].startswith("SUMMARY\t39 files: 37 imported")
    assert "official winners reproduced in 34 of 34 files" in lines[-1]


def test_conformance_command_says_when_another_tie_break_would_match(tmp_path) -> None:
    # Kraków 2022 Czyżyny without its choices file: lower id picks project 24, the city 26.
    source = PABULIB_SAMPLES / "more" / "Poland_Krakow_2022_Czyzyny.pb"
    (tmp_path / source.name).write_bytes(source.read_bytes())
    out = io.StringIO()
    call_command("pabulib_conformance", str(tmp_path), stdout=out)
    first, summary = out.getvalue().strip().splitlines()
    assert first.startswith("DIFFER\tPoland_Krakow_2022_Czyzyny.pb")
    assert first.endswith("(matches with tie-break dearer)")
    assert "reproduced in 0 of 1 files" in summary
    assert "1 would match with another tie-break" in summary


def test_conformance_command_refuses_a_missing_directory(tmp_path) -> None:
    with pytest.raises(CommandError, match="no such file or directory"):
        call_command("pabulib_conformance", str(tmp_path / "nowhere"), stdout=io.StringIO())
