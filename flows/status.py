"""What `trustshift status` shows: per wave its validation and quarantine, and the last run."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from flows.study import Study
from flows.warehouse import connect, has_table, warehouse_exists, warehouse_path

WAVE_STATUS_COLUMNS: tuple[str, ...] = (
    "wave",
    "version",
    "file_name",
    "rows_stored",
    "validation",
    "n_quarantined",
    "n_released",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyStatus:
    """The stored waves with their validation, and the last recorded run of the study."""

    waves: pd.DataFrame
    last_run: dict[str, str] | None


def study_status(study: Study) -> StudyStatus:
    """Read the status of a study from its warehouse (nothing is written)."""
    empty = StudyStatus(waves=pd.DataFrame(columns=list(WAVE_STATUS_COLUMNS)), last_run=None)
    database = warehouse_path(study)
    if not warehouse_exists(database):
        return empty
    with connect(database, read_only=True) as connection:
        if not has_table(connection, "waves"):
            return empty
        validated = has_table(connection, "validation_waves")
        waves = connection.execute(
            "SELECT w.wave, w.version, w.file_name, w.rows_stored, "
            + (
                "coalesce(v.status, 'not validated') AS validation, "
                "coalesce(v.n_quarantined, 0) AS n_quarantined "
                if validated
                else "'not validated' AS validation, 0 AS n_quarantined "
            )
            + "FROM waves w "
            + ("LEFT JOIN validation_waves v USING (study_id, wave, version) " if validated else "")
            + "WHERE w.study_id = ? AND w.status = 'stored' ORDER BY w.wave_order",
            [study.id],
        ).fetch_df()
        released = pd.Series(dtype="int64")
        if validated and has_table(connection, "quarantine_releases"):
            from flows.validation.decisions import quarantined_rows

            rows = quarantined_rows(connection, study)
            released = rows[rows["decision"] == "release"].groupby("wave").size()
        waves["n_released"] = waves["wave"].map(released).fillna(0).astype("int64")
        last = (
            connection.execute(
                "SELECT run_id, kind, status, started_at, inputs, message FROM runs "
                # A study run (which writes the report) before the estimation inside it.
                "WHERE study_id = ? ORDER BY kind = 'estimate', started_at DESC LIMIT 1",
                [study.id],
            ).fetchone()
            if has_table(connection, "runs")
            else None
        )
    last_run = None
    if last is not None:
        run_id, kind, status, started, inputs, message = last
        try:
            recorded = json.loads(inputs)
        except (TypeError, ValueError):
            recorded = None
        # Evaluation runs record a dict with their outputs; estimation runs a list of waves.
        outputs = recorded.get("outputs") or {} if isinstance(recorded, dict) else {}
        last_run = {
            "run_id": str(run_id),
            "kind": str(kind),
            "status": str(status),
            "started_at": str(started),
            "report": str(outputs.get("report") or "none"),
            "message": str(message or ""),
        }
    return StudyStatus(waves=waves[list(WAVE_STATUS_COLUMNS)], last_run=last_run)
