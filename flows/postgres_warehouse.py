"""The warehouse on a PostgreSQL server: the DuckDB connection's API and SQL, on psycopg.

Every statement the shell issues is DuckDB SQL; :func:`to_postgres` rewrites the few things
PostgreSQL spells differently (``?`` placeholders, ``DOUBLE``, ``TINYINT``), so one schema
definition and one set of queries serve both warehouses. Results become DataFrames through
DuckDB's own pandas conversion (rows -> Arrow -> DuckDB -> pandas), so a frame read from
PostgreSQL has the dtypes of the same frame read from the DuckDB file, and rows written
from a DataFrame are cast by DuckDB to the table's types first, as an INSERT into the DuckDB
file casts them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pandas as pd
import pyarrow as pa

from flows.errors import WarehouseError

if TYPE_CHECKING:
    import psycopg

URL_SCHEMES = ("postgresql", "postgres")

# One key for every trustshift process: schema changes (CREATE, ALTER) run one at a time, so
# two workers opening a new database at once do not race on PostgreSQL's catalog.
SCHEMA_LOCK_KEY = 7_361_054_218

# Collations that order text by code point, as DuckDB does: anything else would order
# waves, submissions and report rows differently in the two warehouses.
BYTE_ORDER_COLLATIONS = frozenset({"C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic"})

CREATE_DATABASE_HINT = (
    "Create the database with CREATE DATABASE ... TEMPLATE template0 LOCALE 'C' ENCODING 'UTF8'."
)

# PostgreSQL type OIDs -> the Arrow type DuckDB reads them as. SMALLINT is what a DuckDB
# TINYINT becomes here (PostgreSQL has no one-byte integer); it is read back as TINYINT.
_ARROW_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int8(),
    23: pa.int32(),
    700: pa.float32(),
    701: pa.float64(),
    1700: pa.float64(),
    19: pa.string(),
    25: pa.string(),
    1042: pa.string(),
    1043: pa.string(),
    2950: pa.string(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}

# information_schema data types -> the DuckDB type a frame's column is cast to before COPY.
_DUCKDB_TYPES = {
    "smallint": "TINYINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double precision": "DOUBLE",
    "real": "FLOAT",
    "numeric": "DOUBLE",
    "boolean": "BOOLEAN",
    "character varying": "VARCHAR",
    "text": "VARCHAR",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMPTZ",
    "date": "DATE",
}

_TYPE_WORDS = (
    (re.compile(r"\bDOUBLE\b(?!\s+PRECISION)", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bTINYINT\b", re.IGNORECASE), "SMALLINT"),
)
_CREATE_TABLE = re.compile(r"^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+\"?(\w+)\"?", re.IGNORECASE)
_ADD_COLUMN = re.compile(
    r"^ALTER\s+TABLE\s+\"?(\w+)\"?\s+ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s+\"?(\w+)\"?",
    re.IGNORECASE,
)
_CREATE_VIEW = re.compile(r"^CREATE\s+OR\s+REPLACE\s+VIEW\s+\"?(\w+)\"?", re.IGNORECASE)
_DDL = re.compile(r"^(CREATE|ALTER|DROP)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True, repr=False)
class PostgresWarehouse:
    """A warehouse in a PostgreSQL database, named by its libpq URL."""

    url: str

    def __str__(self) -> str:
        """The URL without its password (safe for messages and logs)."""
        return masked_url(self.url)

    def __repr__(self) -> str:
        return f"PostgresWarehouse({masked_url(self.url)!r})"


def is_postgres_url(value: str) -> bool:
    """Whether ``value`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``)."""
    return urlsplit(value).scheme in URL_SCHEMES


def masked_url(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def _segments(sql: str) -> Iterator[tuple[bool, str]]:
    """(is_code, text) pieces of a statement: quoted strings, identifiers and comments are
    not code, so a ``?`` or ``DOUBLE`` inside them is left alone."""
    start = index = 0
    length = len(sql)
    while index < length:
        char = sql[index]
        if char in "'\"":
            end = index + 1
            while end < length:
                if sql[end] == char:
                    if end + 1 < length and sql[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            yield True, sql[start:index]
            yield False, sql[index : end + 1]
            start = index = end + 1
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            end = length if end < 0 else end
            yield True, sql[start:index]
            yield False, sql[index:end]
            start = index = end
        else:
            index += 1
    yield True, sql[start:]


def to_postgres(sql: str, *, parameters: bool) -> str:
    """DuckDB SQL as PostgreSQL reads it.

    ``?`` placeholders become ``%s`` (and a literal ``%`` doubles) when parameters are
    passed; ``DOUBLE`` becomes ``DOUBLE PRECISION`` and ``TINYINT`` ``SMALLINT``. Text in
    quotes and comments is kept as written.
    """
    pieces = []
    for is_code, text in _segments(sql):
        if is_code:
            for pattern, replacement in _TYPE_WORDS:
                text = pattern.sub(replacement, text)
            if parameters:
                text = text.replace("%", "%%").replace("?", "%s")
        pieces.append(text)
    return "".join(pieces)


def split_statements(sql: str) -> list[str]:
    """The statements of a script, split on semicolons outside quotes and comments."""
    statements: list[str] = []
    current: list[str] = []
    for is_code, text in _segments(sql):
        if not is_code:
            current.append(text)
            continue
        parts = text.split(";")
        current.append(parts[0])
        for part in parts[1:]:
            statements.append("".join(current))
            current = [part]
    statements.append("".join(current))
    return [statement.strip() for statement in statements if _code_of(statement).strip()]


def _code_of(statement: str) -> str:
    return "".join(text for is_code, text in _segments(statement) if is_code)


def _python_value(value: object) -> object:
    """A parameter as psycopg adapts it: numpy and pandas scalars become Python values."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value


def _parameters(parameters: object) -> list[object]:
    if parameters is None:
        return []
    if not isinstance(parameters, Sequence) or isinstance(parameters, str | bytes):
        raise TypeError(
            "execute: parameters must be a list of values, one per '?'; got "
            f"{type(parameters).__name__}. Pass a list."
        )
    return [_python_value(value) for value in parameters]


class PostgresConnection:
    """The part of DuckDB's connection API the warehouse code uses, on a psycopg connection.

    ``execute`` returns the connection, whose ``fetchone``, ``fetchall``, ``fetch_df`` and
    ``description`` read the last result, as DuckDB's do. Statements run in autocommit mode;
    ``BEGIN TRANSACTION`` ... ``COMMIT`` / ``ROLLBACK`` group them, as in DuckDB.
    """

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection
        self._cursor = connection.cursor()
        self._duckdb: duckdb.DuckDBPyConnection | None = None

    # -- statements ---------------------------------------------------------------------
    def execute(self, query: str, parameters: object = None) -> PostgresConnection:
        """Run one DuckDB statement (or a script of DDL statements without parameters)."""
        values = _parameters(parameters)
        if not values and _DDL.match(_code_of(query).lstrip()):
            self._run_schema(split_statements(query))
            return self
        self._cursor.execute(to_postgres(query, parameters=bool(values)), values or None)
        return self

    def executemany(self, query: str, parameters: object = None) -> PostgresConnection:
        """Run one statement once per row of parameters."""
        rows = [_parameters(row) for row in (parameters or [])]  # type: ignore[attr-defined]
        if rows:
            self._cursor.executemany(to_postgres(query, parameters=True), rows)
        return self

    def _run_schema(self, statements: list[str]) -> None:
        """Run schema statements that change something, one process at a time.

        ``CREATE TABLE IF NOT EXISTS`` and ``ADD COLUMN IF NOT EXISTS`` are skipped when the
        table or column exists, and ``CREATE OR REPLACE VIEW`` when the view was made from
        the same statement: so opening a warehouse takes no lock once its schema is in place
        (PostgreSQL's ALTER TABLE locks the table even when it changes nothing).
        """
        pending = [statement for statement in statements if self._changes_schema(statement)]
        if not pending:
            return
        with self._connection.transaction():
            self._cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK_KEY])
            for statement in pending:
                if not self._changes_schema(statement):
                    continue  # another process made it while this one waited for the lock
                self._cursor.execute(to_postgres(statement, parameters=False))
                view = _CREATE_VIEW.match(statement)
                if view:
                    self._cursor.execute(
                        f'COMMENT ON VIEW "{view.group(1)}" IS '
                        f"'trustshift:{_statement_hash(statement)}'"
                    )

    def _changes_schema(self, statement: str) -> bool:
        table = _CREATE_TABLE.match(statement)
        if table:
            return not self.has_table(table.group(1))
        column = _ADD_COLUMN.match(statement)
        if column:
            return column.group(2) not in self.table_columns(column.group(1))
        view = _CREATE_VIEW.match(statement)
        if view:
            self._cursor.execute(
                "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = %s AND n.nspname = current_schema()",
                [view.group(1)],
            )
            found = self._cursor.fetchone()
            return found is None or found[0] != f"trustshift:{_statement_hash(statement)}"
        return True

    # -- catalog --------------------------------------------------------------------------
    def has_table(self, name: str) -> bool:
        """Whether the warehouse's schema has a table or view called ``name``."""
        self._cursor.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = %s",
            [name],
        )
        found = self._cursor.fetchone()
        return bool(found and found[0])

    def table_columns(self, name: str) -> dict[str, str]:
        """Column name -> information_schema data type, in table order."""
        self._cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            [name],
        )
        return {str(row[0]): str(row[1]) for row in self._cursor.fetchall()}

    # -- results --------------------------------------------------------------------------
    @property
    def description(self) -> list[tuple[Any, ...]]:
        """(name, type code, ...) of each column of the last result, as DB-API describes."""
        columns = self._cursor.description
        if columns is None:
            return []
        return [(column.name, column.type_code, None, None, None, None, None) for column in columns]

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row of the last result, or None."""
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The remaining rows of the last result."""
        return self._cursor.fetchall()

    def fetch_df(self) -> pd.DataFrame:
        """The remaining rows of the last result as DuckDB would return them to pandas."""
        columns = self._cursor.description or []
        rows = self._cursor.fetchall()
        arrays = []
        for position, column in enumerate(columns):
            values = [row[position] for row in rows]
            arrow_type = _ARROW_TYPES.get(column.type_code)
            arrays.append(pa.array(values) if arrow_type is None else pa.array(values, arrow_type))
        table = pa.Table.from_arrays(arrays, names=[column.name for column in columns])
        return self._local().from_arrow(table).df()

    fetchdf = fetch_df

    # -- writing frames -------------------------------------------------------------------
    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        """Append a DataFrame's rows to ``table`` by column name, with PostgreSQL's COPY.

        DuckDB casts each column to the table's type first (as an INSERT into the DuckDB
        file does: NaN becomes NULL, 1.0 into an INTEGER column 1), then the rows stream in.
        """
        if frame.empty:
            return 0
        declared = self.table_columns(table)
        unknown = [str(column) for column in frame.columns if str(column) not in declared]
        if unknown:
            raise WarehouseError(
                f"insert_frame: table {table!r} has no column(s) {unknown!r}; it has "
                f"{list(declared)!r}. Create the columns first (the table's schema)."
            )
        selected = ", ".join(
            f'CAST("{_quoted(column)}" AS {_duckdb_type(declared[str(column)])}) '
            f'AS "{_quoted(column)}"'
            for column in frame.columns
        )
        reader = self._local().from_df(frame).project(selected).to_arrow_reader()
        names = ", ".join(f'"{_quoted(column)}"' for column in frame.columns)
        with self._cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for batch in reader or []:
                for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                    copy.write_row(row)
        return len(frame)

    def _local(self) -> duckdb.DuckDBPyConnection:
        if self._duckdb is None:
            self._duckdb = duckdb.connect(
                ":memory:",
                config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
            )
        return self._duckdb

    def close(self) -> None:
        """Close the server connection (and the in-memory DuckDB used for conversions)."""
        if self._duckdb is not None:
            self._duckdb.close()
        self._connection.close()


def _duckdb_type(data_type: str) -> str:
    return _DUCKDB_TYPES.get(data_type, "VARCHAR")


def _quoted(name: object) -> str:
    return str(name).replace('"', '""')


def _statement_hash(statement: str) -> str:
    return hashlib.sha256(" ".join(statement.split()).encode("utf-8")).hexdigest()[:16]


def open_connection(warehouse: PostgresWarehouse) -> psycopg.Connection[Any]:
    """An autocommit psycopg connection whose NUMERIC results are floats, as DuckDB's are."""
    import psycopg
    from psycopg.types.numeric import FloatLoader

    try:
        connection = psycopg.connect(warehouse.url, autocommit=True, connect_timeout=30)
    except psycopg.OperationalError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise WarehouseError(
            f"connect: the PostgreSQL warehouse {warehouse} cannot be reached ({first_line}). "
            "Check the URL in [warehouse] url or TRUSTSHIFT_WAREHOUSE_URL, that the server is "
            "running, and the password (PGPASSWORD or ~/.pgpass)."
        ) from None
    connection.adapters.register_loader("numeric", FloatLoader)
    return connection


def check_collation(connection: PostgresConnection, warehouse: PostgresWarehouse) -> None:
    """Refuse a database whose text order is not by code point (DuckDB's order)."""
    # to_jsonb reads datlocprovider where it exists (PostgreSQL 15 on: 'i' is ICU, whose
    # order is a language's even when datcollate says C) and NULL before.
    found = connection.execute(
        "SELECT datcollate, to_jsonb(d) ->> 'datlocprovider' FROM pg_database d "
        "WHERE datname = current_database()"
    ).fetchone()
    collation = str(found[0]) if found else "?"
    if found and found[1] not in (None, "c"):
        collation = f"{collation} (provider {found[1]!r})"
    if collation not in BYTE_ORDER_COLLATIONS:
        raise WarehouseError(
            f"connect: the PostgreSQL warehouse {warehouse} orders text by collation "
            f"{collation!r}; the warehouse needs code-point order (collation 'C'), as in the "
            "DuckDB file, so that rows come out in the same order. " + CREATE_DATABASE_HINT
        )


@contextmanager
def connect_postgres(
    warehouse: PostgresWarehouse, *, schema: str, read_only: bool = False
) -> Iterator[PostgresConnection]:
    """A connection to a PostgreSQL warehouse whose tables exist (``schema`` is run first).

    A read-only connection cannot write (every transaction is READ ONLY).
    """
    connection = PostgresConnection(open_connection(warehouse))
    try:
        check_collation(connection, warehouse)
        connection.execute(schema)
        if read_only:
            connection.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        yield connection
    finally:
        connection.close()


def is_transient_postgres_error(error: BaseException) -> bool:
    """A serialization failure, deadlock or lost connection: worth one more try."""
    if not type(error).__module__.startswith("psycopg"):
        return False
    state = getattr(error, "sqlstate", None)
    return state in {"40001", "40P01"} or (state or "").startswith("08")
