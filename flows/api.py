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
from flows.stored_wave import RowFilter, read_stored_waves
from flows.study import Study, load_study
from flows.warehouse import INTERVIEW_COLUMNS, WarehouseConnection, connect, warehouse_path
from flows.warehouse import query as query_file

__all__ = ["answers", "load_study", "query", "read_wave", "responses", "waves"]


def read_wave(path: Path | str, study: Study, *, wave: str | None = None) -> pd.DataFrame:
    """Read one export into the coded wave (identifying columns already dropped)."""
    return code_wave(read_raw(Path(path), study=study), study=study, wave=wave).frame


def query(study: Study, sql: str, parameters: list[object] | None = None) -> pd.DataFrame:
    """Run a read-only SQL query on the study's warehouse."""
    return query_file(warehouse_path(study), sql, parameters)


def waves(study: Study, *, connection: WarehouseConnection | None = None) -> pd.DataFrame:
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
    keep: RowFilter | None = None,
    role_columns: Sequence[str] | None = None,
    connection: WarehouseConnection | None = None,
) -> pd.DataFrame:
    """The respondent-by-wave frame of the stored waves: role columns, then one column per item.

    Values are analysis values (missing codes are NaN) unless ``coded`` is true, in which case
    the codes as answered are returned (special codes in place), as validation needs them.
    ``waves`` limits the frame to those waves (default: every stored wave), ``items`` to those
    item columns (default: every stored item), ``keep`` to the rows it selects of each wave
    (given the wave's role columns; default: every row), ``role_columns`` the role columns
    besides ``wave`` and ``row_number`` (default: all). Each wave is read block by block
    into the frame's columns (``flows.stored_wave``), so the long answers never reach pandas;
    items come in the instrument's order. ``connection`` reuses an open warehouse connection.
    """
    if connection is None:
        with connect(warehouse_path(study), read_only=True) as opened:
            return responses(
                study,
                coded=coded,
                waves=waves,
                items=items,
                keep=keep,
                role_columns=role_columns,
                connection=opened,
            )
    chosen = set(study.wave_names if waves is None else waves)
    ordered = [wave for wave in study.wave_names if wave in chosen]
    if not ordered:
        return pd.DataFrame(columns=["wave", *INTERVIEW_COLUMNS])
    return read_stored_waves(
        connection,
        study,
        ordered,
        coded=coded,
        items=items,
        keep=keep,
        role_columns=role_columns,
    )
