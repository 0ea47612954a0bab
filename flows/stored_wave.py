"""Stored waves as the respondent-by-item frame, read block by block from the long answers.

The long answers of a wave of 1,000,000 interviews and 80 items are 80,000,000 rows: a pivot
(in pandas or DuckDB) holds several times that in memory. Here DuckDB hands over, for
``BLOCK_ROWS`` interviews at a time, an Arrow table (row, item, value) whose items pyarrow
turns into column positions, which fill a block-sized float matrix copied into the frame's
columns: memory is the frame itself plus one block. Each item is its own array (one pandas
block per column), so a caller can drop the items it no longer needs and free their memory;
rows a caller leaves out (``keep``) are never materialised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flows.study import Study
from flows.warehouse import INTERVIEW_COLUMNS, WarehouseConnection

# Interviews per block: 25,000 interviews of 80 items are 2,000,000 answers. A block's Arrow
# table, its numpy copies and the scratch matrix are held at once: at 100,000 per block the
# read of three waves of 100,000 peaked 0.4 GB higher (1.55 against 1.15 GB), and took no
# less time (10 s against 6 s).
BLOCK_ROWS = 25_000

# Arrow's integer types -> the nullable pandas type ``fetch_df`` gives a column with a NULL.
_NULLABLE: dict[pa.DataType, pd.api.extensions.ExtensionDtype] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}

RowFilter = Callable[[pd.DataFrame], np.ndarray]
"""The rows of a wave to read, given its role columns (``wave``, ``row_number``, ...): a
boolean array with one entry per stored interview of the wave."""


@dataclass(frozen=True, slots=True)
class _WaveRows:
    """One stored wave's version, the role columns of the rows read, and its item columns."""

    wave: str
    version: int
    roles: pd.DataFrame
    names: list[str]


def read_stored_wave(
    connection: WarehouseConnection,
    study: Study,
    wave: str,
    *,
    coded: bool = False,
    items: Sequence[str] | None = None,
    keep: RowFilter | None = None,
    role_columns: Sequence[str] | None = None,
    block_rows: int = BLOCK_ROWS,
) -> pd.DataFrame:
    """The stored (current) version of ``wave``: ``wave``, the role columns, then one float
    column per item in the study's item order, rows in file order.

    Values are analysis values (missing codes are NaN) unless ``coded``, which gives the
    codes as answered (special codes in place). ``items`` limits the item columns (default:
    every item the wave holds), ``keep`` the rows (default: every stored row),
    ``role_columns`` the role columns besides ``wave`` and ``row_number`` (default: all of
    them; ``keep`` sees them and ``consent``). The same frame as
    ``flows.api.responses(study, waves=[wave])``.
    """
    return read_stored_waves(
        connection,
        study,
        [wave],
        coded=coded,
        items=items,
        keep=keep,
        role_columns=role_columns,
        block_rows=block_rows,
    )


def read_stored_waves(
    connection: WarehouseConnection,
    study: Study,
    waves: Sequence[str],
    *,
    coded: bool = False,
    items: Sequence[str] | None = None,
    keep: RowFilter | None = None,
    role_columns: Sequence[str] | None = None,
    block_rows: int = BLOCK_ROWS,
) -> pd.DataFrame:
    """The stored versions of ``waves`` one below the other (as :func:`read_stored_wave`
    stacked with ``pd.concat``): items any of them holds, in the study's item order, blank in
    a wave that lacks them.

    The rows ``keep`` selects are counted first, so every item column is allocated once at
    its final length and filled wave by wave, block by block: no wave is held twice.
    """
    read = [
        found
        for wave in waves
        if (
            found := _wave_rows(
                connection, study, wave, items=items, keep=keep, role_columns=role_columns
            )
        )
        is not None
    ]
    if not read:
        return _stored_roles(connection, study, waves[0] if waves else "", None)
    # A wave with no row kept adds its items, not its (empty) roles: an empty frame in a
    # concat may change the dtypes of the others.
    roles = pd.concat(
        [part.roles for part in read if not part.roles.empty] or [read[0].roles],
        ignore_index=True,
    )
    names = item_columns_in_order(study, [name for part in read for name in part.names])
    columns = {name: np.full(len(roles), np.nan) for name in names}
    value_column = "answered_code" if coded else "value"
    offset = 0
    for part in read:
        _fill_items(connection, study, part, columns, offset, value_column, block_rows)
        offset += len(part.roles)
    # copy=False keeps each item its own array (no consolidation into one matrix).
    items_frame = pd.DataFrame(columns, index=roles.index, copy=False)
    return pd.concat([roles, items_frame], axis=1)


