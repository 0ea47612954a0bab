"""What estimation reads from the warehouse: the waves pivoted by DuckDB, on few connections."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from flows import api, stored_wave
from flows.estimation import RESULT_TABLES, estimate_study, read_result
from flows.estimation.analysis_data import items_read
from flows.estimation.run import ESTIMATION_ROLES
from flows.ingest import ingest_wave
from flows.report import build_report
from flows.stored_wave import RowFilter
from flows.study import Study, load_study
from flows.warehouse import INTERVIEW_COLUMNS, connect, warehouse_path
from tests.flows.estimation.survey import SurveySettings, write_survey_study

SETTINGS = SurveySettings(waves=("baseline", "endline", "follow_up"), n_clusters=8, per_cluster=10)


def pandas_responses(
    study: Study,
    *,
    coded: bool = False,
    waves: Sequence[str] | None = None,
    items: Sequence[str] | None = None,
    keep: RowFilter | None = None,
    role_columns: Sequence[str] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The reference: the long answers fetched whole and pivoted by pandas (the earlier path),
    then the rows ``keep`` selects and the ``role_columns``."""
    if connection is None:
        with connect(warehouse_path(study), read_only=True) as opened:
            return pandas_responses(
                study,
                coded=coded,
                waves=waves,
                items=items,
                keep=keep,
                role_columns=role_columns,
                connection=opened,
            )
    value_column = "answered_code" if coded else "value"
    chosen = list(study.wave_names if waves is None else waves)
    marks = ", ".join("?" for _ in chosen)
    interviews = connection.execute(
        "SELECT i.wave, w.wave_order, "
        + ", ".join(f"i.{column}" for column in INTERVIEW_COLUMNS)
        + " FROM interviews i JOIN waves w USING (study_id, wave, version) "
        f"WHERE i.study_id = ? AND w.status = 'stored' AND i.wave IN ({marks}) "
        "ORDER BY w.wave_order, i.row_number",
        [study.id, *chosen],
    ).fetch_df()
    long = connection.execute(
        f"SELECT a.wave, a.row_number, a.item, a.{value_column} AS value "
        "FROM answers a JOIN waves w USING (study_id, wave, version) "
        f"WHERE a.study_id = ? AND w.status = 'stored' AND a.wave IN ({marks})",
        [study.id, *chosen],
    ).fetch_df()
    order = connection.execute(
        "SELECT stored_name FROM items WHERE study_id = ?", [study.id]
    ).fetch_df()
    wide = long.pivot(index=["wave", "row_number"], columns="item", values="value")
    item_order = [name for name in order["stored_name"] if name in wide.columns]
    if items is not None:
        item_order = [name for name in item_order if name in set(items)]
    wide = wide[item_order].reset_index()
    wide.columns.name = None
    merged = interviews.merge(wide, on=["wave", "row_number"], how="left", validate="one_to_one")
    merged = merged.drop(columns="wave_order").reset_index(drop=True)
    roles = ["wave", *INTERVIEW_COLUMNS]
    if keep is not None and not merged.empty:
        kept = np.concatenate(
            [
                np.asarray(keep(part[roles].reset_index(drop=True)), dtype=bool)
                for _, part in merged.groupby("wave", sort=False)
            ]
        )
        merged = merged[kept].reset_index(drop=True)
    if role_columns is not None:
        dropped = [c for c in INTERVIEW_COLUMNS if c != "row_number" and c not in role_columns]
        merged = merged.drop(columns=dropped)
    return merged


def ingested(root: Path) -> Study:
    study = load_study(write_survey_study(root, SETTINGS))
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    return study


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Study:
    """A three-wave panel ingested, not yet estimated."""
    return ingested(tmp_path_factory.mktemp("data-access") / "study")


@contextmanager
def counted_connections() -> Iterator[list[Any]]:
    """Record every DuckDB connection opened inside the block."""
    opened: list[Any] = []
    original = duckdb.connect

    def counting(*args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        opened.append(args[0] if args else kwargs.get("database"))
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(duckdb, "connect", counting)
        yield opened


DRAWS = {"bootstrap_draws": 49, "lee_draws": 5, "seed": 3}


@pytest.fixture(scope="module")
def estimated_both_ways(stored: Study) -> dict[str, int]:
    """The study estimated from the DuckDB pivot (connections counted) and the pandas pivot."""
    with counted_connections() as opened:
        estimate_study(stored, run_id="estimate-duckdb-pivot", **DRAWS)
    estimating = len(opened)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api, "responses", pandas_responses)
        estimate_study(stored, run_id="estimate-pandas-pivot", **DRAWS)
    with counted_connections() as opened:
        build_report(stored, run_id="estimate-duckdb-pivot", out_dir=stored.root / "report")
    return {"estimate": estimating, "report": len(opened)}


