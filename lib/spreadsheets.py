"""Cells for CSV and XLSX downloads that a spreadsheet never runs as a formula.

Titles and names in the exports are typed by residents. Excel and LibreOffice treat a
CSV field that begins with `=`, `+`, `-` or `@` (or a tab or carriage return before
one; LibreOffice also after spaces, which it can trim on import) as a formula, and
openpyxl stores such a string as a live formula cell. CSV text gets a leading
apostrophe (OWASP's advice: shown, but never evaluated); XLSX text is a string cell
holding exactly the text. Numbers are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    # After any leading whitespace too (spaces, no-break spaces, line feeds).
    if isinstance(value, str) and (value.startswith(FORMULA_PREFIXES) or value.lstrip().startswith(FORMULA_PREFIXES)):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(value) for value in values]


def xlsx_append(sheet: Any, values: Iterable[Any]) -> None:
    """`sheet.append(values)`, with every text written as a string cell (type `s`)."""
    row = list(values)
    sheet.append(row)
    for cell, value in zip(sheet[sheet.max_row], row, strict=False):
        if isinstance(value, str):
            # openpyxl guesses a formula from a leading "="; the type is set after the value.
            cell.data_type = "s"