def _stored_roles(
    connection: WarehouseConnection,
    study: Study,
    wave: str,
    version: int | None,
    columns: Sequence[str] = INTERVIEW_COLUMNS,
) -> pd.DataFrame:
    return sorted_frame(
        connection,
        "SELECT wave, "
        + ", ".join(columns)
        + " FROM interviews WHERE study_id = ? AND wave = ? AND version = ?",
        [study.id, wave, -1 if version is None else version],
        order_by=["row_number"],
    )


def sorted_frame(
    connection: WarehouseConnection,
    query: str,
    parameters: list[object],
    *,
    order_by: Sequence[str],
) -> pd.DataFrame:
    """The rows of ``query`` ordered by the result columns ``order_by`` (unique together),
    the frame ``fetch_df`` gives for ``query ORDER BY order_by``.

    From DuckDB the rows come as Arrow and are ordered by their integer keys afterwards:
    for the roles of a wave of 1,000,000 interviews (a 0.23 GB frame), ``fetch_df`` held
    1.26 GB above the process at its peak and sorting in the query 0.27 GB more, Arrow
    unsorted 0.40 GB.
    """
    if not isinstance(connection, duckdb.DuckDBPyConnection):
        return connection.execute(f"{query} ORDER BY {', '.join(order_by)}", parameters).fetch_df()
    relation = connection.sql(query, params=parameters)
    # DuckDB 2 gives a batch reader, DuckDB 1 a table.
    result = relation.arrow() if relation is not None else pa.table({})
    table = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    if table.num_rows:
        order = pc.sort_indices(table, sort_keys=[(name, "ascending") for name in order_by])
        if not np.array_equal(order.to_numpy(), np.arange(table.num_rows)):
            table = table.take(order)
    return _as_fetch_df(table)


def _as_fetch_df(table: pa.Table) -> pd.DataFrame:
    """``table`` as DuckDB's ``fetch_df`` converts the same result: an integer column with
    a missing value as pandas' nullable integers (Arrow gives floats), and text columns of
    an empty result as objects."""
    frame = table.to_pandas()
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(column.type) and column.null_count:
            frame[name] = column.to_pandas(types_mapper={column.type: _NULLABLE[column.type]}.get)
        elif table.num_rows == 0 and (
            pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        ):
            frame[name] = frame[name].astype(object)
    return frame


def _wave_rows(
    connection: WarehouseConnection,
    study: Study,
    wave: str,
    *,
    items: Sequence[str] | None,
    keep: RowFilter | None,
    role_columns: Sequence[str] | None = None,
) -> _WaveRows | None:
    """The rows ``keep`` selects of the stored version of ``wave`` and the items it holds;
    None when no version is stored or it has no row."""
    version = _stored_version(connection, study, wave)
    if version is None:
        return None
    # ``keep`` may test consent; the other role columns not chosen are never fetched.
    chosen = INTERVIEW_COLUMNS if role_columns is None else {"row_number", *role_columns}
    fetched = [c for c in INTERVIEW_COLUMNS if c in chosen or c == "consent"]
    roles = _stored_roles(connection, study, wave, version, fetched)
    if roles.empty:
        return None
    if keep is not None:
        kept = np.asarray(keep(roles), dtype=bool)
        if not kept.all():
            roles = roles[kept].reset_index(drop=True)
    if role_columns is not None and "consent" not in chosen:
        roles = roles.drop(columns="consent")
    names = _held_items(connection, study, wave, version, items)
    return _WaveRows(wave=wave, version=version, roles=roles, names=names)


def _stored_version(connection: WarehouseConnection, study: Study, wave: str) -> int | None:
    # fetchall, not fetchone: DuckDB runs no relation (``sorted_frame``) on a connection
    # whose last result was not read to its end.
    stored = connection.execute(
        "SELECT version FROM waves WHERE study_id = ? AND wave = ? AND status = 'stored' "
        "ORDER BY version DESC LIMIT 1",
        [study.id, wave],
    ).fetchall()
    return int(stored[0][0]) if stored else None


