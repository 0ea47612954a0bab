"""Run records and fingerprints: what a run took in, which code ran it, how it ended."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from flows.ingest import ingest_wave
from flows.orchestration.records import (
    StoredWave,
    code_fingerprint,
    code_version,
    finished_run_with_fingerprint,
    input_fingerprint,
    record_run_end,
    record_run_start,
    run_finished,
    run_history,
    stored_waves,
)
from flows.study import load_study


def test_code_version_names_the_package_version() -> None:
    assert code_version().startswith("trustshift ")


def test_code_fingerprint_is_a_sha256() -> None:
    assert len(code_fingerprint()) == 64


def test_input_fingerprint_changes_with_the_waves_and_the_study_file(
    small_study: Callable[..., Path],
) -> None:
    study_file = small_study()
    study = load_study(study_file)
    wave = StoredWave(wave="baseline", version=1, sha256="a" * 64, file_name="b.csv")
    first = input_fingerprint(study, [wave])
    assert input_fingerprint(study, [wave]) == first
    assert input_fingerprint(study, [wave], extra="seed=2") != first
    replaced = StoredWave(wave="baseline", version=2, sha256="b" * 64, file_name="b.csv")
    assert input_fingerprint(study, [replaced]) != first
    study_file.write_text(study_file.read_text() + "\n# edited\n", encoding="utf-8")
    assert input_fingerprint(load_study(study_file), [wave]) != first


def test_a_run_record_holds_inputs_code_version_and_outcome(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    inputs = {"files": [{"file_name": "baseline.csv", "sha256": "c" * 64}], "fingerprint": "f1"}
    record_run_start(
        study, run_id="run-1", kind="evaluate-study", inputs=inputs, started_at=datetime.now()
    )
    assert not run_finished(study, "run-1")
    record_run_end(
        study,
        run_id="run-1",
        status="finished",
        message="done",
        inputs={**inputs, "outputs": {"report": "r.html"}},
        finished_at=datetime.now(),
    )
    (run,) = run_history(study)
    assert run["status"] == "finished"
    assert run["code_version"] == code_version()
    assert run["study_file_sha256"] == study.file_hash
    assert json.loads(run["inputs"])["files"][0]["sha256"] == "c" * 64
    assert run_finished(study, "run-1")
    found = finished_run_with_fingerprint(study, kind="evaluate-study", fingerprint="f1")
    assert found is not None and found["inputs"]["outputs"] == {"report": "r.html"}
    assert finished_run_with_fingerprint(study, kind="evaluate-study", fingerprint="f2") is None


def test_a_failed_run_is_never_reused(small_study: Callable[..., Path]) -> None:
    study = load_study(small_study())
    record_run_start(
        study,
        run_id="run-2",
        kind="evaluate-study",
        inputs={"fingerprint": "f"},
        started_at=datetime.now(),
    )
    record_run_end(
        study, run_id="run-2", status="failed", message="IngestError", finished_at=datetime.now()
    )
    assert finished_run_with_fingerprint(study, kind="evaluate-study", fingerprint="f") is None
    assert run_history(study)[0]["message"] == "IngestError"


def test_stored_waves_lists_the_current_versions_in_wave_order(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    assert stored_waves(study) == []
    for name in ("endline.csv", "baseline.csv"):
        ingest_wave(study, study.inbox / name)
    assert [wave.wave for wave in stored_waves(study)] == ["baseline", "endline"]
    assert {wave.version for wave in stored_waves(study)} == {1}
