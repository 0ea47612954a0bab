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


def waves(study: Study) -> pd.DataFrame:
    """Every file ingested for the study, current and replaced, in wave order."""
    return query(
        study,
        "SELECT wave, version, status, file_name, sha256, format, rows_read, rows_stored, "
        "ingested_at, replaced_at, message FROM waves WHERE study_id = ? "
        "ORDER BY wave_order, version",
        [study.id],
    )


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
    study: Study, *, coded: bool = False, waves: Sequence[str] | None = None
) -> pd.DataFrame:
    """The respondent-by-wave frame of the stored waves: role columns, then one column per item.

    Values are analysis values (missing codes are NaN) unless ``coded`` is true, in which case
    the codes as answered are returned (special codes in place), as validation needs them.
    ``waves`` limits the frame to those waves (default: every stored wave).
    """
    value_column = "answered_code" if coded else "value"
    chosen = list(study.wave_names if waves is None else waves)
    in_waves = f"IN ({', '.join('?' for _ in chosen)})" if chosen else "IN (NULL)"
    with connect(warehouse_path(study), read_only=True) as connection:
        interviews = connection.execute(
            "SELECT i.wave, w.wave_order, "
            + ", ".join(f"i.{column}" for column in INTERVIEW_COLUMNS)
            + " FROM interviews i JOIN waves w USING (study_id, wave, version) "
            f"WHERE i.study_id = ? AND w.status = 'stored' AND i.wave {in_waves} "
            "ORDER BY w.wave_order, i.row_number",
            [study.id, *chosen],
        ).fetch_df()
        long = connection.execute(
            f"SELECT a.wave, a.row_number, a.item, a.{value_column} AS value "
            "FROM answers a JOIN waves w USING (study_id, wave, version) "
            f"WHERE a.study_id = ? AND w.status = 'stored' AND a.wave {in_waves}",
            [study.id, *chosen],
        ).fetch_df()
        order = connection.execute(
            "SELECT stored_name FROM items WHERE study_id = ?", [study.id]
        ).fetch_df()
    if interviews.empty:
        return interviews.drop(columns="wave_order")
    wide = long.pivot(index=["wave", "row_number"], columns="item", values="value")
    # Items in the instrument's order: a table's row order is not kept by every warehouse
    # (PostgreSQL reuses the space of deleted rows), so it is not read from the rows.
    position = {
        name: index
        for index, name in enumerate(
            stored for item in study.resolved_instrument().items for stored in item.stored_names()
        )
    }
    item_order = sorted(
        (name for name in order["stored_name"] if name in wide.columns),
        key=lambda name: position.get(name, len(position)),
    )
    wide = wide[item_order].reset_index()
    wide.columns.name = None
    merged = interviews.merge(wide, on=["wave", "row_number"], how="left", validate="one_to_one")
    return merged.drop(columns="wave_order").reset_index(drop=True)