@pytest.mark.parametrize("coded", [False, True])
def test_responses_pivoted_by_duckdb_equal_the_long_answers_pivoted_by_pandas(
    stored: Study, coded: bool
) -> None:
    pivoted = api.responses(stored, coded=coded)
    assert pivoted["wave"].unique().tolist() == list(SETTINGS.waves)
    assert len(pivoted) > 2 * SETTINGS.n_clusters * SETTINGS.per_cluster
    pd.testing.assert_frame_equal(pivoted, pandas_responses(stored, coded=coded))


def test_responses_are_limited_to_the_waves_and_items_asked_for(stored: Study) -> None:
    every_item = list(api.responses(stored).columns[len(INTERVIEW_COLUMNS) + 1 :])
    asked = [every_item[5], every_item[2]]
    pivoted = api.responses(stored, coded=True, waves=["endline"], items=[*asked, "not_an_item"])
    assert set(pivoted["wave"]) == {"endline"}
    # Items come in the instrument's order, whatever order they were asked in.
    assert list(pivoted.columns) == ["wave", *INTERVIEW_COLUMNS, every_item[2], every_item[5]]
    reference = pandas_responses(stored, coded=True, waves=["endline"], items=asked)
    pd.testing.assert_frame_equal(pivoted, reference)


def test_estimates_from_the_duckdb_pivot_equal_those_from_the_pandas_pivot(
    stored: Study, estimated_both_ways: dict[str, int]
) -> None:
    compared = 0
    for table in RESULT_TABLES:
        if table in ("run_settings", "run_warnings"):
            continue
        new = read_result(stored, table, "estimate-duckdb-pivot")
        old = read_result(stored, table, "estimate-pandas-pivot")
        assert list(new.columns) == list(old.columns), table
        assert new.shape == old.shape, table
        for column in new.columns:
            if pd.api.types.is_numeric_dtype(new[column]) and not pd.api.types.is_bool_dtype(
                new[column]
            ):
                np.testing.assert_allclose(
                    new[column].to_numpy(float),
                    old[column].to_numpy(float),
                    rtol=0,
                    atol=1e-12,
                    err_msg=f"{table}.{column}",
                )
                compared += int(new[column].notna().sum())
            else:
                assert new[column].astype(str).tolist() == old[column].astype(str).tolist()
    assert compared > 1000


def test_an_estimation_run_opens_three_warehouse_connections_and_a_report_five(
    estimated_both_ways: dict[str, int],
) -> None:
    # The study lock's record, one connection reading the waves, one writing the results
    # (eight before: each frame read and each table group opened its own).
    assert estimated_both_ways["estimate"] == 3
    # The lock, the run's record, its result tables on one connection, the plan and the
    # study's earlier runs (some twenty-five before: one per result table).
    assert estimated_both_ways["report"] <= 5


def test_estimation_never_reads_rows_it_leaves_out_nor_items_no_table_uses(
    tmp_path: Path,
) -> None:
    study = ingested(tmp_path / "study")
    with connect(warehouse_path(study)) as connection:
        connection.execute(
            "UPDATE interviews SET consent = 0 WHERE study_id = ? AND row_number % 7 = 0",
            [study.id],
        )
        refused = set(
            connection.execute(
                "SELECT wave, row_number FROM interviews WHERE study_id = ? AND consent = 0",
                [study.id],
            ).fetchall()
        )
    reads: list[tuple[bool, pd.DataFrame]] = []

    def recording(*args: Any, **kwargs: Any) -> pd.DataFrame:
        frame = stored_wave.read_stored_waves(*args, **kwargs)
        reads.append((bool(kwargs.get("coded")), frame))
        return frame

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api, "read_stored_waves", recording)
        estimate_study(study, run_id="left-out", **DRAWS)
    assert refused and len(reads) >= 3
    for _, frame in reads:
        assert refused.isdisjoint(zip(frame["wave"], frame["row_number"], strict=True))
    main = reads[0][1]
    held = set(api.responses(study).columns)
    assert list(main.columns[:8]) == ["wave", "row_number", *ESTIMATION_ROLES]
    assert set(main.columns[8:]) == set(items_read(study)) & held
    # Codes of every item are read for the missing answers, wave by wave.
    coded_whole = [frame for coded, frame in reads if coded and len(frame.columns) > 20]
    assert [frame["wave"].iat[0] for frame in coded_whole] == list(SETTINGS.waves)
    analysed = read_result(study, "input_files", "left-out")
    # The rows read are the rows analysed: every stored row but those without consent.
    assert int(analysed["rows_analysed"].sum()) == len(main)
    assert len(main) == int(analysed["rows_stored"].sum()) - len(refused)
