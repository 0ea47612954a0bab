"""Prefect tasks: thin wrappers around ingestion, validation, estimation and the report.

One task per file or per stage, never per respondent. Only file and warehouse I/O that can
fail transiently (a warehouse locked by another process, a network share hiccup) is retried;
a bad file or a failed check fails at once.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import duckdb
import pandas as pd
from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from flows.errors import WarehouseBusyError
from flows.ingest import IngestOutcome, ingest_wave
from flows.orchestration import stages
from flows.orchestration.inbox import InboxFile, new_inbox_files
from flows.orchestration.records import (
    RunStatus,
    StoredWave,
    record_run_end,
    record_run_start,
    stored_waves,
)
from flows.postgres_warehouse import is_transient_postgres_error
from flows.study import Study

if TYPE_CHECKING:
    from flows.estimation import EstimationRun
    from flows.validation import WaveValidation

# Estimation (statsmodels and friends) and validation (Great Expectations) take seconds to
# import: tasks import them when they run, so a run with nothing new to do stays quick.

P = ParamSpec("P")
R = TypeVar("R")

# Delays before the 1st, 2nd and 3rd retry: enough for another process to finish a write.
RETRY_DELAYS_SECONDS = [1.0, 3.0, 8.0]

# OSErrors that mean "this will not get better by waiting".
_PERMANENT_OS_ERRORS = (
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    FileExistsError,
)


# OSError numbers that mean "try again in a moment" (a busy or flaky file share).
_TRANSIENT_ERRNOS = frozenset(
    {errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.ETIMEDOUT, errno.ESTALE, errno.EIO}
)


def is_transient(error: BaseException) -> bool:
    """True for I/O errors worth retrying: a locked warehouse, a transaction conflict, a
    flaky file share. Errors about the data, the study or one file (a name too long, a file
    that cannot be parsed) are never transient."""
    if isinstance(error, WarehouseBusyError | duckdb.TransactionException):
        return True
    if is_transient_postgres_error(error):
        return True
    if isinstance(error, duckdb.IOException):
        return "lock" in str(error).lower()
    if isinstance(error, TimeoutError):
        return True
    return (
        isinstance(error, OSError)
        and not isinstance(error, _PERMANENT_OS_ERRORS)
        and error.errno in _TRANSIENT_ERRNOS
    )


def retry_on_transient_io(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect retry condition: retry only when the failure was a transient I/O error."""
    error = state.data if isinstance(state.data, BaseException) else None
    if error is None:
        try:
            state.result(raise_on_failure=True)
        except BaseException as raised:
            error = raised
    return error is not None and is_transient(error)


# Every task here reads or writes files or the warehouse: each retries on transient I/O only,
# and none caches (the warehouse itself says what is already done).
def io_task(
    *, name: str, task_run_name: str | None = None
) -> Callable[[Callable[P, R]], Task[P, R]]:
    """``@task`` for a step that reads or writes files or the warehouse."""
    return task(
        name=name,
        task_run_name=task_run_name,
        retries=len(RETRY_DELAYS_SECONDS),
        retry_delay_seconds=RETRY_DELAYS_SECONDS,
        retry_condition_fn=retry_on_transient_io,
        cache_policy=NO_CACHE,
    )


@io_task(
    name="record-run-start",
)
def record_start(
    study: Study, *, run_id: str, kind: str, inputs: Mapping[str, Any], started_at: datetime
) -> None:
    """Insert the run's row in the warehouse."""
    record_run_start(study, run_id=run_id, kind=kind, inputs=inputs, started_at=started_at)


@io_task(
    name="record-run-end",
)
def record_end(
    study: Study,
    *,
    run_id: str,
    status: RunStatus,
    message: str,
    inputs: Mapping[str, Any] | None,
    finished_at: datetime,
) -> None:
    """Set the run's outcome in the warehouse."""
    record_run_end(
        study, run_id=run_id, status=status, message=message, inputs=inputs, finished_at=finished_at
    )


@io_task(
    name="find-new-files",
)
def find_new_files(study: Study) -> list[InboxFile]:
    """Inbox files whose checksum the warehouse does not hold yet."""
    return new_inbox_files(study)


@io_task(
    name="ingest-file",
    task_run_name="ingest-{path.name}",
)
def ingest_file(
    study: Study, path: Path, *, wave: str | None = None, replace: bool = False
) -> IngestOutcome:
    """Ingest one wave file into the warehouse."""
    return ingest_wave(study, path, wave=wave, replace=replace)


@io_task(
    name="read-stored-waves",
)
def read_stored_waves(study: Study) -> list[StoredWave]:
    """The current version of every stored wave."""
    return stored_waves(study)


@io_task(
    name="estimate-effects",
)
def estimate_effects(
    study: Study, *, run_id: str, bootstrap_draws: int, seed: int
) -> EstimationRun:
    """Estimate every result table of the study and write them to the warehouse as one run."""
    from flows.estimation import estimate_study

    return estimate_study(study, run_id=run_id, bootstrap_draws=bootstrap_draws, seed=seed)


@io_task(
    name="read-estimates",
)
def read_estimates(study: Study, *, run_id: str) -> pd.DataFrame:
    """The estimates table of one estimation run."""
    return stages.read_estimates(study, run_id=run_id)


@io_task(
    name="validate-wave",
    task_run_name="validate-{wave}",
)
def validate_stored_wave(study: Study, wave: str, *, run_id: str) -> WaveValidation:
    """Validate one stored wave and store its results, quarantine and Data Docs."""
    return stages.validate_and_store(study, wave, run_id=run_id)


@io_task(
    name="find-waves-to-validate",
)
def find_waves_to_validate(study: Study) -> list[str]:
    """Stored waves whose current version was never validated."""
    return stages.waves_to_validate(study)


@io_task(
    name="build-report",
)
def build_report_file(study: Study, *, run_id: str) -> Path:
    """Write the HTML report of one estimation run; returns its path."""
    from flows.report import build_report

    return build_report(study, run_id=run_id, out_dir=stages.report_folder(study, run_id))
