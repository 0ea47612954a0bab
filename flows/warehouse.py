"""The results warehouse: an embedded DuckDB file holding studies, waves, responses and runs."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from flows.errors import WarehouseBusyError, WarehouseError
from flows.study import Study

WAREHOUSE_ENVIRONMENT_VARIABLE = "TRUSTSHIFT_WAREHOUSE"

# Role columns of the normalized interviews table, in order.
INTERVIEW_COLUMNS: tuple[str, ...] = (
    "row_number",
    "respondent",
    "submission",
    "cluster",
    "stratum",
    "arm",
    "treated",
    "weight",
    "enumerator",
    "interview_start",
    "interview_end",
    "consent",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    study_id VARCHAR PRIMARY KEY,
    title VARCHAR NOT NULL,
    assignment VARCHAR NOT NULL,
    sampling VARCHAR NOT NULL,
    instrument_id VARCHAR NOT NULL,
    study_file_sha256 VARCHAR NOT NULL,
    registered_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS waves (
    study_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    wave_order INTEGER NOT NULL,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_stored INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    archive_path VARCHAR NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    replaced_at TIMESTAMP,
    message VARCHAR,
    PRIMARY KEY (study_id, wave, version)
);
CREATE TABLE IF NOT EXISTS interviews (
    study_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    row_number INTEGER NOT NULL,
    respondent VARCHAR,
    submission VARCHAR,
    cluster VARCHAR,
    stratum VARCHAR,
    arm VARCHAR,
    treated TINYINT,
    weight DOUBLE,
    enumerator VARCHAR,
    interview_start TIMESTAMP,
    interview_end TIMESTAMP,
    consent TINYINT,
    PRIMARY KEY (study_id, wave, version, row_number)
);
CREATE TABLE IF NOT EXISTS answers (
    study_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    row_number INTEGER NOT NULL,
    item VARCHAR NOT NULL,
    value DOUBLE,
    answered_code DOUBLE,
    missing_reason VARCHAR
);
CREATE TABLE IF NOT EXISTS missing_reasons (
    study_id VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    code DOUBLE,
    label VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    study_id VARCHAR NOT NULL,
    item VARCHAR NOT NULL,
    stored_name VARCHAR NOT NULL,
    construct VARCHAR NOT NULL,
    scale VARCHAR NOT NULL,
    direction VARCHAR NOT NULL,
    minimum DOUBLE,
    maximum DOUBLE,
    true_value DOUBLE,
    correct_answer DOUBLE,
    question VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS pseudonym_keys (
    study_id VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    study_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    study_file_sha256 VARCHAR NOT NULL,
    inputs VARCHAR NOT NULL,
    message VARCHAR
);
ALTER TABLE runs ADD COLUMN IF NOT EXISTS pid INTEGER;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS host VARCHAR;
"""

# Reasons a value is missing that are not special codes of the instrument.
NOT_ANSWERED = "not_answered"
OUT_OF_RANGE = "out_of_range"


def warehouse_path(study: Study) -> Path:
    """The warehouse file: $TRUSTSHIFT_WAREHOUSE if set, else the study's location."""
    override = os.environ.get(WAREHOUSE_ENVIRONMENT_VARIABLE)
    if override:
        return Path(override)
    return study.root / study.locations.warehouse


# Bytes 8-11 of every DuckDB database file.
DUCKDB_MAGIC = b"DUCK"


def check_warehouse_file(path: Path) -> None:
    """Refuse a warehouse path that is a folder or a file DuckDB did not write."""
    if path.is_dir():
        raise WarehouseError(
            f"connect: the warehouse path {str(path)!r} is a folder; it must name a DuckDB "
            "file. Set locations.warehouse in the study file (or TRUSTSHIFT_WAREHOUSE) to a "
            "file inside that folder, e.g. 'warehouse/trustshift.duckdb'."
        )
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(16)
    if header[8:12] != DUCKDB_MAGIC:
        found = (
            "an SQLite database"
            if header.startswith(b"SQLite format 3")
            else ("a file that is not a DuckDB database")
        )
        raise WarehouseError(
            f"connect: the warehouse path {str(path)!r} holds {found}. Point "
            "locations.warehouse (or TRUSTSHIFT_WAREHOUSE) at a new or existing DuckDB file, "
            "or move that file away."
        )


@contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse; a writable one creates the file and its tables."""
    check_warehouse_file(path)
    if read_only and not path.exists():
        # A read-only look at a warehouse that does not exist yet: an empty in-memory one.
        connection = duckdb.connect(":memory:")
    else:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # No extension downloads: a warehouse never needs one, and a foreign file must not
            # make DuckDB reach for the network.
            connection = duckdb.connect(
                str(path),
                read_only=read_only,
                config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
            )
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise WarehouseError(
                    f"connect: the warehouse {str(path)!r} cannot be opened ({error}). Check the "
                    "path in locations.warehouse and the file's permissions."
                ) from None
            raise WarehouseBusyError(
                f"connect: the warehouse {str(path)!r} is in use by another process (DuckDB "
                "takes one writer at a time). Wait for the other trustshift command to end and "
                "run again, or use `trustshift run --wait`."
            ) from error
    try:
        if not read_only or not path.exists():
            connection.execute(SCHEMA)
        yield connection
    finally:
        connection.close()


def current_wave(
    connection: duckdb.DuckDBPyConnection, study_id: str, wave: str
) -> dict[str, object] | None:
    """The stored (current) version of a wave, or None."""
    if not has_table(connection, "waves"):
        return None
    row = connection.execute(
        "SELECT version, sha256, file_name, status FROM waves "
        "WHERE study_id = ? AND wave = ? AND status = 'stored' ORDER BY version DESC LIMIT 1",
        [study_id, wave],
    ).fetchone()
    if row is None:
        return None
    return {"version": row[0], "sha256": row[1], "file_name": row[2], "status": row[3]}


def known_checksums(connection: duckdb.DuckDBPyConnection, study_id: str) -> set[str]:
    """Checksums of every file ever ingested for a study (stored or replaced)."""
    if not has_table(connection, "waves"):
        return set()
    rows = connection.execute(
        "SELECT DISTINCT sha256 FROM waves WHERE study_id = ?", [study_id]
    ).fetchall()
    return {row[0] for row in rows}


def has_table(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the warehouse has a table or view called ``name``."""
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])


def query(path: Path, sql: str, parameters: list[object] | None = None) -> pd.DataFrame:
    """Run a read-only query on a warehouse file and return a DataFrame."""
    with connect(path, read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetch_df()


def insert_frame(connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Append a DataFrame's rows to a warehouse table, matching columns by name.

    The one way rows go from a DataFrame into the warehouse: column names are quoted (a
    column may be called ``order`` or hold capitals), an empty frame writes nothing. Returns
    the number of rows written.
    """
    if frame.empty:
        return 0
    staged = "_trustshift_staged_frame"
    connection.register(staged, frame)
    try:
        columns = ", ".join('"' + str(column).replace('"', '""') + '"' for column in frame.columns)
        connection.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM {staged}')
    finally:
        connection.unregister(staged)
    return len(frame)


def insert_parquet(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    constants: Mapping[str, object],
) -> int:
    """Bulk-load a Parquet file into a warehouse table, columns matched by name.

    ``constants`` fill columns the file does not hold (study, wave, version). DuckDB reads the
    file in row groups: no row passes through Python. Returns the number of rows written.
    """
    columns = ", ".join("? AS " + '"' + name.replace('"', '""') + '"' for name in constants)
    row = connection.execute(
        f'INSERT INTO "{table}" BY NAME SELECT {columns}, * FROM read_parquet(?)',
        [*constants.values(), str(path)],
    ).fetchone()
    return int(row[0]) if row else 0
