"""`trustshift quarantine` on a study without a submission column: list, release, confirm."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from flows.ingest import ingest_wave
from flows.orchestration.stages import validate_and_store
from flows.status import study_status
from flows.study import load_study
from flows.validation import analysable_rows
from flows.validation.decisions import released_rows
from flows.warehouse import connect, warehouse_path
from tests.flows.studies.files import short_wave, write_study

AGE_LIMIT = '[quality]\nage_item = "age"\nminimum_age = 18\n'


def _validated(tmp_path: Path) -> Path:
    study_file = write_study(tmp_path, extra=AGE_LIMIT)
    study = load_study(study_file)
    wave = short_wave(n_rows=60, wave="baseline", seed=8)
    wave["age"] = 30
    wave.loc[[2, 5, 7], "age"] = 17
    export = tmp_path / "baseline.csv"
    wave.to_csv(export, index=False)
    ingest_wave(study, export, wave="baseline")
    validation = validate_and_store(study, "baseline", run_id="validate-test")
    assert validation.quarantined == (3, 6, 8)
    return study_file


def _analysed(study_file: Path) -> int:
    study = load_study(study_file)
    with connect(warehouse_path(study)) as connection:
        return len(analysable_rows(connection, study.id))


def test_rows_without_a_submission_id_are_listed_released_and_confirmed_by_key(
    tmp_path: Path,
) -> None:
    study_file = _validated(tmp_path)
    runner = CliRunner()
    listed = runner.invoke(app, ["quarantine", "list", str(study_file)])
    assert listed.exit_code == 0, listed.output
    assert "v1:row 3" in listed.output and "ineligible_age" in listed.output
    assert _analysed(study_file) == 57

    sheet = tmp_path / "corrections.csv"
    sheet.write_text("key,comment\nv1:row 3,age misread\nv1:row 6,age misread\n")
    released = runner.invoke(
        app,
        ["quarantine", "release", str(study_file), "--ids", str(sheet),
         "--reason", "ages re-checked by phone", "--by", "field supervisor"],
    )  # fmt: skip
    assert released.exit_code == 0, released.output
    assert "2 quarantined row(s) released" in released.output
    assert _analysed(study_file) == 59
    status = runner.invoke(app, ["status", str(study_file)])
    assert status.exit_code == 0, status.output
    current = study_status(load_study(study_file))
    assert current.waves[["wave", "validation", "n_quarantined", "n_released"]].values.tolist() == [
        ["baseline", "validated", 3, 2]
    ]
    # What the report lists: where the released interviews are and what flagged them, never
    # the decision's free-text reason or who decided.
    study = load_study(study_file)
    with connect(warehouse_path(study), read_only=True) as connection:
        listed_released = released_rows(connection, study)
    assert list(listed_released.columns) == ["wave", "row_number", "checks", "decided_at"]
    assert listed_released[["wave", "row_number", "checks"]].values.tolist() == [
        ["baseline", 3, "ineligible_age"],
        ["baseline", 6, "ineligible_age"],
    ]
    assert listed_released["decided_at"].notna().all()
    assert "re-checked" not in listed_released.to_csv()

    confirmed = runner.invoke(
        app,
        ["quarantine", "confirm", str(study_file), "--check", "ineligible_age",
         "--reason", "the protocol excludes minors", "--by", "PI"],
    )  # fmt: skip
    assert confirmed.exit_code == 0, confirmed.output
    assert "3 quarantined row(s) confirmed" in confirmed.output
    assert _analysed(study_file) == 57
    with connect(warehouse_path(study), read_only=True) as connection:
        assert released_rows(connection, study).empty


def test_a_decision_without_a_selection_is_a_usage_error(tmp_path: Path) -> None:
    study_file = write_study(tmp_path, extra=AGE_LIMIT)
    result = CliRunner().invoke(
        app, ["quarantine", "release", str(study_file), "--reason", "why not"]
    )
    assert result.exit_code == 2
    assert "--wave, --check, --ids FILE.csv, or --all" in result.output
