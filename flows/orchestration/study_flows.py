"""Prefect flows: evaluate a study end to end, or run one stage of it.

``evaluate-study`` calls the stage tasks itself rather than the stage flows as subflows:
each subflow run is several more API round trips (and, on SQLite, more chances of a
"database is locked" retry that costs 2 s), for nothing an evaluator needs to see.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from prefect import flow, get_run_logger
from prefect.exceptions import MissingContextError

from flows.errors import DataQualityError, IngestError, TrustshiftError
from flows.faults import fault_point
from flows.ingest import IngestOutcome, rederive_changed_waves
from flows.locking import study_lock
from flows.orchestration import process_memory
from flows.orchestration.artifacts import (
    estimates_table,
    mask_small_counts,
    masked_count,
    publish_estimates,
    publish_report_link,
    publish_summary,
    summary_markdown,
)
from flows.orchestration.records import (
    EVALUATE_STUDY,
    RunStatus,
    StoredWave,
    code_fingerprint,
)
from flows.orchestration.stages import (
    DEFAULT_BOOTSTRAP_DRAWS,
    DEFAULT_SEED,
    evaluation_fingerprint,
    failed_waves,
    quality_overview,
    reusable_run,
)
from flows.orchestration.tasks import (
    build_report_file,
    estimate_effects,
    find_new_files,
    find_waves_to_validate,
    ingest_file,
    read_estimates,
    read_stored_waves,
    record_end,
    record_start,
    validate_stored_wave,
)
from flows.study import Study, load_study
from flows.warehouse import WarehouseLocation, warehouse_path

if TYPE_CHECKING:
    from flows.validation import WaveValidation

INGEST_WAVE = "ingest-wave"
VALIDATE_WAVE = "validate-wave"
ESTIMATE_EFFECTS = "estimate-effects"
BUILD_REPORT = "build-report"


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationOutcome:
    """What one run of ``evaluate-study`` did."""

    study_id: str
    run_id: str
    status: RunStatus
    files: tuple[IngestOutcome, ...]
    failures: tuple[str, ...]
    waves: tuple[str, ...]
    fingerprint: str
    warehouse: WarehouseLocation
    report: Path | None = None
    estimation_run_id: str | None = None
    estimated: bool = False
    reused_run_id: str | None = None
    validated: tuple[str, ...] = ()
    quality_failures: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def message(self) -> str:
        """One line saying what the run did."""
        stored = [outcome for outcome in self.files if outcome.status != "unchanged"]
        parts = [f"{len(stored)} new file(s) stored", f"{len(self.waves)} wave(s) in the warehouse"]
        if self.validated:
            parts.append(f"{len(self.validated)} wave(s) validated")
        if self.failures:
            parts.append(f"{len(self.failures)} file(s) refused")
        if self.quality_failures:
            parts.append(f"{len(self.quality_failures)} wave(s) failed validation")
        if self.reused_run_id:
            parts.append(f"inputs unchanged since run {self.reused_run_id}: results reused")
        elif self.estimated:
            parts.append("effects estimated")
        return "; ".join(parts) + "."


def current_run_id() -> str:
    """The Prefect flow run id, or a fresh UUID outside a flow run (tests through .fn())."""
    from prefect.runtime import flow_run

    return str(flow_run.get_id() or uuid.uuid4())


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The flow run's logger, or a plain one outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("trustshift.orchestration")


@dataclass(slots=True)
class RunRecord:
    """The mutable part of a run's record, filled in while the run goes."""

    inputs: dict[str, Any]
    status: RunStatus = "finished"
    message: str = ""


@contextmanager
def recorded_run(
    study: Study, *, run_id: str, kind: str, inputs: Mapping[str, Any]
) -> Iterator[RunRecord]:
    """Record the run in the warehouse: ``running`` now, its outcome when the block ends.

    An exception marks the run ``failed`` with the error's message, then propagates.
    """
    record = RunRecord(inputs=dict(inputs))
    record_start(study, run_id=run_id, kind=kind, inputs=record.inputs, started_at=datetime.now())
    try:
        yield record
    except BaseException as error:
        message = str(error) if isinstance(error, TrustshiftError) else type(error).__name__
        record_end(
            study,
            run_id=run_id,
            status="failed",
            message=message[:2000],
            inputs=record.inputs,
            finished_at=datetime.now(),
        )
        raise
    record_end(
        study,
        run_id=run_id,
        status=record.status,
        message=record.message[:2000],
        inputs=record.inputs,
        finished_at=datetime.now(),
    )


