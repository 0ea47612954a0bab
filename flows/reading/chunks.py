"""Read a survey export in chunks of rows, so that a large wave never sits in memory whole.

A UTF-8 (or ASCII) delimited file is streamed: its layout (delimiter, header, Excel's ``sep=``
line) and its encoding are checked on the whole file exactly as :func:`read_raw` checks them,
then pandas reads ``chunk_rows`` rows at a time. SPSS ``.sav`` and Stata ``.dta`` files are
read ``chunk_rows`` rows at a time by pyreadstat (``row_offset``/``row_limit``; each chunk
carries the file's value labels). Every other file is read whole by :func:`read_raw` and given
as one chunk: XLSX (a sheet holds at most 1,048,576 rows, and calamine reads a sheet whole),
and text in another encoding or with old Mac line endings.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from flows.errors import IngestError
from flows.reading.delimited import (
    SNIFF_CHARACTERS,
    csv_options,
    delimited_errors,
    delimited_layout,
    reject_cut_last_row,
)
from flows.reading.detection import (
    SAMPLE_SIZE,
    FileFormat,
    detect_format,
    format_from_extension,
    text_encoding_from_bytes,
)
from flows.reading.raw import (
    RawWave,
    nonblank_rows,
    read_raw,
    read_statistical_chunks,
    reject_header_only,
    statistical_row_count,
)
from flows.study import Study

# Rows per chunk: 50,000 rows of 100 text columns take about 0.3 GB in pandas.
DEFAULT_CHUNK_ROWS = 50_000
STREAMED_ENCODINGS = ("utf-8", "utf-8-sig")
_BLOCK_BYTES = 1 << 22


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RawChunk:
    """Consecutive rows of an export: ``first_row`` is the 1-based file row of its first."""

    raw: RawWave
    first_row: int
    # The file's data rows, as far as known before reading it all (a delimited file's line
    # count: an answer holding a line break counts twice); for progress, never for checks.
    file_rows: int


def read_raw_chunks(
    path: Path, *, study: Study, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[RawChunk]:
    """The export's rows in chunks of at most ``chunk_rows``, in file order.

    Raises what :func:`read_raw` raises for the same file (a delimited file's last row is
    checked before its first chunk is given).
    """
    if chunk_rows < 1:
        raise ValueError(
            f"read_raw_chunks: chunk_rows must be at least 1; found {chunk_rows!r}. "
            "Give a positive number of rows."
        )
    path = Path(path)
    statistical = _statistical_format(path)
    if statistical is not None:
        yield from _statistical_chunks(path, statistical, study=study, chunk_rows=chunk_rows)
        return
    layout = _streamable_layout(path)
    if layout is None:
        whole = read_raw(path, study=study)
        yield RawChunk(raw=whole, first_row=1, file_rows=len(whole.frame))
        return
    encoding, delimiter, skip, width, lines = layout
    file_rows = max(0, lines - skip - 1)
    # Before any chunk is coded: a cut last row is the file's fault, not a coding error.
    reject_cut_last_row(path, _tail_text(path, encoding), delimiter, width)
    first_row = 1
    rows_with_values = 0
    columns: list[str] | None = None
    with delimited_errors(path, delimiter):
        reader = pd.read_csv(path, chunksize=chunk_rows, **csv_options(encoding, delimiter, skip))
        with reader:
            for frame in reader:
                columns = list(frame.columns)
                if frame.shape[1] == 0:
                    raise IngestError(
                        f"read_raw: {path.name} has no columns. Export the wave again with its "
                        "header."
                    )
                rows_with_values += int(nonblank_rows(frame).sum())
                frame.index = pd.RangeIndex(len(frame))
                raw = RawWave(
                    source=path, format="csv", frame=frame, encoding=encoding, delimiter=delimiter
                )
                yield RawChunk(raw=raw, first_row=first_row, file_rows=file_rows)
                first_row += len(frame)
    if columns is None or rows_with_values == 0:
        # A header without rows: read_raw says so in its own words.
        read_raw(path, study=study)


def _statistical_format(path: Path) -> FileFormat | None:
    """``sav`` or ``dta`` when the file's content is an SPSS or Stata file, else None."""
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_SIZE)
    found = detect_format(path, sample)
    return found if found in ("sav", "dta") else None


def _statistical_chunks(
    path: Path, found: FileFormat, *, study: Study, chunk_rows: int
) -> Iterator[RawChunk]:
    first_row = 1
    rows_with_values = 0
    file_rows = statistical_row_count(path, found)
    for raw in read_statistical_chunks(path, found, chunk_rows=chunk_rows):
        if raw.frame.shape[1] == 0:
            reject_header_only(raw)
        rows_with_values += int(nonblank_rows(raw.frame).sum())
        yield RawChunk(raw=raw, first_row=first_row, file_rows=max(file_rows, len(raw.frame)))
        first_row += len(raw.frame)
    if rows_with_values == 0:
        read_raw(path, study=study)


def _streamable_layout(path: Path) -> tuple[str, str, int, int, int] | None:
    """(encoding, delimiter, lines to skip, header width, lines) of a delimited UTF-8 file that
    can be streamed; None when the file is to be read whole."""
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        sample = handle.read(max(SAMPLE_SIZE, 4 * SNIFF_CHARACTERS))
    if detect_format(path, sample[:SAMPLE_SIZE]) != "csv" or b"\n" not in sample:
        return None
    encoding = text_encoding_from_bytes(sample[:SNIFF_CHARACTERS]) or "utf-8"
    lines = _decoded_lines(path, encoding) if encoding in STREAMED_ENCODINGS else None
    if lines is None:
        return None
    text = sample.decode(encoding, errors="ignore")
    delimiter, skip, width = delimited_layout(
        path, text, known_extension=format_from_extension(path) is not None
    )
    return encoding, delimiter, skip, width, lines


def _decoded_lines(path: Path, encoding: str) -> int | None:
    """The file's lines (a last line without a line break counts) when every byte decodes in
    ``encoding``, else None; read in blocks."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    last = b""
    with path.open("rb") as handle:
        try:
            for block in iter(lambda: handle.read(_BLOCK_BYTES), b""):
                decoder.decode(block)
                lines += block.count(b"\n")
                last = block
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    return lines + (1 if last and not last.endswith(b"\n") else 0)


def _tail_text(path: Path, encoding: str) -> str:
    """The file's last ``4 x SNIFF_CHARACTERS`` bytes as text (the whole file when shorter):
    at least the last ``SNIFF_CHARACTERS`` characters, which the last-row check reads."""
    size = path.stat().st_size
    start = max(0, size - 4 * SNIFF_CHARACTERS)
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read()
    text = data.decode(encoding if start == 0 else "utf-8", errors="ignore")
    if start > 0:
        # Begin at a whole line, as the check reads whole records.
        text = text[text.find("\n") + 1 :]
    return text
