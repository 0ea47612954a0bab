"""Ingest one survey wave: archive the raw file, code it, pseudonymise it, store it."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from flows.errors import IngestError
from flows.faults import fault_point
from flows.linkage import check_key, check_panel_link, record_key
from flows.locking import study_lock
from flows.privacy import pseudonym_key, pseudonymise
from flows.progress import Advance, stage_progress
from flows.reading import CodedWave, code_wave
from flows.reading.chunks import DEFAULT_CHUNK_ROWS, read_raw_chunks
from flows.reading.raw import nonblank_rows
from flows.rederive import record_coding, waves_to_rederive
from flows.study import Study
from flows.warehouse import (
    INTERVIEW_COLUMNS,
    NOT_ANSWERED,
    OUT_OF_RANGE,
    WarehouseConnection,
    WarehouseLocation,
    connect,
    current_wave,
    insert_parquet,
    warehouse_path,
)

IngestStatus = Literal["stored", "replaced", "unchanged"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestOutcome:
    """What happened to one file."""

    study_id: str
    wave: str
    file_name: str
    sha256: str
    status: IngestStatus
    version: int
    rows_read: int
    rows_stored: int
    format: str
    message: str


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest_wave(
    study: Study,
    path: Path | str,
    *,
    wave: str | None = None,
    replace: bool = False,
    rederive: bool = False,
    file_name: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> IngestOutcome:
    """Store one wave file in the study's warehouse in one transaction.

    An identical file already stored is a no-op. A different file for a stored wave is refused
    unless ``replace``; the replaced version stays in the raw archive and the waves table.
    Nothing is written to the warehouse when the file cannot be read or coded. Holds the
    study's lock (another command writing the study makes this fail at once). ``rederive``
    codes an archived file again as a new version (the study file changed); ``file_name`` is
    then the name it was delivered under.

    A delimited file is read ``chunk_rows`` rows at a time and each chunk is coded,
    pseudonymised and staged as Parquet before one bulk load, so memory does not grow with the
    file (see :mod:`flows.reading.chunks` for the formats read whole).
    """
    with study_lock(study, purpose=f"ingest {Path(path).name}"):
        return _ingest_wave(
            study,
            Path(path),
            wave=wave,
            replace=replace,
            rederive=rederive,
            file_name=file_name,
            chunk_rows=chunk_rows,
        )


def _ingest_wave(
    study: Study,
    path: Path,
    *,
    wave: str | None,
    replace: bool,
    rederive: bool = False,
    file_name: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> IngestOutcome:
    if not path.is_file():
        raise IngestError(
            f"ingest_wave: no file at {str(path)!r}. Give the path to a survey export "
            f"(CSV, XLSX, SPSS .sav, Stata .dta or a KoboToolbox/ODK export)."
        )
    checksum = file_checksum(path)
    database = warehouse_path(study)
    with connect(database, read_only=True) as connection:
        already = connection.execute(
            "SELECT wave, version FROM waves WHERE study_id = ? AND sha256 = ? "
            "AND status = 'stored' LIMIT 1",
            [study.id, checksum],
        ).fetchone()
    if already is not None and not rederive:
        return IngestOutcome(
            study_id=study.id,
            wave=already[0],
            file_name=path.name,
            sha256=checksum,
            status="unchanged",
            version=int(already[1]),
            rows_read=0,
            rows_stored=0,
            format="",
            message=(
                f"{path.name} is already stored as wave {already[0]!r} (same SHA-256); "
                "nothing to do."
            ),
        )

    # The staged chunks sit beside the warehouse file (mkdtemp makes the folder owner-only);
    # with a PostgreSQL warehouse, in the folder the study's DuckDB file would be in.
    staging_parent = (
        database.parent
        if isinstance(database, Path)
        else (study.root / study.locations.warehouse).parent
    )
    staging_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=staging_parent) as folder:
        staged = _stage_wave(
            study,
            path,
            wave=wave,
            database=database,
            staging=Path(folder),
            refuse_stored=not (replace or rederive),
            chunk_rows=chunk_rows,
        )
        current = staged.current
        make_private_folder(study.archive)
        # A re-derived wave is read from the archive: its raw file is already there.
        archive_path = (
            path if rederive else archive_file(path, study.archive / staged.wave, checksum)
        )
        fault_point("ingest-after-archive")
        version = 1 if current is None else int(str(current["version"])) + 1
        now = datetime.now()

        with connect(database) as connection:
            connection.execute("BEGIN TRANSACTION")
            try:
                register_study(connection, study, now)
                record_key(connection, study, staged.key, now)
                if current is not None:
                    _retire_version(
                        connection, study.id, staged.wave, int(str(current["version"])), now
                    )
                connection.execute(
                    "INSERT INTO waves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'stored', ?, ?, NULL, ?)",
                    [
                        study.id,
                        staged.wave,
                        version,
                        study.wave_names.index(staged.wave),
                        file_name or path.name,
                        checksum,
                        staged.source_format,
                        staged.row_count,
                        staged.row_count,
                        str(archive_path.relative_to(study.root))
                        if archive_path.is_relative_to(study.root)
                        else str(archive_path),
                        now,
                        _describe_dropped(staged.dropped_columns, staged.missing_items),
                    ],
                )
                fault_point("ingest-mid-transaction")
                keys = {"study_id": study.id, "wave": staged.wave, "version": version}
                insert_parquet(connection, "interviews", staged.interviews, keys)
                insert_parquet(connection, "answers", staged.answers, keys)
                record_coding(connection, study, staged.wave, version)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
    status: IngestStatus = "stored" if current is None else "replaced"
    return IngestOutcome(
        study_id=study.id,
        wave=staged.wave,
        file_name=path.name,
        sha256=checksum,
        status=status,
        version=version,
        rows_read=staged.row_count,
        rows_stored=staged.row_count,
        format=staged.source_format,
        message=(
            f"{path.name}: wave {staged.wave!r} {status} as version {version} "
            f"({staged.row_count} interviews, {staged.n_answers} answers)."
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _StagedWave:
    """A wave read, coded and pseudonymised chunk by chunk into Parquet files, not yet stored."""

    wave: str
    source_format: str
    row_count: int
    n_answers: int
    dropped_columns: tuple[str, ...]
    missing_items: tuple[str, ...]
    interviews: Path
    answers: Path
    key: bytes
    current: dict[str, object] | None


def _stage_wave(
    study: Study,
    path: Path,
    *,
    wave: str | None,
    database: WarehouseLocation,
    staging: Path,
    refuse_stored: bool,
    chunk_rows: int,
) -> _StagedWave:
    """Read ``path`` chunk by chunk: code each chunk, pseudonymise its ids, append its
    interviews and long-form answers to Parquet files in ``staging``.

    The checks run where the whole-file path ran them: a stored wave is refused (unless
    replacing) and the pseudonym key checked once the first chunk names the wave; the panel
    link is checked on every id of the file at the end.
    """
    key = pseudonym_key(study.id, study.archive)
    also = id_roles(study)
    interviews_path = staging / "interviews.parquet"
    answers_path = staging / "answers.parquet"
    first: CodedWave | None = None
    current: dict[str, object] | None = None
    missing: list[str] = []
    raw_ids: list[pd.Series] = []
    pseudonyms: list[pd.Series] = []
    row_count = n_answers = 0
    advance: Advance | None = None
    with (
        ExitStack() as progress,
        pq.ParquetWriter(interviews_path, INTERVIEW_SCHEMA) as interview_writer,
        pq.ParquetWriter(answers_path, ANSWER_SCHEMA, **ANSWER_STAGING) as answer_writer,
    ):
        for chunk in read_raw_chunks(path, study=study, chunk_rows=chunk_rows):
            if advance is None:
                advance = progress.enter_context(
                    stage_progress(f"ingesting {path.name} (rows)", chunk.file_rows)
                )
            if not nonblank_rows(chunk.raw.frame).any():
                advance(len(chunk.raw.frame))
                continue
            chunked = chunk.first_row > 1 or len(chunk.raw.frame) == chunk_rows
            try:
                coded = code_wave(
                    chunk.raw,
                    study=study,
                    wave=wave if first is None else first.wave,
                    first_row=chunk.first_row,
                )
            except IngestError as error:
                if not chunked:
                    raise
                last = chunk.first_row + len(chunk.raw.frame) - 1
                raise IngestError(
                    f"{error} (Read in chunks: the count is of file rows "
                    f"{chunk.first_row}-{last}, the first chunk holding the problem.)"
                ) from None
            if first is None:
                first = coded
                with connect(database, read_only=True) as connection:
                    current = current_wave(connection, study.id, coded.wave)
                    if current is not None and refuse_stored:
                        raise IngestError(
                            f"ingest_wave: wave {coded.wave!r} of study {study.id!r} is already "
                            f"stored from {current['file_name']} (SHA-256 "
                            f"{str(current['sha256'])[:12]}...); {path.name} differs from it. "
                            "Re-run with --replace (replace=True) to store this file instead; "
                            "the stored version stays in the raw archive and the waves table."
                        )
                    check_key(connection, study, key)
            missing.extend(name for name in coded.missing_items if name not in missing)
            interviews = normalized_interviews(coded.frame, key, also=also)
            if "respondent" in coded.frame.columns:
                raw_ids.append(coded.frame["respondent"].reset_index(drop=True))
                pseudonyms.append(interviews["respondent"])
            interview_writer.write_table(interviews_table(interviews))
            answers = normalized_answers(coded.frame, study)
            answer_writer.write_table(answers)
            row_count += coded.row_count
            n_answers += answers.num_rows
            advance(len(chunk.raw.frame))
    if first is None:
        raise IngestError(
            f"code_wave: {path.name} holds no data rows. Export the wave again once interviews "
            "have been submitted."
        )
    if raw_ids:
        with connect(database, read_only=True) as connection:
            check_panel_link(
                connection,
                study,
                wave=first.wave,
                file_name=path.name,
                raw_ids=pd.concat(raw_ids, ignore_index=True),
                key=key,
                pseudonyms=pd.concat(pseudonyms, ignore_index=True),
            )
    return _StagedWave(
        wave=first.wave,
        source_format=first.source_format,
        row_count=row_count,
        n_answers=n_answers,
        dropped_columns=tuple(first.dropped_columns),
        missing_items=tuple(missing),
        interviews=interviews_path,
        answers=answers_path,
        key=key,
        current=current,
    )


# File names longer than this many bytes are cut in the archive (most file systems allow 255,
# and the archive adds a checksum prefix and a ".partial" suffix while copying).
ARCHIVE_NAME_BYTES = 200


def archive_name(checksum: str, file_name: str) -> str:
    """``<checksum prefix>-<file name>``, the name cut (extension kept) to fit any file system."""
    name = f"{checksum[:16]}-{file_name}"
    if len(name.encode("utf-8")) <= ARCHIVE_NAME_BYTES:
        return name
    suffix = Path(file_name).suffix[:16]
    stem = file_name[: len(file_name) - len(suffix)] if suffix else file_name
    room = ARCHIVE_NAME_BYTES - len(f"{checksum[:16]}-~{suffix}".encode())
    cut = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return f"{checksum[:16]}-{cut}~{suffix}"


def archive_file(path: Path, directory: Path, checksum: str) -> Path:
    """Copy the raw file, untouched, into the archive under its checksum (atomic rename).

    The raw zone holds identifying data: its folders are created owner-only (0700) and each
    archived file is readable by its owner only (0600).
    """
    make_private_folder(directory)
    target = directory / archive_name(checksum, path.name)
    if target.exists() and file_checksum(target) == checksum:
        target.chmod(0o600)
        return target
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle, path.open("rb") as source:
        shutil.copyfileobj(source, handle, 1 << 20)
    shutil.copystat(path, partial)
    partial.chmod(0o600)
    if file_checksum(partial) != checksum:
        partial.unlink()
        raise IngestError(
            f"archive_file: the copy of {path} in {directory} does not match its SHA-256; "
            "the file changed while it was read. Wait until it is fully written and retry."
        )
    partial.replace(target)
    return target


def make_private_folder(directory: Path) -> None:
    """Create ``directory`` (and missing parents) readable by the owner only (0700)."""
    missing = []
    for folder in (directory, *directory.parents):
        if folder.exists():
            break
        missing.append(folder)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in [*missing, directory]:
        folder.chmod(0o700)


def id_roles(study: Study) -> tuple[str, ...]:
    """Roles read from the respondent's own column (a respondent id doubling as the cluster
    or the submission id): they hold the id too, so they are pseudonymised like it."""
    columns = study.columns
    same = str(columns.respondent).strip().casefold()
    return tuple(
        role
        for role, name in (("submission", columns.submission), ("cluster", columns.cluster))
        if name is not None and name.strip().casefold() == same
    )


def normalized_interviews(
    coded: pd.DataFrame, key: bytes, *, also: tuple[str, ...] = ()
) -> pd.DataFrame:
    """One row per submitted interview with its role columns; ids pseudonymised.

    ``also`` names further roles holding respondent ids (pseudonymised with the same key).
    """
    interviews = pd.DataFrame(index=coded.index)
    for column in INTERVIEW_COLUMNS:
        interviews[column] = coded[column] if column in coded.columns else pd.NA
    for role in ("respondent", *also):
        interviews[role] = pseudonymise(interviews[role], key)
    return interviews.reset_index(drop=True)


def item_columns(coded: pd.DataFrame) -> list[str]:
    """The item columns of a coded wave (everything that is not a role column)."""
    roles = {*INTERVIEW_COLUMNS, "wave"}
    return [column for column in coded.columns if column not in roles]


# Arrow types of the staged interviews, as the interviews table stores them.
INTERVIEW_ARROW_TYPES: dict[str, pa.DataType] = {
    "row_number": pa.int64(),
    "respondent": pa.string(),
    "submission": pa.string(),
    "cluster": pa.string(),
    "stratum": pa.string(),
    "arm": pa.string(),
    "treated": pa.int8(),
    "weight": pa.float64(),
    "enumerator": pa.string(),
    "interview_start": pa.timestamp("us"),
    "interview_end": pa.timestamp("us"),
    "consent": pa.int8(),
}
INTERVIEW_SCHEMA = pa.schema(
    [(column, INTERVIEW_ARROW_TYPES[column]) for column in INTERVIEW_COLUMNS]
)
ANSWER_SCHEMA = pa.schema(
    [
        ("row_number", pa.int32()),
        ("item", pa.dictionary(pa.int32(), pa.string())),
        ("value", pa.float64()),
        ("answered_code", pa.float64()),
        ("missing_reason", pa.dictionary(pa.int8(), pa.string())),
    ]
)


# The staged answers are read once, by the bulk load: no column statistics, and dictionary
# pages only for the columns that are dictionaries (tried on the values, they cost a third of
# the write and save little once compressed).
ANSWER_STAGING: dict[str, object] = {
    "use_dictionary": ["item", "missing_reason"],
    "write_statistics": False,
}


def interviews_table(interviews: pd.DataFrame) -> pa.Table:
    """The normalized interviews as an Arrow table of the warehouse's types (NaN -> null)."""
    return pa.Table.from_pandas(interviews, schema=INTERVIEW_SCHEMA, preserve_index=False)


