"""Task logic through .fn(), and which failures are retried."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from prefect.states import Failed

from flows.errors import IngestError
from flows.orchestration.inbox import new_inbox_files
from flows.orchestration.stages import (
    failed_waves,
    quality_overview,
    read_estimates,
    validation_state,
    waves_to_validate,
)
from flows.orchestration.tasks import (
    find_new_files,
    ingest_file,
    is_transient,
    read_stored_waves,
    retry_on_transient_io,
    validate_stored_wave,
)
from flows.study import load_study


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (duckdb.IOException("Could not set lock on file"), True),
        (duckdb.TransactionException("conflict"), True),
        (OSError(errno.EIO, "I/O error"), True),
        (TimeoutError("share timed out"), True),
        (FileNotFoundError("gone"), False),
        (OSError(errno.ENAMETOOLONG, "File name too long"), False),
        (OSError("a library's own failure"), False),
        (PermissionError("denied"), False),
        (IngestError("bad file"), False),
        (ValueError("bad value"), False),
    ],
)
def test_only_transient_io_errors_are_retried(error: BaseException, expected: bool) -> None:
    assert is_transient(error) is expected
    state: Any = Failed(data=error)
    assert retry_on_transient_io(None, None, state) is expected  # type: ignore[arg-type]


def test_find_new_files_skips_files_whose_checksum_is_stored(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    assert [item.path.name for item in find_new_files.fn(study)] == ["baseline.csv", "endline.csv"]
    ingest_file.fn(study, study.inbox / "baseline.csv")
    (remaining,) = find_new_files.fn(study)
    assert remaining.path.name == "endline.csv" and len(remaining.sha256) == 64
    # The same bytes under another name are not new either.
    (study.inbox / "baseline-copy.csv").write_bytes((study.inbox / "baseline.csv").read_bytes())
    assert [item.path.name for item in new_inbox_files(study)] == ["endline.csv"]


def test_ingest_file_stores_a_wave_and_read_stored_waves_sees_it(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    outcome = ingest_file.fn(study, study.inbox / "endline.csv")
    assert (outcome.wave, outcome.status, outcome.rows_stored) == ("endline", "stored", 8)
    assert [wave.wave for wave in read_stored_waves.fn(study)] == ["endline"]
    assert waves_to_validate(study) == ["endline"]


def test_ingest_file_refuses_a_different_file_for_a_stored_wave(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    ingest_file.fn(study, study.inbox / "baseline.csv")
    changed = study.inbox / "baseline.csv"
    changed.write_text(changed.read_text().replace("R8,", "R9,"), encoding="utf-8")
    with pytest.raises(IngestError, match="already stored"):
        ingest_file.fn(study, changed)


def test_stage_queries_are_empty_before_anything_is_stored(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    assert waves_to_validate(study) == []
    assert quality_overview(study).empty
    assert read_estimates(study, run_id="none").empty
    assert len(validation_state(study)) == 64


def test_validate_stored_wave_stores_the_validation_of_a_stored_wave(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    for name in ("baseline.csv", "endline.csv"):
        ingest_file.fn(study, study.inbox / name)
    before = validation_state(study)
    validation = validate_stored_wave.fn(study, "endline", run_id="run-1")
    assert validation.success and validation.n_rows == 8
    assert waves_to_validate(study) == ["baseline"]
    assert failed_waves(study) == []
    overview = quality_overview(study)
    assert overview[["wave", "status", "n_rows"]].values.tolist() == [["endline", "validated", 8]]
    assert validation_state(study) != before
    assert (study.root / "data_docs" / "endline" / "index.html").is_file()
