"""Each flow end to end once, under one Prefect test harness for the session."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.errors import DataQualityError, IngestError
from flows.orchestration.commands import run_study
from flows.orchestration.records import run_history
from flows.orchestration.study_flows import (
    DEFAULT_BOOTSTRAP_DRAWS,
    DEFAULT_SEED,
    build_report_flow,
    estimate_effects_flow,
    evaluate_study,
    ingest_wave_flow,
    validate_wave_flow,
)
from flows.study import load_study
from flows.warehouse import query, warehouse_path
from tests.flows.conftest import PII_VALUES

pytestmark = pytest.mark.usefixtures("prefect_harness")

# Few bootstrap draws: these tests check the wiring, not the p-values.
DRAWS = 99


def add_conflicting_interview(study_file: Path) -> None:
    """Respondent R2 twice in the endline with different answers: a structural failure."""
    endline = study_file.parent / "inbox" / "endline.csv"
    with endline.open("a", encoding="utf-8") as handle:
        handle.write("R2,endline-0099,C1,north,campaign,E0,Person 2,+221,13.2,-16.2,1,90,1\n")


def count(study_file: Path, sql: str) -> int:
    study = load_study(study_file)
    return int(query(warehouse_path(study), sql, [study.id]).iloc[0, 0])


def artifacts_by_key() -> dict[str, str]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {str(a.key): str(a.data) for a in client.read_artifacts() if a.key}


def test_the_flow_defaults_are_those_of_estimate_study() -> None:
    import inspect

    from flows.estimation import DEFAULT_SEED as ESTIMATION_SEED
    from flows.estimation import estimate_study

    assert DEFAULT_SEED == ESTIMATION_SEED
    draws = inspect.signature(estimate_study).parameters["bootstrap_draws"].default
    assert draws == DEFAULT_BOOTSTRAP_DRAWS


def test_run_study_evaluates_a_study_and_a_second_run_reuses_its_results(
    small_study: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    study_file = small_study()
    assert run_study(study_file, bootstrap_draws=DRAWS) == 0
    printed = capsys.readouterr().out
    assert "2 new file(s) stored" in printed and "2 wave(s) validated" in printed
    assert "Report: " in printed and "Warehouse: " in printed
    report = Path(printed.split("Report: ")[1].split("\n")[0].strip())
    assert report.is_file()

    tables = ("estimates", "validation_summary", "interviews", "answers", "waves")
    before = {t: count(study_file, f"SELECT count(*) FROM {t} WHERE study_id = ?") for t in tables}
    second = evaluate_study(str(study_file), bootstrap_draws=DRAWS)
    after = {t: count(study_file, f"SELECT count(*) FROM {t} WHERE study_id = ?") for t in tables}
    assert after == before
    assert second.reused_run_id is not None and not second.estimated
    assert second.report == report

    capsys.readouterr()
    assert run_study(study_file, bootstrap_draws=DRAWS) == 0
    printed = capsys.readouterr().out
    assert "no flow run needed" in printed and f"Report: {report}" in printed

    study = load_study(study_file)
    runs = run_history(study)
    assert [run["kind"] for run in runs] == ["evaluate-study", "estimate"] + 2 * ["evaluate-study"]
    assert {run["status"] for run in runs} == {"finished"}
    assert runs[3]["run_id"].startswith("local-")
    assert json.loads(runs[2]["inputs"])["reused_run_id"] == runs[0]["run_id"]
    assert json.loads(runs[3]["inputs"])["reused_run_id"] == runs[2]["run_id"]
    first_inputs = json.loads(runs[0]["inputs"])
    assert [f["file_name"] for f in first_inputs["new_files"]] == ["baseline.csv", "endline.csv"]
    assert first_inputs["outputs"]["report"] == str(report)
    assert json.loads(runs[2]["inputs"])["fingerprint"] == first_inputs["fingerprint"]

    artifacts = artifacts_by_key()
    assert {"small-summary", "small-estimates", "small-report"} <= set(artifacts)
    summary = artifacts["small-summary"]
    assert "<10" in summary and "## Primary estimates" in summary
    for value in (*PII_VALUES, "R1,"):
        assert all(value not in text for text in artifacts.values()), value
    for record in json.loads(artifacts["small-estimates"]):
        assert (
            record["n_obs"] in ("", None)
            or not record["n_obs"].isdigit()
            or (int(record["n_obs"]) >= 10)
        )


def test_evaluate_study_stops_a_structurally_broken_wave_and_says_why(
    small_study: Callable[..., Path],
) -> None:
    study_file = small_study()
    add_conflicting_interview(study_file)
    with pytest.raises(DataQualityError, match=r"endline.*failed structural validation"):
        evaluate_study(str(study_file), bootstrap_draws=DRAWS)
    assert count(study_file, "SELECT count(*) FROM waves WHERE study_id = ?") == 2
    assert (
        count(
            study_file,
            "SELECT count(*) FROM validation_waves WHERE study_id = ? AND status = 'failed'",
        )
        == 1
    )
    (run,) = run_history(load_study(study_file), kind="evaluate-study")
    assert run["status"] == "failed" and "failed validation" in run["message"]


def test_evaluate_study_ingests_the_good_files_and_names_the_refused_one(
    small_study: Callable[..., Path],
) -> None:
    study_file = small_study()
    (study_file.parent / "inbox" / "endline.csv").unlink()
    (study_file.parent / "inbox" / "scan.pdf").write_bytes(b"%PDF-1.4 not a survey")
    with pytest.raises(IngestError, match=r"1 file\(s\) .* could not be ingested; scan.pdf"):
        evaluate_study(str(study_file), bootstrap_draws=DRAWS)
    assert count(study_file, "SELECT count(*) FROM waves WHERE study_id = ?") == 1
    (run,) = run_history(load_study(study_file), kind="evaluate-study")
    assert run["status"] == "failed"
    assert json.loads(run["inputs"])["outputs"] == {"estimation_run_id": None, "report": None}


def test_any_failure_of_one_file_is_that_files_refusal_and_is_not_retried(
    small_study: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.ingest
    from flows.reading.chunks import read_raw_chunks

    study_file = small_study()
    calls: list[str] = []

    def failing_read(path: Path, *, study: object, chunk_rows: int) -> object:
        calls.append(path.name)
        if path.name == "baseline.csv":
            raise OSError(36, "File name too long: Aminata Zulu-Quartz")
        return read_raw_chunks(path, study=study, chunk_rows=chunk_rows)  # type: ignore[arg-type]

    monkeypatch.setattr(flows.ingest, "read_raw_chunks", failing_read)
    with pytest.raises(
        IngestError, match=r"baseline\.csv: .*could not be read \(OSError\)"
    ) as raised:
        evaluate_study(str(study_file), bootstrap_draws=DRAWS)
    assert "Aminata" not in str(raised.value)  # a library's message may quote the file
    assert calls.count("baseline.csv") == 1  # a bad file is not retried as "transient"
    assert count(study_file, "SELECT count(*) FROM waves WHERE study_id = ?") == 1  # endline


def test_the_stage_flows_ingest_validate_estimate_and_report_one_step_each(
    small_study: Callable[..., Path],
) -> None:
    study_file = small_study()
    inbox = study_file.parent / "inbox"
    for name in ("baseline.csv", "endline.csv"):
        outcome = ingest_wave_flow(str(study_file), str(inbox / name))
        assert outcome.status == "stored"
    for wave in ("baseline", "endline"):
        assert validate_wave_flow(str(study_file), wave).success
    estimation_run_id = estimate_effects_flow(str(study_file), bootstrap_draws=DRAWS)
    report = Path(build_report_flow(str(study_file), run_id=estimation_run_id))
    assert report.is_file() and estimation_run_id in str(report)
    kinds = [run["kind"] for run in run_history(load_study(study_file))]
    assert kinds.count("ingest-wave") == 2 and kinds.count("validate-wave") == 2
    assert {"estimate-effects", "estimate", "build-report"} <= set(kinds)


def test_validate_wave_flow_fails_on_a_structural_failure_and_marks_the_wave(
    small_study: Callable[..., Path],
) -> None:
    study_file = small_study()
    add_conflicting_interview(study_file)
    ingest_wave_flow(str(study_file), str(study_file.parent / "inbox" / "endline.csv"))
    with pytest.raises(DataQualityError, match="repeats <10 respondent ids with different answers"):
        validate_wave_flow(str(study_file), "endline")
    (run,) = run_history(load_study(study_file), kind="validate-wave")
    assert run["status"] == "failed"
