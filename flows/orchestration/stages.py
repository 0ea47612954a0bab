"""Plain glue between the stages: which waves still need validating, validating a stored
wave, and the state of validation that an analysis depends on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

import expectations
from flows.errors import StudyFileError
from flows.faults import fault_point
from flows.locking import study_lock
from flows.orchestration.inbox import new_inbox_files
from flows.orchestration.records import (
    EVALUATE_STUDY,
    StoredWave,
    finished_run_with_fingerprint,
    input_fingerprint,
    run_finished,
    stored_waves,
)
from flows.rederive import waves_to_rederive
from flows.stored_wave import read_stored_wave, sorted_frame
from flows.study import Study
from flows.warehouse import INTERVIEW_COLUMNS, connect, has_table, warehouse_path

if TYPE_CHECKING:
    from flows.validation import WaveValidation

# flows.validation (Great Expectations) takes seconds to import: it is imported only when a
# wave is to be validated, so a run with nothing new does not pay for it.

# The defaults of estimate_study, repeated here so that a run with nothing to estimate does
# not import the estimation stack (a test checks they agree): 9,999 wild-bootstrap draws.
DEFAULT_BOOTSTRAP_DRAWS = 9999
DEFAULT_SEED = 20261130

DATA_DOCS_FOLDER = "data_docs"
REPORTS_FOLDER = "reports"


def waves_to_validate(study: Study) -> list[str]:
    """Stored waves whose current version has no validation yet, in wave order.

    Covers waves ingested outside a flow run (`trustshift ingest`) as well as new ones.
    """
    with connect(warehouse_path(study), read_only=True) as connection:
        if not has_table(connection, "waves"):
            return []
        if has_table(connection, "validation_waves"):
            sql = (
                "SELECT w.wave FROM waves w LEFT JOIN validation_waves v "
                "USING (study_id, wave, version) WHERE w.study_id = ? AND w.status = 'stored' "
                "AND v.wave IS NULL ORDER BY w.wave_order"
            )
        else:
            sql = (
                "SELECT wave FROM waves WHERE study_id = ? AND status = 'stored' "
                "ORDER BY wave_order"
            )
        return [row[0] for row in connection.execute(sql, [study.id]).fetchall()]


def failed_waves(study: Study) -> list[str]:
    """Stored waves whose current version failed structural validation (left out of analysis)."""
    with connect(warehouse_path(study), read_only=True) as connection:
        if not has_table(connection, "validation_waves"):
            return []
        rows = connection.execute(
            "SELECT w.wave FROM waves w JOIN validation_waves v USING (study_id, wave, version) "
            "WHERE w.study_id = ? AND w.status = 'stored' AND v.status = 'failed' "
            "ORDER BY w.wave_order",
            [study.id],
        ).fetchall()
    return [row[0] for row in rows]


def suites_for(study: Study) -> tuple[dict[str, dict[str, Any]] | None, str]:
    """The study's suites and where they came from: ``<study folder>/expectations``, then the
    bundled ``expectations/`` folder, when either holds ``<study id>_*.json`` (files edited by
    hand win); else None, meaning "build them from the study file".

    A suite records the SHA-256 of the study file it was generated from
    (``meta.study_file_sha256``). Bundled suites generated from another version of the study
    file are ignored (the suites are built from the study file as it is now); the study's own
    suites, which may hold hand edits, are refused with a message when they do not follow it.
    """
    from flows.validation import load_suites
    from flows.validation.suites import STUDY_FILE_META

    bundled = Path(expectations.__file__).resolve().parent
    own = study.root / "expectations"
    for folder in (own, bundled):
        if not any(folder.glob(f"{study.id}_*.json")):
            continue
        suites = load_suites(folder, study)
        stale = sorted(
            name
            for name, suite in suites.items()
            if suite.get("meta", {}).get(STUDY_FILE_META) not in (None, study.file_hash)
        )
        if not stale:
            return suites, str(folder)
        if folder == own:
            raise StudyFileError(
                f"suites_for: {len(stale)} suite(s) in {str(own)!r} ({', '.join(stale[:3])}"
                f"{', ...' if len(stale) > 3 else ''}) were generated from another version of "
                f"{study.path.name} (meta.{STUDY_FILE_META}); they would check the old rules. "
                "Regenerate them (flows.validation.write_suites(study, folder)) and re-apply "
                "your edits, or delete them to have the suites built from the study file."
            )
    return None, "built from the study file"


def validate_and_store(study: Study, wave: str, *, run_id: str) -> WaveValidation:
    """Validate the stored current version of one wave and store the results.

    The wave is read back from the warehouse as coded (special codes in place, respondent
    ids already pseudonymised), with the earlier waves for the cross-wave checks. A
    structural failure is stored (the wave is then marked failed and left out of analysis)
    and returned, not raised: the caller decides how the run ends.
    """
    with study_lock(study, purpose=f"validate {wave}"):
        return _validate_and_store(study, wave, run_id=run_id)


def _validate_and_store(study: Study, wave: str, *, run_id: str) -> WaveValidation:
    from flows.validation import store_validation, validate_wave

    order = study.wave_names
    earlier_names = order[: order.index(wave)] if wave in order else []
    with connect(warehouse_path(study), read_only=True) as connection:
        this = read_stored_wave(connection, study, wave, coded=True)
    earlier = earlier_roles(study, earlier_names)
    suites, _ = suites_for(study)
    validation = validate_wave(
        this,
        study=study,
        wave=wave,
        earlier_waves=earlier if not earlier.empty else None,
        data_docs_dir=study.root / DATA_DOCS_FOLDER / wave,
        suites=suites,
        on_structural="return",
    )
    fault_point("validate-before-store")
    with connect(warehouse_path(study)) as connection:
        store_validation(
            connection, study_id=study.id, wave=wave, run_id=run_id, validation=validation
        )
    return validation


def earlier_roles(study: Study, waves: list[str]) -> pd.DataFrame:
    """The roles the cross-wave checks compare, of the stored earlier waves, in wave and row
    order: row number, respondent and the roles that must not change (arm, cluster, stratum).

    The earlier waves' answers and other roles are never read, so validating the last wave of
    a large panel holds one wave's answers, not all of them.
    """
    from flows.validation.checks import CROSS_WAVE_FLAGS

    if not waves:
        return pd.DataFrame()
    columns = [c for c in INTERVIEW_COLUMNS if c in ("row_number", "respondent", *CROSS_WAVE_FLAGS)]
    placeholders = ", ".join("?" for _ in waves)
    with connect(warehouse_path(study), read_only=True) as connection:
        roles = sorted_frame(
            connection,
            "SELECT i.wave, "
            + ", ".join(f"i.{column}" for column in columns)
            + ", w.wave_order FROM interviews i JOIN waves w USING (study_id, wave, version) "
            f"WHERE i.study_id = ? AND w.status = 'stored' AND i.wave IN ({placeholders})",
            [study.id, *waves],
            order_by=["wave_order", "row_number"],
        )
    return roles.drop(columns="wave_order")


def quality_overview(study: Study) -> pd.DataFrame:
    """One row per stored wave: validation status, rows, quarantined rows, failed checks."""
    columns = ["wave", "status", "n_rows", "n_quarantined", "failed_checks"]
    with connect(warehouse_path(study), read_only=True) as connection:
        if not has_table(connection, "validation_waves"):
            return pd.DataFrame(columns=columns)
        frame = connection.execute(
            "SELECT v.wave, v.status, v.n_rows, v.n_quarantined, "
            "(SELECT count(*) FROM validation_summary s WHERE s.study_id = v.study_id "
            " AND s.wave = v.wave AND s.version = v.version AND NOT s.success) AS failed_checks "
            "FROM validation_waves v JOIN waves w USING (study_id, wave, version) "
            "WHERE v.study_id = ? AND w.status = 'stored' ORDER BY w.wave_order",
            [study.id],
        ).fetch_df()
    return frame[columns]


def validation_state(study: Study) -> str:
    """SHA-256 of what validation decided for the stored waves (statuses, quarantined rows,
    releases): a change re-runs the analysis even when no file changed."""
    with connect(warehouse_path(study), read_only=True) as connection:
        state: dict[str, Any] = {}
        if has_table(connection, "validation_waves"):
            state["waves"] = connection.execute(
                "SELECT wave, version, status, n_quarantined FROM validation_waves "
                "WHERE study_id = ? ORDER BY wave, version",
                [study.id],
            ).fetchall()
        if has_table(connection, "quarantine"):
            state["quarantine"] = connection.execute(
                "SELECT wave, version, count(DISTINCT row_number) FROM quarantine "
                "WHERE study_id = ? GROUP BY wave, version ORDER BY wave, version",
                [study.id],
            ).fetchall()
        if has_table(connection, "quarantine_releases"):
            state["releases"] = connection.execute(
                "SELECT wave, submission FROM quarantine_releases WHERE study_id = ? "
                "ORDER BY wave, submission",
                [study.id],
            ).fetchall()
    content = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def read_estimates(study: Study, *, run_id: str) -> pd.DataFrame:
    """The estimates table of one estimation run (empty when there is none)."""
    with connect(warehouse_path(study), read_only=True) as connection:
        if not has_table(connection, "estimates"):
            return pd.DataFrame()
        return (
            connection.execute(
                "SELECT * FROM estimates WHERE run_id = ? AND study_id = ? ORDER BY row_position",
                [run_id, study.id],
            )
            .fetch_df()
            .drop(columns=["run_id", "study_id", "row_position"])
        )


def report_folder(study: Study, run_id: str) -> Path:
    """Where the report of an estimation run goes: ``<study folder>/reports/<run id>``."""
    return study.root / REPORTS_FOLDER / run_id


def evaluation_fingerprint(
    study: Study, waves: list[StoredWave], *, bootstrap_draws: int, seed: int
) -> str:
    """The fingerprint of an evaluation: its inputs, its options and what validation decided."""
    return input_fingerprint(
        study,
        waves,
        extra=json.dumps(
            {
                "bootstrap_draws": bootstrap_draws,
                "seed": seed,
                "validation": validation_state(study),
            }
        ),
    )


def reusable_run(study: Study, *, fingerprint: str) -> tuple[str, dict[str, Any]] | None:
    """An earlier finished evaluation with the same fingerprint whose estimates still exist;
    returns its run id and its outputs (estimation run id, report)."""
    previous = finished_run_with_fingerprint(study, kind=EVALUATE_STUDY, fingerprint=fingerprint)
    if previous is None:
        return None
    outputs = previous["inputs"].get("outputs") or {}
    estimation_run_id = outputs.get("estimation_run_id")
    if not estimation_run_id or not run_finished(study, str(estimation_run_id)):
        return None
    return str(previous["run_id"]), dict(outputs)


def unchanged_evaluation(
    study: Study, *, bootstrap_draws: int, seed: int
) -> tuple[str, dict[str, Any], list[StoredWave], str] | None:
    """When nothing is new (no file to ingest, no wave to validate) and an earlier finished
    evaluation with the same fingerprint has its estimates and report: that run's id and
    outputs, the stored waves and the fingerprint. Else None: there is work to do."""
    if new_inbox_files(study) or waves_to_validate(study) or waves_to_rederive(study):
        return None
    waves = stored_waves(study)
    fingerprint = evaluation_fingerprint(study, waves, bootstrap_draws=bootstrap_draws, seed=seed)
    previous = reusable_run(study, fingerprint=fingerprint)
    if previous is None:
        return None
    run_id, outputs = previous
    report = outputs.get("report")
    if not report or not Path(str(report)).is_file():
        return None
    return run_id, outputs, waves, fingerprint
