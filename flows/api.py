"""The notebook API: load a study, read a wave, query the warehouse into DataFrames.

Example
-------
>>> from flows import api
>>> study = api.load_study("data/studies/example/study.toml")  # doctest: +SKIP
>>> responses = api.responses(study)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from flows.reading import code_wave, read_raw
from flows.study import Study, load_study
from flows.warehouse import INTERVIEW_COLUMNS, connect, warehouse_path
from flows.warehouse import query as query_file

__all__ = ["answers", "load_study", "query", "read_wave", "responses", "waves"]


def read_wave(path: Path | str, study: Study, *, wave: str | None = None) -> pd.DataFrame:
    """Read one export into the coded wave (identifying columns already dropped)."""
    return code_wave(read_raw(Path(path), study=study), study=study, wave=wave).frame


def query(study: Study, sql: str, parameters: list[object] | None = None) -> pd.DataFrame:
    """Run a read-only SQL query on the study's warehouse."""
    return query_file(warehouse_path(study), sql, parameters)


def waves(study: Study, *, connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Every file ingested for the study, current and replaced, in wave order.

    ``connection`` reuses an open warehouse connection.
    """
    sql = (
        "SELECT wave, version, status, file_name, sha256, format, rows_read, rows_stored, "
        "ingested_at, replaced_at, message FROM waves WHERE study_id = ? "
        "ORDER BY wave_order, version"
    )
    if connection is not None:
        return connection.execute(sql, [study.id]).fetch_df()
    return query(study, sql, [study.id])


def answers(study: Study) -> pd.DataFrame:
    """The long table of answers of the stored waves, with missing-value reasons."""
    return query(
        study,
        "SELECT a.wave, a.row_number, i.respondent, a.item, a.value, a.answered_code, "
        "a.missing_reason FROM answers a JOIN waves w USING (study_id, wave, version) "
        "JOIN interviews i USING (study_id, wave, version, row_number) "
        "WHERE a.study_id = ? AND w.status = 'stored' ORDER BY w.wave_order, a.row_number",
        [study.id],
    )


def responses(
    study: Study,
    *,
    coded: bool = False,
    waves: Sequence[str] | None = None,
    items: Sequence[str] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The respondent-by-wave frame of the stored waves: role columns, then one column per item.

    Values are analysis values (missing codes are NaN) unless ``coded`` is true, in which case
    the codes as answered are returned (special codes in place), as validation needs them.
    ``waves`` limits the frame to those waves (default: every stored wave), ``items`` to those
    item columns (default: every stored item). The long answers are pivoted by DuckDB, so
    only the wide frame reaches pandas. ``connection`` reuses an open warehouse connection.
    """
    if connection is None:
        with connect(warehouse_path(study), read_only=True) as opened:
            return responses(study, coded=coded, waves=waves, items=items, connection=opened)
    value_column = "answered_code" if coded else "value"
    chosen = list(study.wave_names if waves is None else waves)
    in_waves = f"IN ({', '.join('?' for _ in chosen)})" if chosen else "IN (NULL)"
    stored_answers = (
        "FROM answers a JOIN waves w USING (study_id, wave, version) "
        "WHERE a.study_id = ? AND w.status = 'stored' AND a.wave " + in_waves
    )
    present = {
        row[0]
        for row in connection.execute(
            "SELECT DISTINCT a.item " + stored_answers, [study.id, *chosen]
        ).fetchall()
    }
    order = connection.execute(
        "SELECT stored_name FROM items WHERE study_id = ?", [study.id]
    ).fetchall()
    wanted = None if items is None else set(items)
    item_order = [
        name
        for name in dict.fromkeys(row[0] for row in order)
        if name in present and (wanted is None or name in wanted)
    ]
    interviews = (
        "SELECT i.wave, "
        + ", ".join(f"i.{column}" for column in INTERVIEW_COLUMNS)
        + ", w.wave_order FROM interviews i JOIN waves w USING (study_id, wave, version) "
        "WHERE i.study_id = ? AND w.status = 'stored' AND i.wave " + in_waves
    )
    if not item_order:
        found = connection.execute(
            interviews + " ORDER BY w.wave_order, i.row_number", [study.id, *chosen]
        ).fetch_df()
        return found.drop(columns="wave_order")
    # PIVOT on each item's position (numbers the code chooses, never names from the data)
    # with the positions spelled out: DuckDB's list-based pivot, which then takes parameters.
    staged = "_trustshift_item_positions"
    connection.register(
        staged, pd.DataFrame({"item": item_order, "position": range(len(item_order))})
    )
    columns = ", ".join(str(position) for position in range(len(item_order)))
    try:
        wide = connection.execute(
            "SELECT r.*, p.* EXCLUDE (wave, row_number) FROM ("
            + interviews
            + ") r LEFT JOIN (PIVOT (SELECT a.wave, a.row_number, k.position, "
            f"a.{value_column} AS value FROM answers a JOIN waves w "
            f"USING (study_id, wave, version) JOIN {staged} k ON k.item = a.item "
            f"WHERE a.study_id = ? AND w.status = 'stored' AND a.wave {in_waves}) "
            f"ON position IN ({columns}) USING first(value) GROUP BY wave, row_number) p "
            "USING (wave, row_number) ORDER BY r.wave_order, r.row_number",
            [study.id, *chosen, study.id, *chosen],
        ).fetch_df()
    finally:
        connection.unregister(staged)
    wide.columns = pd.Index(["wave", *INTERVIEW_COLUMNS, "wave_order", *item_order])
    return wide.drop(columns="wave_order")