def normalized_answers(coded: pd.DataFrame, study: Study) -> pa.Table:
    """Long form: one row per interview and item, with the value or why it is missing.

    An Arrow table (items and reasons dictionary-encoded, missing values null): the long form
    of 50,000 interviews of 100 items is 5,000,000 rows, which pandas would hold as Python
    strings.
    """
    columns = item_columns(coded)
    codes = coded[columns].to_numpy(dtype="float64", na_value=np.nan)
    n_rows, n_items = codes.shape
    reason_names: list[str] = [NOT_ANSWERED]
    special: dict[float, int] = {}
    for reason, reason_codes in study.special_codes().items():
        if reason not in reason_names:
            reason_names.append(reason)
        for code in reason_codes:
            special[float(code)] = reason_names.index(reason)
    reason_names.append(OUT_OF_RANGE)
    reasons = np.full(codes.shape, -1, dtype=np.int8)
    blank = np.isnan(codes)
    reasons[blank] = reason_names.index(NOT_ANSWERED)
    for code, position in special.items():
        reasons[codes == code] = position
    lower, upper, allowed = _bounds_by_column(study, columns)
    answered = ~blank & (reasons < 0)
    outside = answered & ((codes < lower) | (codes > upper) | np.isinf(codes))
    for j, valid in enumerate(allowed):
        if valid is not None:
            outside[:, j] |= answered[:, j] & ~np.isin(codes[:, j], list(valid))
    reasons[outside] = reason_names.index(OUT_OF_RANGE)
    flat_reasons = reasons.reshape(-1)
    flat_codes = codes.reshape(-1)
    has_reason = flat_reasons >= 0
    return pa.Table.from_arrays(
        [
            # The table's row_number is a 32-bit INTEGER: the staged column is too.
            pa.array(np.repeat(coded["row_number"].to_numpy(dtype="int32"), n_items)),
            pa.DictionaryArray.from_arrays(
                pa.array(np.tile(np.arange(n_items, dtype=np.int32), n_rows)),
                pa.array(columns, type=pa.string()),
            ),
            pa.array(flat_codes, mask=has_reason),
            pa.array(flat_codes, mask=blank.reshape(-1)),
            pa.DictionaryArray.from_arrays(
                pa.array(flat_reasons, mask=~has_reason),
                pa.array(reason_names, type=pa.string()),
            ),
        ],
        schema=ANSWER_SCHEMA,
    )