def _held_items(
    connection: WarehouseConnection,
    study: Study,
    wave: str,
    version: int,
    items: Sequence[str] | None,
) -> list[str]:
    """The items (of ``items``, default all) one stored wave version holds, in item order."""
    held = {
        row[0]
        for row in connection.execute(
            "SELECT DISTINCT item FROM answers WHERE study_id = ? AND wave = ? AND version = ?",
            [study.id, wave, version],
        ).fetchall()
    }
    stored_names = [
        str(row[0])
        for row in connection.execute(
            "SELECT stored_name FROM items WHERE study_id = ?", [study.id]
        ).fetchall()
    ]
    wanted = None if items is None else set(items)
    return [
        name
        for name in item_columns_in_order(study, stored_names)
        if name in held and (wanted is None or name in wanted)
    ]


def _fill_items(
    connection: WarehouseConnection,
    study: Study,
    part: _WaveRows,
    columns: dict[str, np.ndarray],
    offset: int,
    value_column: str,
    block_rows: int,
) -> None:
    """Copy the answers of ``part``'s rows into ``columns`` from position ``offset`` on."""
    if not part.names or part.roles.empty:
        return
    row_numbers = part.roles["row_number"].to_numpy(dtype=np.int64)
    value_set = pa.array(part.names, type=pa.string())
    targets = [columns[name] for name in part.names]
    for start in range(0, len(row_numbers), block_rows):
        block = row_numbers[start : start + block_rows]
        found = _answers_block(
            connection,
            f"SELECT row_number, item, {value_column} AS value FROM answers "
            "WHERE study_id = ? AND wave = ? AND version = ? AND row_number BETWEEN ? AND ?",
            [study.id, part.wave, part.version, int(block[0]), int(block[-1])],
        )
        # The item's column in C (pyarrow's hash lookup), never as Python strings.
        position = pc.index_in(found["item"], value_set=value_set)
        found = found.filter(pc.is_valid(position))
        item_positions = pc.drop_null(position).to_numpy()
        answered = found["row_number"].to_numpy()
        rows = np.searchsorted(block, answered)
        # Rows between the block's first and last that were left out (``keep``) are dropped.
        within = rows < len(block)
        within[within] = block[rows[within]] == answered[within]
        scratch = np.full((len(block), len(part.names)), np.nan)
        values = found["value"].to_numpy(zero_copy_only=False)
        scratch[rows[within], item_positions[within]] = np.asarray(values, dtype=np.float64)[within]
        stop = offset + start + len(block)
        for position_in_wave, target in enumerate(targets):
            target[offset + start : stop] = scratch[:, position_in_wave]


def stored_items(connection: WarehouseConnection, study: Study) -> list[str]:
    """The item columns of the study's stored waves together, in the study's item order (the
    columns ``flows.api.responses(study)`` has, for a wave with interviews)."""
    names: list[str] = []
    for wave in study.wave_names:
        version = _stored_version(connection, study, wave)
        if version is not None and connection.execute(
            "SELECT count(*) > 0 FROM interviews WHERE study_id = ? AND wave = ? AND version = ?",
            [study.id, wave, version],
        ).fetchone() == (True,):
            names.extend(_held_items(connection, study, wave, version, None))
    return item_columns_in_order(study, names)


def item_columns_in_order(study: Study, columns: Iterable[object]) -> list[str]:
    """The item columns among ``columns`` in the instrument's order (names the instrument does
    not hold last, in their given order). The order is never read from a table's rows: not
    every warehouse keeps them (PostgreSQL reuses the space of deleted rows)."""
    position = {
        name: index
        for index, name in enumerate(
            stored for item in study.resolved_instrument().items for stored in item.stored_names()
        )
    }
    roles = {"wave", *INTERVIEW_COLUMNS}
    names = [str(column) for column in dict.fromkeys(columns) if str(column) not in roles]
    return sorted(names, key=lambda name: position.get(name, len(position)))


def _answers_block(
    connection: WarehouseConnection, query: str, parameters: list[object]
) -> pa.Table:
    """One block of long-form answers as an Arrow table: straight from DuckDB, or through a
    DataFrame from a PostgreSQL warehouse (which has no Arrow result)."""
    if not isinstance(connection, duckdb.DuckDBPyConnection):
        return pa.Table.from_pandas(connection.execute(query, parameters).fetch_df())
    relation = connection.sql(query, params=parameters)
    # DuckDB 2 gives a batch reader, DuckDB 1 a table.
    result = relation.arrow() if relation is not None else pa.table({})
    return result.read_all() if isinstance(result, pa.RecordBatchReader) else result
