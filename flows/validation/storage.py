"""Validation results in the warehouse: summaries, quarantine, enumerators and releases."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from flows.validation.checks import ENUMERATOR_COLUMNS
from flows.warehouse import WarehouseConnection, has_table, insert_frame

if TYPE_CHECKING:
    from flows.validation.wave import WaveValidation

VALIDATION_SCHEMA = """
CREATE TABLE IF NOT EXISTS validation_waves (
    study_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    run_id VARCHAR NOT NULL,
    n_rows INTEGER NOT NULL,
    n_quarantined INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    structural_failures VARCHAR,
    data_docs_path VARCHAR,
    validated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (study_id, wave, version)
);
CREATE TABLE IF NOT EXISTS validation_summary (
    study_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    run_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    suite VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    column_name VARCHAR,
    check_name VARCHAR,
    severity VARCHAR NOT NULL,
    success BOOLEAN NOT NULL,
    unexpected_count BIGINT,
    unexpected_percent DOUBLE,
    threshold VARCHAR
);
CREATE TABLE IF NOT EXISTS quarantine (
    study_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    run_id VARCHAR NOT NULL,
    row_number INTEGER NOT NULL,
    submission VARCHAR,
    check_name VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    severity VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS enumerator_checks (
    study_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    run_id VARCHAR NOT NULL,
    enumerator VARCHAR NOT NULL,
    n_interviews INTEGER NOT NULL,
    median_duration_minutes DOUBLE,
    mean_duration_minutes DOUBLE,
    duration_z DOUBLE,
    dont_know_rate DOUBLE,
    refused_rate DOUBLE,
    answer_variance DOUBLE,
    answer_variance_z DOUBLE,
    near_duplicate_share DOUBLE,
    near_duplicate_z DOUBLE,
    n_quarantined INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine_releases (
    study_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    submission VARCHAR NOT NULL,
    reason_text VARCHAR NOT NULL,
    decided_by VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    decision VARCHAR DEFAULT 'release'
);
"""
# Warehouses made before quarantine decisions could confirm a row: releases only.
DECISION_COLUMN = (
    "ALTER TABLE quarantine_releases ADD COLUMN IF NOT EXISTS decision VARCHAR DEFAULT 'release'"
)

# Interviews of stored wave versions that passed structural validation, minus quarantined
# rows unless their submission was released by a recorded decision.
ANALYSABLE_VIEW = """
CREATE OR REPLACE VIEW analysable_interviews AS
SELECT i.*
FROM interviews i
JOIN waves w USING (study_id, wave, version)
JOIN validation_waves v USING (study_id, wave, version)
WHERE w.status = 'stored'
  AND v.status = 'validated'
  AND NOT EXISTS (
      SELECT 1 FROM quarantine q
      WHERE q.study_id = i.study_id AND q.wave = i.wave AND q.version = i.version
        AND q.row_number = i.row_number
        AND NOT EXISTS (
            SELECT 1 FROM quarantine_releases r
            WHERE r.study_id = q.study_id AND r.wave = q.wave
              AND r.submission = coalesce(
                  q.submission, 'v' || q.version || ':row ' || q.row_number)
              AND coalesce(r.decision, 'release') = 'release'
              AND r.decided_at = (
                  SELECT max(r2.decided_at) FROM quarantine_releases r2
                  WHERE r2.study_id = r.study_id AND r2.wave = r.wave
                    AND r2.submission = r.submission)
        )
  )
"""


def create_validation_tables(connection: WarehouseConnection) -> None:
    """Create the validation tables if they are missing."""
    connection.execute(VALIDATION_SCHEMA)
    connection.execute(DECISION_COLUMN)


def _current_version(connection: WarehouseConnection, study_id: str, wave: str) -> int:
    if not has_table(connection, "waves"):
        return 1
    row = connection.execute(
        "SELECT max(version) FROM waves WHERE study_id = ? AND wave = ? AND status = 'stored'",
        [study_id, wave],
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 1


def store_validation(
    connection: WarehouseConnection,
    *,
    study_id: str,
    wave: str,
    run_id: str,
    validation: WaveValidation,
    version: int | None = None,
) -> int:
    """Store one wave's validation; re-validating the same wave version replaces its rows.

    ``version`` defaults to the wave's current stored version in the ``waves`` table (1 when
    there is none). Returns the version stored. Releases are never touched.
    """
    if validation.study_id != study_id or validation.wave != wave:
        raise ValueError(
            f"store_validation: the validation is of study {validation.study_id!r} wave "
            f"{validation.wave!r}, not study {study_id!r} wave {wave!r}. Pass the matching "
            "study_id and wave."
        )
    create_validation_tables(connection)
    version = _current_version(connection, study_id, wave) if version is None else version
    key = [study_id, wave, version]
    now = datetime.now()
    summary = validation.summary.reset_index(drop=True)
    summary_rows = pd.DataFrame(
        {
            "study_id": study_id,
            "wave": wave,
            "version": version,
            "run_id": run_id,
            "position": range(len(summary)),
            "suite": summary["suite"],
            "expectation": summary["expectation"],
            "column_name": summary["column"],
            "check_name": summary["check"],
            "severity": summary["severity"],
            "success": summary["success"].astype(bool),
            "unexpected_count": summary["unexpected_count"].astype("Int64"),
            "unexpected_percent": summary["unexpected_percent"].astype("float64"),
            "threshold": summary["threshold"],
        }
    )
    flags = validation.row_flags
    quarantine_rows = pd.DataFrame(
        {
            "study_id": study_id,
            "wave": wave,
            "version": version,
            "run_id": run_id,
            "row_number": flags["row_number"].astype("int64"),
            "submission": flags["submission"].astype("string"),
            "check_name": flags["check"].astype("string"),
            "reason": flags["reason"].astype("string"),
            "severity": flags["severity"].astype("string"),
        }
    )
    enumerators = validation.enumerators
    if len(enumerators):
        quarantined_per = (
            validation.recheck.groupby("enumerator")["row_number"].size()
            if len(validation.recheck)
            else pd.Series(dtype="int64")
        )
        enumerator_rows = enumerators[list(ENUMERATOR_COLUMNS)].copy()
        enumerator_rows["enumerator"] = enumerator_rows["enumerator"].astype("string")
        enumerator_rows["n_quarantined"] = (
            enumerator_rows["enumerator"].map(quarantined_per).fillna(0).astype("int64")
        )
        enumerator_rows.insert(0, "run_id", run_id)
        enumerator_rows.insert(0, "version", version)
        enumerator_rows.insert(0, "wave", wave)
        enumerator_rows.insert(0, "study_id", study_id)
    else:
        enumerator_rows = None
    status = "validated" if validation.success else "failed"
    connection.execute("BEGIN TRANSACTION")
    try:
        for table in ("validation_waves", "validation_summary", "quarantine", "enumerator_checks"):
            connection.execute(
                f"DELETE FROM {table} WHERE study_id = ? AND wave = ? AND version = ?", key
            )
        connection.execute(
            "INSERT INTO validation_waves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                study_id,
                wave,
                version,
                run_id,
                validation.n_rows,
                len(validation.quarantined),
                status,
                "\n".join(validation.structural_failures) or None,
                str(validation.data_docs_path) if validation.data_docs_path else None,
                now,
            ],
        )
        insert_frame(connection, "validation_summary", summary_rows)
        insert_frame(connection, "quarantine", quarantine_rows)
        if enumerator_rows is not None:
            insert_frame(connection, "enumerator_checks", enumerator_rows)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return version


def release_quarantined(
    connection: WarehouseConnection,
    *,
    study_id: str,
    wave: str,
    submission: str,
    reason_text: str,
    decided_by: str,
) -> None:
    """Record the decision to analyse a quarantined interview after all (never deletes)."""
    create_validation_tables(connection)
    if not reason_text.strip() or not decided_by.strip():
        raise ValueError(
            "release_quarantined: a release needs a reason_text and decided_by; found "
            f"reason_text={reason_text!r}, decided_by={decided_by!r}. Say why and who decided."
        )
    found = connection.execute(
        "SELECT count(*) FROM quarantine WHERE study_id = ? AND wave = ? AND submission = ?",
        [study_id, wave, submission],
    ).fetchone()
    if not found or not found[0]:
        raise ValueError(
            f"release_quarantined: submission {submission!r} is not quarantined in wave "
            f"{wave!r} of study {study_id!r}. Check the id against the re-check list."
        )
    connection.execute(
        "INSERT INTO quarantine_releases (study_id, wave, submission, reason_text, "
        "decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?)",
        [study_id, wave, submission, reason_text, decided_by, datetime.now()],
    )


def analysable_rows(connection: WarehouseConnection, study_id: str) -> pd.DataFrame:
    """The interviews analysis may use: validated, not quarantined unless released.

    Creates (or refreshes) the view ``analysable_interviews`` and returns its rows for the
    study, ordered by wave and row number.
    """
    create_validation_tables(connection)
    for table in ("interviews", "waves"):
        if not has_table(connection, table):
            raise ValueError(
                f"analysable_rows: the warehouse has no {table!r} table; ingest a wave first "
                "(trustshift ingest)."
            )
    connection.execute(ANALYSABLE_VIEW)
    return connection.execute(
        "SELECT a.* FROM analysable_interviews a JOIN waves w USING (study_id, wave, version) "
        "WHERE a.study_id = ? ORDER BY w.wave_order, a.row_number",
        [study_id],
    ).fetch_df()
