"""Conformance with real results: import a pabulib file, run the final tally through the
database, and compare the stored selection with the city's official one (selected == 1).

| file                                      | rule             | official selection |
| Netherlands_Amsterdam_643.pb              | greedy           | none recorded: skipped, votes still checked |
| Poland_Gdansk_2020.pb                     | greedy           | none recorded: skipped, votes still checked |
| Netherlands_Assen_2024.pb                 | equalshares/add1 | matches |
| Poland_Gdynia_2025_Wielki_Kack__large.pb  | greedy-no-skip   | matches (selected=2: Gdynia's turnout award) |
| Poland_Katowice_2023_Murcki.pb            | greedy-threshold | matches |
| Poland_Krakow_2022_Biezanow-Prokocim.pb   | greedy (ordinal) | matches |
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.votes.counting_fixtures import pabulib_dir
from votes import pabulib, rules
from votes.models import Tally

FILES = sorted(pabulib_dir().glob("*.pb")) if pabulib_dir().is_dir() else []

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not FILES, reason=f"no pabulib files in {pabulib_dir()} (set PABULIB_DIR)"),
]


def _import_and_count(path) -> tuple[int, Tally, str]:
    out = io.StringIO()
    call_command("import_pabulib", str(path), stdout=out, stderr=io.StringIO())
    campaign_id = int(out.getvalue().strip().splitlines()[-1])
    tally_out = io.StringIO()
    call_command("tally", str(campaign_id), "--final", stdout=tally_out)
    return campaign_id, Tally.objects.get(campaign_id=campaign_id, kind="final"), tally_out.getvalue()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_import_and_final_tally_reproduce_the_file(path) -> None:
    election = pabulib.parse(path)
    if election.meta.get("rule") not in rules.RULES:
        pytest.skip(f"{path.name}: rule {election.meta.get('rule')!r} is not one the portal supports")
    _, tally, printed = _import_and_count(path)
    assert tally.status == "done"
    assert tally.ballots_counted == len(election.votes)
    rows = {row.entry.external_id: row for row in tally.rows.select_related("entry")}
    assert set(rows) == {p["project_id"] for p in election.projects}
    # Votes (and score, where published) as counted by PostgreSQL equal the file's columns.
    for project in election.projects:
        if project.get("votes"):
            assert rows[project["project_id"]].votes == int(project["votes"]), project["project_id"]
        if project.get("score"):
            assert rows[project["project_id"]].score == int(project["score"]), project["project_id"]
    # The command prints one selected entry per line, then the summary.
    lines = printed.strip().splitlines()
    assert [line.split("\t")[0] for line in lines[:-1]] == [
        r.entry.external_id for r in sorted(rows.values(), key=lambda r: r.rank) if r.selected
    ]
    assert f"{tally.ballots_counted} ballots" in lines[-1]
    if "selected" not in election.project_columns:
        pytest.skip(f"{path.name} records no official selection (no 'selected' column)")
    official = {p["project_id"] for p in election.projects if p.get("selected") == "1"}
    assert {pid for pid, row in rows.items() if row.selected} == official