def describe_outcome(outcome: IngestOutcome, *, minimum: int) -> str:
    """A log line for one ingested file, with small counts masked."""
    if outcome.status == "unchanged":
        return f"{outcome.file_name}: already stored as wave {outcome.wave!r}; nothing to do."
    return (
        f"{outcome.file_name}: wave {outcome.wave!r} {outcome.status} as version "
        f"{outcome.version} ({masked_count(outcome.rows_stored, minimum)} interviews)."
    )


def files_frame(outcomes: tuple[IngestOutcome, ...], failures: Mapping[str, str]) -> pd.DataFrame:
    """One row per file taken in or refused, for the summary artifact."""
    rows: list[dict[str, Any]] = [
        {
            "file_name": outcome.file_name,
            "wave": outcome.wave,
            "status": outcome.status,
            "rows_stored": outcome.rows_stored,
        }
        for outcome in outcomes
    ]
    rows += [
        {"file_name": name, "wave": "", "status": "refused", "rows_stored": None}
        for name in failures
    ]
    return pd.DataFrame(rows, columns=["file_name", "wave", "status", "rows_stored"])


def _wave_inputs(waves: list[StoredWave]) -> list[dict[str, Any]]:
    return [
        {"wave": w.wave, "version": w.version, "sha256": w.sha256, "file_name": w.file_name}
        for w in waves
    ]


@flow(name=INGEST_WAVE, description="Ingest one survey export into the study's warehouse.")
def ingest_wave_flow(
    study_file: str, file: str, wave: str | None = None, replace: bool = False
) -> IngestOutcome:
    """Ingest one wave file (``file``) of the study in ``study_file``."""
    process_memory.return_freed_memory()
    study = load_study(study_file)
    path = Path(file)
    inputs = {
        "study_file": str(study.path),
        "study_file_sha256": study.file_hash,
        "parameters": {"file": str(path), "wave": wave, "replace": replace},
    }
    with recorded_run(study, run_id=current_run_id(), kind=INGEST_WAVE, inputs=inputs) as record:
        outcome = ingest_file(study, path, wave=wave, replace=replace)
        record.inputs["files"] = [
            {"file_name": outcome.file_name, "sha256": outcome.sha256, "wave": outcome.wave}
        ]
        record.message = describe_outcome(outcome, minimum=study.design.minimum_cell_size)
        run_logger().info(record.message)
    return outcome


def describe_validation(validation: WaveValidation, *, minimum: int) -> str:
    """A log line for one validated wave, with small counts masked."""
    if not validation.success:
        failures = mask_small_counts("; ".join(validation.structural_failures), minimum)
        return (
            f"wave {validation.wave!r} failed structural validation and is left out of the "
            f"analysis: {failures}"
        )
    return (
        f"wave {validation.wave!r} validated: {masked_count(validation.n_rows, minimum)} rows, "
        f"{masked_count(len(validation.quarantined), minimum)} quarantined."
    )


@flow(name=VALIDATE_WAVE, description="Validate one stored wave and store the results.")
def validate_wave_flow(study_file: str, wave: str) -> WaveValidation:
    """Validate the stored current version of ``wave``; a structural failure ends the run
    failed (after storing it, so the wave is marked failed in the warehouse)."""
    process_memory.return_freed_memory()
    study = load_study(study_file)
    run_id = current_run_id()
    inputs = {
        "study_file": str(study.path),
        "study_file_sha256": study.file_hash,
        "parameters": {"wave": wave},
    }
    with recorded_run(study, run_id=run_id, kind=VALIDATE_WAVE, inputs=inputs) as record:
        validation = validate_stored_wave(study, wave, run_id=run_id)
        record.message = describe_validation(validation, minimum=study.design.minimum_cell_size)
        run_logger().info(record.message)
        if not validation.success:
            raise DataQualityError(
                f"validate_wave: {record.message}. Fix the export and ingest it again with "
                "--replace."
            )
    return validation


@flow(name=ESTIMATE_EFFECTS, description="Estimate every result table of a study.")
def estimate_effects_flow(
    study_file: str, bootstrap_draws: int = DEFAULT_BOOTSTRAP_DRAWS, seed: int = DEFAULT_SEED
) -> str:
    """Estimate the study from its stored waves; returns the estimation run id."""
    from flows.estimation import new_run_id

    process_memory.return_freed_memory()
    study = load_study(study_file)
    inputs = {
        "study_file": str(study.path),
        "study_file_sha256": study.file_hash,
        "parameters": {"bootstrap_draws": bootstrap_draws, "seed": seed},
    }
    with recorded_run(
        study, run_id=current_run_id(), kind=ESTIMATE_EFFECTS, inputs=inputs
    ) as record:
        estimation_run_id = new_run_id()
        estimation = estimate_effects(
            study, run_id=estimation_run_id, bootstrap_draws=bootstrap_draws, seed=seed
        )
        record.inputs["outputs"] = {"estimation_run_id": estimation_run_id}
        record.message = f"estimation run {estimation_run_id}: {len(estimation.warnings)} caveat(s)"
    return estimation_run_id