def _bounds_by_column(
    study: Study, columns: list[str]
) -> tuple[np.ndarray, np.ndarray, list[frozenset[float] | None]]:
    instrument = study.resolved_instrument()
    by_stored_name = {stored: item for item in instrument.items for stored in item.stored_names()}
    lower = np.full(len(columns), -np.inf)
    upper = np.full(len(columns), np.inf)
    allowed: list[frozenset[float] | None] = []
    for j, column in enumerate(columns):
        item = by_stored_name.get(column)
        if item is None:
            allowed.append(None)
            continue
        low, high = item.bounds
        lower[j] = -np.inf if low is None else low
        upper[j] = np.inf if high is None else high
        allowed.append(item.valid_codes)
    return lower, upper, allowed


def register_study(connection: WarehouseConnection, study: Study, now: datetime) -> None:
    """Insert or refresh the study's row, its item metadata and its missing-value reasons."""
    instrument = study.resolved_instrument()
    connection.execute(
        "INSERT INTO studies VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (study_id) DO UPDATE "
        "SET title = excluded.title, assignment = excluded.assignment, "
        "sampling = excluded.sampling, instrument_id = excluded.instrument_id, "
        "study_file_sha256 = excluded.study_file_sha256, updated_at = excluded.updated_at",
        [
            study.id,
            study.title,
            study.design.assignment,
            study.design.sampling,
            instrument.id,
            study.file_hash,
            now,
            now,
        ],
    )
    connection.execute("DELETE FROM items WHERE study_id = ?", [study.id])
    rows = [
        (
            study.id,
            item.name,
            stored,
            item.construct_name,
            item.scale,
            item.direction,
            item.bounds[0],
            item.bounds[1],
            item.true_value,
            item.correct_answer,
            item.question,
        )
        for item in instrument.items
        for stored in item.stored_names()
    ]
    connection.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    connection.execute("DELETE FROM missing_reasons WHERE study_id = ?", [study.id])
    labels = {name: code.label for name, code in instrument.special_codes.items()}
    reason_rows: list[tuple[str, str, float | None, str]] = [
        (study.id, reason, float(code), labels.get(reason, reason.replace("_", " ")))
        for reason, codes in study.special_codes().items()
        for code in codes
    ]
    reason_rows.append((study.id, NOT_ANSWERED, None, "Not answered (blank)"))
    reason_rows.append((study.id, OUT_OF_RANGE, None, "Out of range (kept for review)"))
    connection.executemany("INSERT INTO missing_reasons VALUES (?, ?, ?, ?)", reason_rows)


