"""Read a delimited text export: detect its encoding and delimiter, keep every code as text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from flows.errors import IngestError
from flows.reading.detection import text_encoding_from_bytes

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SNIFF_CHARACTERS = 64 * 1024
SNIFF_RECORDS = 50
EXCEL_SEPARATOR_HINT = re.compile(r"^\"?sep=(.)\"?[ \t]*\r?\n")


def decode_text(path: Path, data: bytes) -> tuple[str, str, bytes]:
    """The file's text, the encoding it was decoded with and the bytes that encoding reads."""
    encoding = text_encoding_from_bytes(data[:SNIFF_CHARACTERS]) or "utf-8"
    if encoding in ("utf-8", "utf-8-sig"):
        try:
            return data.decode(encoding), encoding, data
        except UnicodeDecodeError:
            if encoding == "utf-8-sig":
                data = data[3:]
            encoding = "cp1252"
    if encoding == "cp1252":
        try:
            return data.decode("cp1252"), "cp1252", data
        except UnicodeDecodeError:
            # Bytes cp1252 leaves undefined (0x81, 0x8d, ...): Latin-1 maps every byte.
            return data.decode("latin-1"), "latin-1", data
    try:
        return data.decode(encoding), encoding, data
    except UnicodeDecodeError as error:
        raise IngestError(
            f"read_raw: {path.name} looks like {encoding.upper()} text but byte {error.start} "
            f"cannot be decoded ({error.reason}); the file is truncated or mixes encodings. "
            "Export the wave again as UTF-8 CSV."
        ) from None


def _reject_non_tabular(path: Path, text: str) -> None:
    start = text.lstrip("\ufeff \t\r\n")[:200].lower()
    if start.startswith(("<!doctype html", "<html", "<?xml", "<")):
        raise IngestError(
            f"read_raw: {path.name} holds an HTML or XML document, not a table; a download "
            "often saves the login or error page instead of the export. Download the export "
            "again."
        )
    if start.startswith(("{", "[")):
        raise IngestError(
            f"read_raw: {path.name} holds JSON, not a table. Export the wave as CSV or XLSX."
        )


def detect_delimiter(text: str) -> str | None:
    """The delimiter giving the most consistent multi-column records; None for one column."""
    sample = text[:SNIFF_CHARACTERS]
    truncated = len(text) > len(sample)
    best: tuple[float, int, str] | None = None
    for delimiter in DELIMITERS:
        try:
            records = [
                record
                for _, record in zip(
                    range(SNIFF_RECORDS + 1),
                    csv.reader(io.StringIO(sample), delimiter=delimiter),
                    strict=False,
                )
                if record
            ]
        except csv.Error:
            continue
        if truncated and len(records) > 1:
            records = records[:-1]
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        data = records[1:]
        consistency = sum(len(r) == width for r in data) / len(data) if data else 1.0
        score = (consistency, width, delimiter)
        if best is None or score[:2] > best[:2]:
            best = score
    return None if best is None else best[2]


def delimited_layout(path: Path, text: str, *, known_extension: bool) -> tuple[str, int, int]:
    """The delimiter, the lines to skip (Excel's ``sep=`` line) and the header's width, from
    the file's first text.

    Refuses what is no table (HTML, JSON), a header naming a column twice and a first row
    wider than the header.
    """
    text = text[: SNIFF_CHARACTERS + 1].removeprefix("\ufeff")
    _reject_non_tabular(path, text[:SNIFF_CHARACTERS])
    # Excel's "sep=;" first line names the delimiter and is no part of the table.
    hint = EXCEL_SEPARATOR_HINT.match(text)
    skip = 1 if hint else 0
    if hint:
        text = text[hint.end() :]
    delimiter = hint.group(1) if hint else detect_delimiter(text)
    if delimiter is None:
        if not known_extension:
            raise IngestError(
                f"read_raw: cannot tell the format of {path.name}: the extension "
                f"{path.suffix!r} is not one we read and the text has no comma, semicolon, tab "
                "or pipe between columns. Export the wave as CSV, XLSX, SPSS .sav or Stata .dta."
            )
        delimiter = ","
    first_records = csv.reader(io.StringIO(text[:SNIFF_CHARACTERS]), delimiter=delimiter)
    header = next(first_records, [])
    reject_duplicate_names(path, header)
    try:
        first_row = next(first_records, [])
    except csv.Error:
        first_row = []
    if len(first_row) > len(header) > 0:
        # pandas would silently take the first column as an index and shift every column.
        raise IngestError(
            f"read_raw: row 1 of {path.name} has {len(first_row)} fields but the header names "
            f"{len(header)} columns; an unquoted {DELIMITER_NAMES.get(delimiter, repr(delimiter))} "
            "in an answer, or a missing header name, shifts every column. Quote answers that "
            "hold the delimiter (or name every column) and export the wave again."
        )
    return delimiter, skip, len(header)


