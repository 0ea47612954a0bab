"""The results warehouse: studies, waves, responses and runs, in an embedded DuckDB file or a
PostgreSQL database (same schema, same SQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from flows.errors import WarehouseBusyError, WarehouseError
from flows.postgres_warehouse import PostgresConnection, PostgresWarehouse, connect_postgres
from flows.study import Study

WAREHOUSE_ENVIRONMENT_VARIABLE = "TRUSTSHIFT_WAREHOUSE"
WAREHOUSE_URL_ENVIRONMENT_VARIABLE = "TRUSTSHIFT_WAREHOUSE_URL"

# Where a warehouse lives: a DuckDB file, or a PostgreSQL database.
WarehouseLocation = Path | PostgresWarehouse


class WarehouseConnection(Protocol):
    """What the shell uses of a warehouse connection (DuckDB's, or the PostgreSQL one)."""

    def execute(self, query: str, parameters: Any = None, /) -> WarehouseConnection: ...

    def executemany(self, query: str, parameters: Any = None, /) -> WarehouseConnection: ...

    def fetchone(self) -> tuple[Any, ...] | None: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...

    def fetch_df(self) -> pd.DataFrame: ...

    @property
    def description(self) -> Sequence[tuple[Any, ...]]: ...

    def close(self) -> None: ...


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


def warehouse_path(study: Study) -> WarehouseLocation:
    """The study's warehouse: $TRUSTSHIFT_WAREHOUSE_URL (a PostgreSQL database) or
    $TRUSTSHIFT_WAREHOUSE (a DuckDB file) if set, else the study file's ``[warehouse] url``,
    else the DuckDB file at ``locations.warehouse``."""
    url = os.environ.get(WAREHOUSE_URL_ENVIRONMENT_VARIABLE)
    override = os.environ.get(WAREHOUSE_ENVIRONMENT_VARIABLE)
    if url and override:
        raise WarehouseError(
            f"warehouse_path: both {WAREHOUSE_URL_ENVIRONMENT_VARIABLE} and "
            f"{WAREHOUSE_ENVIRONMENT_VARIABLE} are set; a study has one warehouse. Unset one."
        )
    if url:
        return PostgresWarehouse(url)
    if override:
        return Path(override)
    if study.warehouse.url:
        return PostgresWarehouse(study.warehouse.url)
    return study.root / study.locations.warehouse


def warehouse_exists(location: WarehouseLocation) -> bool:
    """Whether the warehouse may hold anything: a DuckDB file that exists, or any database."""
    return isinstance(location, PostgresWarehouse) or location.is_file()


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
def connect(
    location: WarehouseLocation, *, read_only: bool = False
) -> Iterator[WarehouseConnection]:
    """A connection to the warehouse; a writable one creates the file and its tables."""
    if isinstance(location, PostgresWarehouse):
        with connect_postgres(location, schema=SCHEMA, read_only=read_only) as connection:
            yield connection
        return
    with _connect_file(location, read_only=read_only) as duckdb_connection:
        yield duckdb_connection


@contextmanager
def _connect_file(path: Path, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
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
    connection: WarehouseConnection, study_id: str, wave: str
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


def known_checksums(connection: WarehouseConnection, study_id: str) -> set[str]:
    """Checksums of every file ever ingested for a study (stored or replaced)."""
    if not has_table(connection, "waves"):
        return set()
    rows = connection.execute(
        "SELECT DISTINCT sha256 FROM waves WHERE study_id = ?", [study_id]
    ).fetchall()
    return {row[0] for row in rows}


def has_table(connection: WarehouseConnection, name: str) -> bool:
    """Whether the warehouse has a table or view called ``name``."""
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name = ?",
        [name],
    ).fetchone()
    return bool(found and found[0])


def query(
    location: WarehouseLocation, sql: str, parameters: list[object] | None = None
) -> pd.DataFrame:
    """Run a read-only query on a warehouse and return a DataFrame."""
    with connect(location, read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetch_df()


def insert_frame(connection: WarehouseConnection, table: str, frame: pd.DataFrame) -> int:
    """Append a DataFrame's rows to a warehouse table, matching columns by name.

    The one way rows go from a DataFrame into the warehouse: column names are quoted (a
    column may be called ``order`` or hold capitals), an empty frame writes nothing. Returns
    the number of rows written.
    """
    if frame.empty:
        return 0
    if isinstance(connection, PostgresConnection):
        return connection.insert_frame(table, frame)
    if not isinstance(connection, duckdb.DuckDBPyConnection):
        raise TypeError(
            f"insert_frame: a warehouse connection was expected; got {type(connection).__name__}."
        )
    staged = "_trustshift_staged_frame"
    connection.register(staged, frame)
    try:
        columns = ", ".join('"' + str(column).replace('"', '""') + '"' for column in frame.columns)
        connection.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM {staged}')
    finally:
        connection.unregister(staged)
    return len(frame)


def insert_parquet(
    connection: WarehouseConnection,
    table: str,
    path: Path,
    constants: Mapping[str, object],
) -> int:
    """Bulk-load a Parquet file into a warehouse table, columns matched by name.

    ``constants`` fill columns the file does not hold (study, wave, version). DuckDB reads the
    file in row groups: no row passes through Python. A PostgreSQL warehouse cannot read the
    file itself, so its rows go through ``insert_frame`` (``COPY``) one row group at a time,
    which keeps memory bounded by the row group. Returns the number of rows written.
    """
    if isinstance(connection, PostgresConnection):
        written = 0
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            frame = parquet.read_row_group(group).to_pandas()
            for position, (name, value) in enumerate(constants.items()):
                frame.insert(position, name, value)
            written += insert_frame(connection, table, frame)
        return written
    if not isinstance(connection, duckdb.DuckDBPyConnection):
        raise TypeError(
            f"insert_parquet: a warehouse connection was expected; got {type(connection).__name__}."
        )
    columns = ", ".join("? AS " + '"' + name.replace('"', '""') + '"' for name in constants)
    row = connection.execute(
        f'INSERT INTO "{table}" BY NAME SELECT {columns}, * FROM read_parquet(?)',
        [*constants.values(), str(path)],
    ).fetchone()
    return int(row[0]) if row else 0