def _retire_version(
    connection: WarehouseConnection, study_id: str, wave: str, version: int, now: datetime
) -> None:
    connection.execute(
        "UPDATE waves SET status = 'replaced', replaced_at = ? "
        "WHERE study_id = ? AND wave = ? AND version = ?",
        [now, study_id, wave, version],
    )
    for table in ("answers", "interviews"):
        connection.execute(
            f"DELETE FROM {table} WHERE study_id = ? AND wave = ? AND version = ?",
            [study_id, wave, version],
        )


def _describe_dropped(
    dropped: list[str] | tuple[str, ...], missing: list[str] | tuple[str, ...]
) -> str:
    parts = []
    if dropped:
        parts.append(f"{len(dropped)} unmapped or identifying column(s) dropped")
    if missing:
        parts.append(f"{len(missing)} instrument item(s) not in the file: {', '.join(missing)}")
    return "; ".join(parts)


def rederive_changed_waves(study: Study) -> list[IngestOutcome]:
    """Code again, from the raw archive, every stored wave coded with an older study file.

    Each becomes a new version (the old one stays, status ``replaced``); its message says in
    one line what happened.
    """
    outcomes = []
    for wave, archived, original in waves_to_rederive(study):
        if not archived.is_file():
            raise IngestError(
                f"rederive_changed_waves: the study file changed since wave {wave!r} was "
                f"stored, but its raw file {archived.name} is not in the archive "
                f"{study.archive}. Restore it there, or ingest the wave again with --replace."
            )
        outcome = ingest_wave(study, archived, wave=wave, rederive=True, file_name=original)
        message = (
            f"the study file changed since wave {wave!r} was stored: re-derived from the raw "
            f"archive ({original}) as version {outcome.version} ({outcome.rows_stored} "
            "interviews); it will be validated again."
        )
        outcomes.append(dataclasses.replace(outcome, message=message))
    return outcomes
