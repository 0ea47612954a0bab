"""Look inside an XLSX sheet's XML before reading it: its extent and its error cells.

A reader allocates the rectangle from A1 to the last cell: one stray cell at XFD1048576 asks
for 17 billion cells (hundreds of GB) and kills the process. Error cells (``#DIV/0!``) read as
blanks. Both are found here, from the XML, without building the grid.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from flows.errors import IngestError

# The most cells (rows x columns) a survey sheet may span: 1,000,000 interviews x 200 columns.
MAXIMUM_CELLS = 200_000_000

_CELL_COLUMN = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})[0-9]+\"")
_LAST_CELL_ROW = re.compile(rb"\br=\"[A-Z]{1,3}([0-9]+)\"")
_ROW = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"([0-9]+)\"")
_ERROR_CELL = re.compile(
    rb"<(?:\w+:)?c\b(?=[^>]*\bt=\"e\")[^>]*?\br=\"([A-Z]{1,3})([0-9]+)\"[^>]*>"
    rb"(?:(?!</(?:\w+:)?c>).)*?<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>",
    re.DOTALL,
)
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTRIBUTE = re.compile(rb"([\w:]+)=\"([^\"]*)\"")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")


@dataclass(frozen=True, slots=True, kw_only=True)
class SheetScan:
    """What a sheet's XML holds: its last row and column, cell count and error cells."""

    last_row: int
    last_column: int
    n_cells: int
    errors: list[tuple[int, int, str]] = field(default_factory=list)  # 1-based row, col, text

    @property
    def spanned_cells(self) -> int:
        return self.last_row * self.last_column


def column_number(letters: str) -> int:
    """A1-style column letters as a 1-based number: A -> 1, XFD -> 16384."""
    number = 0
    for letter in letters:
        number = number * 26 + (ord(letter) - ord("A") + 1)
    return number


def column_letters(number: int) -> str:
    """A 1-based column number as letters: 1 -> A, 16384 -> XFD."""
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _attributes(tag: bytes) -> dict[str, str]:
    return {
        name.decode().split(":")[-1]: value.decode(errors="replace")
        for name, value in _ATTRIBUTE.findall(tag)
    }


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part in the archive (from workbook.xml and its relationships)."""
    try:
        workbook = archive.read("xl/workbook.xml")
        relations = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets: dict[str, str] = {}
    for tag in _RELATIONSHIP.findall(relations):
        attributes = _attributes(tag)
        target = attributes.get("Target", "")
        if not target:
            continue
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        targets[attributes.get("Id", "")] = str(PurePosixPath(part))
    parts: dict[str, str] = {}
    for tag in _SHEET.findall(workbook):
        attributes = _attributes(tag)
        relation = attributes.get("id")
        if relation in targets:
            parts[attributes.get("name", "")] = targets[relation]
    return parts


def scan_sheet(path: Path, sheet: str) -> SheetScan | None:
    """Scan one sheet's XML; None when the workbook does not map the sheet to a part."""
    with zipfile.ZipFile(path) as archive:
        part = sheet_parts(archive).get(sheet)
        if part is None or part not in archive.namelist():
            return None
        data = archive.read(part)
    letters_found = _CELL_COLUMN.findall(data)
    rows = [int(digits) for digits in _ROW.findall(data)]
    cell_rows = _LAST_CELL_ROW.findall(data[-4096:]) if not rows else []
    last_row = max(rows) if rows else max((int(d) for d in cell_rows), default=0)
    last_column = max((column_number(c.decode()) for c in set(letters_found)), default=0)
    n_cells = len(letters_found)
    errors = [
        (int(digits), column_number(letters.decode()), value.decode(errors="replace"))
        for letters, digits, value in _ERROR_CELL.findall(data)
    ]
    return SheetScan(last_row=last_row, last_column=last_column, n_cells=n_cells, errors=errors)


def check_sheet_extent(path: Path, sheet: str, scan: SheetScan | None) -> None:
    """Refuse a sheet whose cells span more than :data:`MAXIMUM_CELLS` before reading it."""
    if scan is None or scan.spanned_cells <= MAXIMUM_CELLS:
        return
    corner = f"{column_letters(scan.last_column)}{scan.last_row}"
    raise IngestError(
        f"read_raw: sheet {sheet!r} of {path.name} reaches cell {corner} "
        f"({scan.last_row:,} rows x {scan.last_column:,} columns) but holds {scan.n_cells:,} "
        "cells; reading it would need more memory than a survey wave can. Delete the rows and "
        "columns after the data (Ctrl+End shows the last cell used), save, and export again."
    )