@flow(name=BUILD_REPORT, description="Write the HTML report of an estimation run.")
def build_report_flow(study_file: str, run_id: str | None = None) -> str:
    """Build the report of estimation run ``run_id`` (the latest finished one by default);
    returns the report's path."""
    process_memory.return_freed_memory()
    study = load_study(study_file)
    if run_id is None:
        from flows.estimation import latest_run_id

        run_id = latest_run_id(study)
    inputs = {
        "study_file": str(study.path),
        "study_file_sha256": study.file_hash,
        "parameters": {"run_id": run_id},
    }
    with recorded_run(study, run_id=current_run_id(), kind=BUILD_REPORT, inputs=inputs) as record:
        report = build_report_file(study, run_id=run_id)
        record.inputs["outputs"] = {"estimation_run_id": run_id, "report": str(report)}
        record.message = f"report of estimation run {run_id}: {report}"
        publish_report_link(study.id, report)
    return str(report)


@flow(
    name=EVALUATE_STUDY,
    description=(
        "Ingest every new file in the study's inbox, validate it, estimate once two or more "
        "waves are stored, and build the report."
    ),
)
def evaluate_study(
    study_file: str,
    replace: bool = False,
    bootstrap_draws: int = DEFAULT_BOOTSTRAP_DRAWS,
    seed: int = DEFAULT_SEED,
) -> EvaluationOutcome:
    """Run the study in ``study_file`` end to end on what its inbox and warehouse hold.

    A new file is one whose SHA-256 the warehouse does not hold; a file that cannot be
    ingested is reported and the others go on; every stored wave not validated yet is
    validated (a structural failure leaves that wave out). When the stored waves, what
    validation decided, the study file, the code and the options are those of an earlier
    finished run, its results are reused: nothing is estimated or written again. The run
    ends failed, naming each file or wave, when a file was refused or a wave failed.

    The stages share this process: freed blocks go back to the system (glibc's mmap
    threshold fixed, its heaps trimmed after each stage), so each stage starts from what
    the process holds, not from the peak of the one before.
    """
    process_memory.return_freed_memory()
    study = load_study(study_file)
    with study_lock(study, purpose="run"):
        return _evaluate_study(study_file, replace, bootstrap_draws, seed)


