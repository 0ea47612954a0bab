"""One stored wave as the respondent-by-item frame, read block by block from the long answers.

The long answers of a wave of 1,000,000 interviews and 80 items are 80,000,000 rows: a pivot
(in pandas or DuckDB) holds several times that in memory. Here DuckDB hands over, for
``BLOCK_ROWS`` interviews at a time, an Arrow table (row, item, value) whose items pyarrow
turns into column positions, which fill a preallocated float matrix: memory is the frame
itself plus one block.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flows.study import Study
from flows.warehouse import INTERVIEW_COLUMNS, WarehouseConnection

# Interviews per block: 100,000 interviews of 80 items are 8,000,000 answers (about 0.2 GB
# as three numeric arrays).
BLOCK_ROWS = 100_000


def read_stored_wave(
    connection: WarehouseConnection,
    study: Study,
    wave: str,
    *,
    coded: bool = False,
    items: Sequence[str] | None = None,
    block_rows: int = BLOCK_ROWS,
) -> pd.DataFrame:
    """The stored (current) version of ``wave``: ``wave``, the role columns, then one float
    column per item in the study's item order, rows in file order.

    Values are analysis values (missing codes are NaN) unless ``coded``, which gives the
    codes as answered (special codes in place). ``items`` limits the item columns (default:
    every item the wave holds). The same frame as ``flows.api.responses(study, waves=[wave])``.
    """
    value_column = "answered_code" if coded else "value"
    stored = connection.execute(
        "SELECT version FROM waves WHERE study_id = ? AND wave = ? AND status = 'stored' "
        "ORDER BY version DESC LIMIT 1",
        [study.id, wave],
    ).fetchone()
    roles = connection.execute(
        "SELECT wave, "
        + ", ".join(INTERVIEW_COLUMNS)
        + " FROM interviews WHERE study_id = ? AND wave = ? AND version = ? ORDER BY row_number",
        [study.id, wave, stored[0] if stored else -1],
    ).fetch_df()
    if stored is None or roles.empty:
        return roles
    version = int(stored[0])
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
    names = [
        name
        for name in item_columns_in_order(study, stored_names)
        if name in held and (wanted is None or name in wanted)
    ]
    row_numbers = roles["row_number"].to_numpy(dtype=np.int64)
    matrix = np.full((len(roles), len(names)), np.nan)
    if names:
        value_set = pa.array(names, type=pa.string())
        for start in range(0, len(row_numbers), block_rows):
            block = row_numbers[start : start + block_rows]
            found = _answers_block(
                connection,
                f"SELECT row_number, item, {value_column} AS value FROM answers "
                "WHERE study_id = ? AND wave = ? AND version = ? AND row_number BETWEEN ? AND ?",
                [study.id, wave, version, int(block[0]), int(block[-1])],
            )
            # The item's column in C (pyarrow's hash lookup), never as Python strings.
            position = pc.index_in(found["item"], value_set=value_set)
            wanted_rows = pc.is_valid(position)
            found = found.filter(wanted_rows)
            columns = pc.drop_null(position).to_numpy()
            rows = np.searchsorted(row_numbers, found["row_number"].to_numpy())
            values = found["value"].to_numpy(zero_copy_only=False)
            matrix[rows, columns] = np.asarray(values, dtype=np.float64)
    items_frame = pd.DataFrame(matrix, columns=names, copy=False)
    return pd.concat([roles, items_frame], axis=1)


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
