"""Validation results in DuckDB: idempotent storage, releases, the analysable rows."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd
import pytest

from flows.study import Study
from flows.validation import (
    WaveValidation,
    analysable_rows,
    release_quarantined,
    store_validation,
)
from flows.warehouse import INTERVIEW_COLUMNS, SCHEMA


def _warehouse(coded: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    connection.execute(SCHEMA)
    connection.execute(
        "INSERT INTO waves VALUES ('example', 'baseline', 1, 0, 'baseline.csv', 'abc', 'csv', "
        "?, ?, 'stored', 'raw/baseline.csv', now(), NULL, NULL)",
        [len(coded), len(coded)],
    )
    interviews = coded[list(INTERVIEW_COLUMNS)].assign(
        study_id="example", wave="baseline", version=1
    )
    connection.register("frame", interviews)
    connection.execute(
        "INSERT INTO interviews SELECT study_id, wave, version, "
        + ", ".join(INTERVIEW_COLUMNS)
        + " FROM frame"
    )
    connection.unregister("frame")
    return connection


def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_storing_the_same_wave_twice_replaces_its_rows(
    faulty_baseline: tuple[pd.DataFrame, pd.DataFrame], faulty_validation: WaveValidation
) -> None:
    coded, _ = faulty_baseline
    connection = _warehouse(coded)
    for run_id in ("run-1", "run-2"):
        version = store_validation(
            connection,
            study_id="example",
            wave="baseline",
            run_id=run_id,
            validation=faulty_validation,
        )
    assert version == 1
    assert _count(connection, "validation_summary") == len(faulty_validation.summary)
    assert _count(connection, "quarantine") == len(faulty_validation.row_flags)
    assert _count(connection, "enumerator_checks") == len(faulty_validation.enumerators)
    stored = connection.execute("SELECT DISTINCT run_id, status FROM validation_waves").fetchall()
    assert stored == [("run-2", "validated")]
    summary = connection.execute(
        "SELECT suite, column_name, success, unexpected_count FROM validation_summary "
        "ORDER BY position"
    ).fetch_df()
    expected = faulty_validation.summary[["suite", "column", "success", "unexpected_count"]]
    assert (
        summary["unexpected_count"].fillna(-1).tolist()
        == expected["unexpected_count"].fillna(-1).tolist()
    )


def test_analysis_uses_unquarantined_rows_and_released_ones(
    faulty_baseline: tuple[pd.DataFrame, pd.DataFrame], faulty_validation: WaveValidation
) -> None:
    coded, _ = faulty_baseline
    connection = _warehouse(coded)
    store_validation(
        connection, study_id="example", wave="baseline", run_id="run-1",
        validation=faulty_validation,
    )  # fmt: skip
    rows = analysable_rows(connection, "example")
    assert len(rows) == len(coded) - len(faulty_validation.quarantined)
    assert not rows["row_number"].isin(faulty_validation.quarantined).any()
    submission = faulty_validation.recheck["submission"].iloc[0]
    release_quarantined(
        connection,
        study_id="example",
        wave="baseline",
        submission=submission,
        reason_text="Supervisor back-checked the interview by phone; answers confirmed.",
        decided_by="field supervisor",
    )
    after = analysable_rows(connection, "example")
    assert len(after) == len(rows) + 1
    assert submission in set(after["submission"])
    assert _count(connection, "quarantine") == len(faulty_validation.row_flags)
    # Re-validating keeps the recorded decision.
    store_validation(
        connection, study_id="example", wave="baseline", run_id="run-2",
        validation=faulty_validation,
    )  # fmt: skip
    assert len(analysable_rows(connection, "example")) == len(after)


def test_a_wave_that_failed_structurally_gives_no_analysable_rows(
    faulty_baseline: tuple[pd.DataFrame, pd.DataFrame], faulty_validation: WaveValidation
) -> None:
    coded, _ = faulty_baseline
    connection = _warehouse(coded)
    failed = replace(faulty_validation, structural_failures=("validate_wave: column missing",))
    store_validation(
        connection, study_id="example", wave="baseline", run_id="run-1", validation=failed
    )
    assert analysable_rows(connection, "example").empty
    status = connection.execute("SELECT status FROM validation_waves").fetchone()
    assert status == ("failed",)


def test_release_quarantined_refuses_a_submission_that_is_not_quarantined(
    faulty_baseline: tuple[pd.DataFrame, pd.DataFrame], faulty_validation: WaveValidation
) -> None:
    coded, _ = faulty_baseline
    connection = _warehouse(coded)
    store_validation(
        connection, study_id="example", wave="baseline", run_id="run-1",
        validation=faulty_validation,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"submission 'uuid-nope' is not quarantined in wave"):
        release_quarantined(
            connection, study_id="example", wave="baseline", submission="uuid-nope",
            reason_text="checked", decided_by="me",
        )  # fmt: skip


def test_release_quarantined_needs_a_reason_and_who_decided(
    faulty_validation: WaveValidation,
) -> None:
    connection = duckdb.connect(":memory:")
    with pytest.raises(ValueError, match="a release needs a reason_text and decided_by"):
        release_quarantined(
            connection, study_id="example", wave="baseline", submission="x",
            reason_text=" ", decided_by="me",
        )  # fmt: skip


def test_store_validation_rejects_a_validation_of_another_wave(
    faulty_validation: WaveValidation,
) -> None:
    connection = duckdb.connect(":memory:")
    with pytest.raises(ValueError, match=r"the validation is of study 'example' wave 'baseline'"):
        store_validation(
            connection, study_id="example", wave="endline", run_id="r",
            validation=faulty_validation,
        )  # fmt: skip


def test_analysable_rows_needs_ingested_interviews(example_study: Study) -> None:
    connection = duckdb.connect(":memory:")
    with pytest.raises(ValueError, match=r"the warehouse has no 'interviews' table"):
        analysable_rows(connection, example_study.id)


def test_reading_the_quarantine_tables_does_not_load_great_expectations() -> None:
    # The estimation reads the analysable rows through this module: importing GX cost it
    # seconds per run. Every name the package exports still resolves.
    import subprocess
    import sys

    script = (
        "import sys, flows.validation.storage\n"
        "print('great_expectations' in sys.modules)\n"
        "import flows.validation as package\n"
        "print(all(getattr(package, name) is not None for name in package.__all__))\n"
        "print('great_expectations' in sys.modules)\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert found == ["False", "True", "True"]
