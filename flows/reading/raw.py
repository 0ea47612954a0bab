"""Read any survey export into its raw columns, value labels and user-missing codes."""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from flows.errors import IngestError
from flows.reading.delimited import read_delimited, reject_duplicate_names
from flows.reading.detection import (
    SAMPLE_SIZE,
    FileFormat,
    detect_format,
    format_from_extension,
)
from flows.reading.workbook_scan import SheetScan, check_sheet_extent, scan_sheet
from flows.study import Study

# Sheets that XLSForm, Kobo and survey firms put beside the data; never the data itself.
NON_DATA_SHEETS = frozenset(
    {
        "choices",
        "survey",
        "settings",
        "readme",
        "read_me",
        "labels",
        "value_labels",
        "codebook",
        "dictionary",
        "data_dictionary",
        "notes",
        "instructions",
        "metadata",
        "variables",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RawWave:
    """One survey export as read: original column names, every row, the file's own metadata."""

    source: Path
    format: FileFormat
    frame: pd.DataFrame
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    user_missing: dict[str, list[Any]] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None


def read_raw(path: Path, *, study: Study) -> RawWave:
    """Read a CSV, XLSX, SPSS or Stata export, judging its format by content first."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(
            f"read_raw: no file at {str(path)!r}. Give the path to a survey export "
            "(CSV, XLSX, SPSS .sav, Stata .dta or a KoboToolbox/ODK export)."
        )
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_SIZE)
    found = detect_format(path, sample)
    claimed = format_from_extension(path)
    if found == "csv":
        frame, encoding, delimiter = read_delimited(
            path, path.read_bytes(), known_extension=claimed is not None
        )
        raw = RawWave(
            source=path, format="csv", frame=frame, encoding=encoding, delimiter=delimiter
        )
    elif found == "xlsx":
        raw = _read_xlsx(path, study)
    else:
        raw = _read_statistical(path, found)
    reject_header_only(raw)
    return raw


def reject_header_only(raw: RawWave) -> None:
    frame = raw.frame
    if frame.shape[1] == 0:
        raise IngestError(
            f"read_raw: {raw.source.name} has no columns. Export the wave again with its header."
        )
    if len(frame) == 0 or not nonblank_rows(frame).any():
        where = f" (sheet {raw.sheet!r})" if raw.sheet else ""
        raise IngestError(
            f"read_raw: {raw.source.name}{where} holds a header of {frame.shape[1]} columns but "
            "no data rows. Export the wave again once interviews have been submitted."
        )


def nonblank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Which rows hold at least one value (not missing and not an empty string)."""
    filled = np.zeros(len(frame), dtype=bool)
    for position in range(frame.shape[1]):
        # Usually the first columns fill every row: look only at rows still empty.
        pending = np.flatnonzero(~filled)
        if len(pending) == 0:
            break
        column = frame.iloc[pending, position]
        present = column.notna().to_numpy()
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            present = present & (column.astype(str).str.strip() != "").to_numpy()
        filled[pending] = present
    return filled


# -- XLSX ------------------------------------------------------------------------------------
def _read_xlsx(path: Path, study: Study) -> RawWave:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        metadata = workbook.sheets_metadata
    except (CalamineError, OSError, ValueError) as error:
        raise IngestError(
            f"read_raw: {path.name} is an XLSX workbook that cannot be read ({error}); the file "
            "is corrupt or truncated. Open it in a spreadsheet program and save it again, or "
            "export the wave again."
        ) from None
    worksheets = [
        sheet.name
        for sheet in metadata
        if sheet.typ == SheetTypeEnum.WorkSheet and sheet.visible == SheetVisibleEnum.Visible
    ] or [sheet.name for sheet in metadata if sheet.typ == SheetTypeEnum.WorkSheet]
    scans = _scan_sheets(path, worksheets)
    try:
        name, rows, start = _choose_sheet(path, workbook, worksheets, study.reading.sheet)
    except (CalamineError, ValueError) as error:
        raise IngestError(
            f"read_raw: a sheet of {path.name} cannot be read ({error}); the file is corrupt. "
            "Open it in a spreadsheet program and save it again, or export the wave again."
        ) from None
    rows = _with_error_cells(rows, start, scans.get(name))
    header = [_header_text(cell) for cell in rows[0]] if rows else []
    reject_duplicate_names(path, header)
    body = rows[1:]
    width = len(header)
    frame = pd.DataFrame(body, columns=range(width)) if body else pd.DataFrame(columns=range(width))
    keep = [
        position
        for position, label in enumerate(header)
        if label or (len(frame) and nonblank_rows(frame.iloc[:, [position]]).any())
    ]
    frame = frame.iloc[:, keep]
    frame.columns = pd.Index(
        [header[position] or f"Unnamed: {position}" for position in keep], dtype=object
    )
    return RawWave(source=path, format="xlsx", frame=frame.reset_index(drop=True), sheet=name)


def _scan_sheets(path: Path, worksheets: list[str]) -> dict[str, SheetScan | None]:
    """Each sheet's extent and error cells, refusing a sheet too large to read."""
    try:
        scans = {name: scan_sheet(path, name) for name in worksheets}
    except (OSError, ValueError, zipfile.BadZipFile):
        return {}  # the reader will say what is wrong with the archive
    for name, scan in scans.items():
        check_sheet_extent(path, name, scan)
    return scans


def _sheet_rows(workbook: CalamineWorkbook, name: str) -> tuple[list[list[Any]], tuple[int, int]]:
    sheet = workbook.get_sheet_by_name(name)
    start = sheet.start or (0, 0)
    return sheet.to_python(), (int(start[0]), int(start[1]))


def _with_error_cells(
    rows: list[list[Any]], start: tuple[int, int], scan: SheetScan | None
) -> list[list[Any]]:
    """Put each error cell's text (#DIV/0!) back where the reader left a blank."""
    if scan is None or not scan.errors:
        return rows
    for row, column, text in scan.errors:
        i, j = row - 1 - start[0], column - 1 - start[1]
        if 0 <= i < len(rows) and 0 <= j < len(rows[i]):
            rows[i][j] = text
    return rows


def _choose_sheet(
    path: Path,
    workbook: CalamineWorkbook,
    worksheets: list[str],
    wanted: str | None,
) -> tuple[str, list[list[Any]], tuple[int, int]]:
    if wanted is not None:
        matches = [name for name in worksheets if name == wanted] or [
            name for name in worksheets if name.strip().casefold() == wanted.strip().casefold()
        ]
        if not matches:
            raise IngestError(
                f"read_raw: {path.name} has no sheet {wanted!r} (reading.sheet in the study "
                f"file); its sheets are {worksheets}. Set reading.sheet to one of them."
            )
        return (matches[0], *_sheet_rows(workbook, matches[0]))
    if len(worksheets) == 1:
        return (worksheets[0], *_sheet_rows(workbook, worksheets[0]))
    candidates: dict[str, tuple[list[list[Any]], tuple[int, int]]] = {}
    for name in worksheets:
        if _sheet_key(name) in NON_DATA_SHEETS:
            continue
        rows, start = _sheet_rows(workbook, name)
        if rows:
            candidates[name] = (rows, start)
    if len(candidates) == 1:
        name, (rows, start) = next(iter(candidates.items()))
        return name, rows, start
    if not candidates:
        raise IngestError(
            f"read_raw: {path.name} has no sheet that looks like survey data; its sheets "
            f"{worksheets} are empty or named like form definitions. Set reading.sheet in the "
            "study file to the sheet holding the interviews."
        )
    raise IngestError(
        f"read_raw: {path.name} has several sheets that could hold the interviews: "
        f"{list(candidates)}. Set reading.sheet in the study file to the one holding the data "
        '(for example reading.sheet = "' + next(iter(candidates)) + '").'
    )


def _sheet_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().casefold())


def _header_text(cell: Any) -> str:
    if isinstance(cell, float) and math.isfinite(cell) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip() if cell is not None else ""


# -- SPSS and Stata --------------------------------------------------------------------------
def _read_statistical(path: Path, found: FileFormat) -> RawWave:
    chunks = read_statistical_chunks(path, found, chunk_rows=None)
    return next(chunks)


def statistical_row_count(path: Path, found: FileFormat) -> int:
    """The rows an SPSS or Stata file declares in its header (0 when it declares none or the
    header cannot be read: reading the file then says why)."""
    reader: Any = pyreadstat.read_sav if found == "sav" else pyreadstat.read_dta
    try:
        _, meta = reader(str(path), metadataonly=True)
    except Exception:  # pyreadstat's own errors; read_statistical_chunks reports them
        return 0
    rows = getattr(meta, "number_rows", None)
    return int(rows) if isinstance(rows, int) and rows > 0 else 0


def read_statistical_chunks(
    path: Path, found: FileFormat, *, chunk_rows: int | None
) -> Iterator[RawWave]:
    """An SPSS or Stata file whole (``chunk_rows`` None) or ``chunk_rows`` rows at a time
    (pyreadstat's ``row_offset``/``row_limit``), each with the file's labels."""
    program = "SPSS" if found == "sav" else "Stata"
    # user_missing=True: declared user-missing codes (don't know, refused) would otherwise
    # arrive as NaN and their reason would be lost (pyreadstat docs).
    options: dict[str, Any] = {"user_missing": True, "apply_value_formats": False}
    reader: Any = pyreadstat.read_sav
    if found != "sav":
        reader = pyreadstat.read_dta
        options["dates_as_pandas_datetime"] = True
    offset = 0
    while True:
        try:
            if chunk_rows is None:
                frame, meta = reader(str(path), **options)
            else:
                frame, meta = reader(str(path), row_offset=offset, row_limit=chunk_rows, **options)
        except Exception as error:  # pyreadstat raises its own ReadstatError/PyreadstatError
            raise IngestError(
                f"read_raw: {path.name} starts like a {program} file but cannot be read "
                f"({type(error).__name__}: {error}); it is corrupt or truncated. Export the "
                "wave again."
            ) from None
        if offset > 0 and len(frame) == 0:
            return
        labels = {
            column: dict(mapping) for column, mapping in (meta.variable_value_labels or {}).items()
        }
        yield RawWave(
            source=path,
            format=found,
            frame=frame,
            value_labels=labels,
            user_missing=_user_missing_codes(frame, meta),
            encoding=getattr(meta, "file_encoding", None),
        )
        offset += len(frame)
        if chunk_rows is None or len(frame) < chunk_rows:
            return


def _user_missing_codes(frame: pd.DataFrame, meta: Any) -> dict[str, list[Any]]:
    codes: dict[str, list[Any]] = {}
    for column, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        found: list[Any] = []
        for bounds in ranges:
            low, high = bounds["lo"], bounds["hi"]
            if low == high:
                found.append(low)
            elif column in frame.columns and pd.api.types.is_numeric_dtype(frame[column]):
                # A range (e.g. 97-99): the codes of the range the file actually holds.
                values = frame[column]
                inside = values[(values >= low) & (values <= high)].unique()
                found.extend(sorted(float(v) for v in inside))
        codes[column] = found
    for column, values in (getattr(meta, "missing_user_values", None) or {}).items():
        codes.setdefault(column, []).extend(values)
    return codes