def read_delimited(
    path: Path, data: bytes, *, known_extension: bool
) -> tuple[pd.DataFrame, str, str]:
    """The raw frame (every column as text), the encoding and the delimiter of a text export."""
    text, encoding, data = decode_text(path, data)
    if "\r" in text and "\n" not in text:
        # Old Mac exports end lines with CR alone, which the C parser and csv cannot split.
        text = text.replace("\r", "\n")
        data, encoding = text.encode("utf-8"), "utf-8"
    delimiter, skip, width = delimited_layout(path, text, known_extension=known_extension)
    with delimited_errors(path, delimiter):
        # pandas decodes the bytes itself: faster than handing it a (re-encoded) str.
        frame = pd.read_csv(io.BytesIO(data), **csv_options(encoding, delimiter, skip))
    reject_cut_last_row(path, text, delimiter, width)
    return frame, encoding, delimiter


def csv_options(encoding: str, delimiter: str, skip: int) -> dict[str, Any]:
    """pandas.read_csv options that keep every cell as the text it holds."""
    return {
        "encoding": encoding,
        "sep": delimiter,
        "skiprows": skip,
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "engine": "c",
    }


@contextmanager
def delimited_errors(path: Path, delimiter: str) -> Iterator[None]:
    """pandas' empty-file and parser errors as messages that name the file and the fix."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise IngestError(
            f"read_raw: {path.name} is empty (no header and no rows). Export the wave again."
        ) from None
    except pd.errors.ParserError as error:
        raise IngestError(
            f"read_raw: {path.name} is not a consistent "
            f"{DELIMITER_NAMES.get(delimiter, repr(delimiter))}-separated "
            f"table ({error}). Check for unquoted delimiters or line breaks in answers and export "
            "the wave again."
        ) from None


def reject_cut_last_row(path: Path, text: str, delimiter: str, width: int) -> None:
    """Raise when the last record is shorter than the one before it and the header.

    An interrupted download or copy cuts the file mid-row; the C parser pads such a row with
    empty fields, which would store a partial interview.
    """
    if width < 2:
        return
    tail = text[-SNIFF_CHARACTERS:]
    if len(tail) < len(text):
        tail = tail[tail.find("\n") + 1 :]
    try:
        records = [
            record for record in csv.reader(io.StringIO(tail), delimiter=delimiter) if record
        ]
    except csv.Error:
        return  # the parser has already read the file; this is only a cross-check
    if len(records) < 2 or len(records[-1]) >= width or len(records[-2]) < width:
        return
    ending = "" if text.endswith(("\n", "\r")) else " and the file does not end with a line break"
    raise IngestError(
        f"read_raw: the last row of {path.name} has {len(records[-1])} of {width} fields"
        f"{ending}; the file was cut off, as by an interrupted download or copy. Download or "
        "export the wave again."
    )


def reject_duplicate_names(path: Path, header: list[str]) -> None:
    """Raise when the header names one column twice (empty names are left to pandas)."""
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name.strip():
            continue
        if name in seen:
            raise IngestError(
                f"read_raw: {path.name} names the column {name!r} twice (columns "
                f"{seen[name]} and {position}); the reader cannot tell which one holds the "
                "answers. Rename or remove one of them in the export."
            )
        seen[name] = position