def _evaluate_study(
    study_file: str, replace: bool, bootstrap_draws: int, seed: int
) -> EvaluationOutcome:
    study = load_study(study_file)
    logger = run_logger()
    minimum = study.design.minimum_cell_size
    run_id = current_run_id()
    pending = find_new_files(study)
    options = {"replace": replace, "bootstrap_draws": bootstrap_draws, "seed": seed}
    inputs: dict[str, Any] = {
        "study_file": str(study.path),
        "study_file_sha256": study.file_hash,
        "parameters": options,
        "new_files": [
            {"file_name": item.path.name, "sha256": item.sha256, "size_bytes": item.size_bytes}
            for item in pending
        ],
    }
    with recorded_run(study, run_id=run_id, kind=EVALUATE_STUDY, inputs=inputs) as record:
        outcomes: list[IngestOutcome] = []
        failures: dict[str, str] = {}
        for item in pending:
            try:
                outcome = ingest_file(study, item.path, replace=replace)
            except TrustshiftError as error:
                failures[item.path.name] = mask_small_counts(str(error), minimum)
                logger.error("%s refused: %s", item.path.name, failures[item.path.name])
                continue
            except Exception as error:
                # Any failure of one file is that file's refusal; the others go on. The
                # message is not shown: a library's may quote the file's content.
                failures[item.path.name] = (
                    f"ingest_wave: {item.path.name} could not be read ({type(error).__name__}). "
                    f"Check the file, or run `trustshift --debug ingest {study.path} "
                    f"{item.path}` to see where it fails."
                )
                logger.error("%s refused: %s", item.path.name, failures[item.path.name])
                continue
            outcomes.append(outcome)
            logger.info(describe_outcome(outcome, minimum=minimum))
        rederived: list[str] = []
        try:
            for outcome in rederive_changed_waves(study):
                rederived.append(mask_small_counts(outcome.message, minimum))
                logger.info(rederived[-1])
        except TrustshiftError as error:
            failures["study file"] = mask_small_counts(str(error), minimum)
            logger.error("%s", failures["study file"])

        process_memory.trim_freed_memory()
        fault_point("run-after-ingest")
        validated: list[str] = []
        quality_failures: list[str] = []
        for wave in find_waves_to_validate(study):
            validation = validate_stored_wave(study, wave, run_id=run_id)
            validated.append(wave)
            logger.info(describe_validation(validation, minimum=minimum))
            if not validation.success:
                quality_failures.append(describe_validation(validation, minimum=minimum))
            # A wave's validation holds frames of its rows: never alive into the next stage.
            del validation
            process_memory.trim_freed_memory()

        waves = read_stored_waves(study)
        fingerprint = evaluation_fingerprint(
            study, waves, bootstrap_draws=bootstrap_draws, seed=seed
        )
        record.inputs["stored_waves"] = _wave_inputs(waves)
        record.inputs["fingerprint"] = fingerprint
        record.inputs["code_sha256"] = code_fingerprint()

        notes: list[str] = list(rederived)
        estimation_run_id: str | None = None
        reused_run_id: str | None = None
        outputs: dict[str, Any] = {}
        left_out = set(failed_waves(study))
        analysable = [wave for wave in waves if wave.wave not in left_out]
        if len(analysable) < 2:
            notes.append(
                f"{len(analysable)} wave(s) stored and not failed: estimation waits for a "
                "second wave in the inbox."
            )
        else:
            previous = reusable_run(study, fingerprint=fingerprint)
            if previous is not None:
                reused_run_id, outputs = previous
                estimation_run_id = str(outputs["estimation_run_id"])
                logger.info("Inputs unchanged since run %s: its results are reused.", reused_run_id)
            else:
                from flows.estimation import new_run_id

                estimation_run_id = new_run_id()
                estimation = estimate_effects(
                    study, run_id=estimation_run_id, bootstrap_draws=bootstrap_draws, seed=seed
                )
                notes.extend(estimation.warnings)
                del estimation
                process_memory.trim_freed_memory()
        report: Path | None = None
        if estimation_run_id is not None:
            previous_report = Path(str(outputs.get("report", ""))) if reused_run_id else None
            if previous_report is not None and previous_report.is_file():
                report = previous_report
            else:
                report = build_report_file(study, run_id=estimation_run_id)
                logger.info("Report written: %s", report)
        record.inputs["reused_run_id"] = reused_run_id
        record.inputs["outputs"] = {
            "estimation_run_id": estimation_run_id,
            "report": str(report) if report else None,
        }

        estimates = (
            read_estimates(study, run_id=estimation_run_id)
            if estimation_run_id is not None
            else None
        )
        failed = bool(failures or quality_failures)
        outcome_record = EvaluationOutcome(
            study_id=study.id,
            run_id=run_id,
            status="failed" if failed else "finished",
            files=tuple(outcomes),
            failures=tuple(f"{name}: {message}" for name, message in failures.items()),
            waves=tuple(wave.wave for wave in waves),
            fingerprint=fingerprint,
            warehouse=warehouse_path(study),
            report=report,
            estimation_run_id=estimation_run_id,
            estimated=estimation_run_id is not None and reused_run_id is None,
            reused_run_id=reused_run_id,
            validated=tuple(validated),
            quality_failures=tuple(quality_failures),
            notes=tuple(notes),
        )
        publish_run_artifacts(study, outcome_record, failures=failures, estimates=estimates)
        record.status = outcome_record.status
        record.message = outcome_record.message
        fault_point("run-before-record")
        logger.info(outcome_record.message)
    if failures:
        listed = "; ".join(outcome_record.failures)
        raise IngestError(
            f"evaluate_study: {len(failures)} file(s) in {study.inbox} could not be ingested; "
            f"{listed}. The other files were processed; fix or remove these files (or re-run "
            "with --replace to store a corrected wave) and run again."
        )
    if quality_failures:
        raise DataQualityError(
            "evaluate_study: " + "; ".join(quality_failures) + ". Fix the export and put it "
            "in the inbox again, then run with --replace."
        )
    return outcome_record


def publish_run_artifacts(
    study: Study,
    outcome: EvaluationOutcome,
    *,
    failures: Mapping[str, str],
    estimates: pd.DataFrame | None,
) -> None:
    """The summary, the estimates table and the report link of a run, as Prefect artifacts."""
    minimum = study.design.minimum_cell_size
    primary = None
    if estimates is not None and not estimates.empty:
        primary = (
            estimates[estimates["is_primary"].fillna(False).astype(bool)]
            if "is_primary" in estimates.columns
            else estimates
        )
        publish_estimates(study.id, estimates_table(estimates, minimum=minimum))
    publish_summary(
        study.id,
        summary_markdown(
            title=study.title,
            run_id=outcome.run_id,
            minimum=minimum,
            files=files_frame(outcome.files, failures),
            quality=quality_overview(study),
            primary_estimates=primary,
            report=outcome.report,
            notes=[mask_small_counts(note, minimum) for note in outcome.notes],
        ),
    )
    if outcome.report is not None:
        publish_report_link(study.id, outcome.report)
