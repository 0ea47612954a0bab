"""The command line: clear messages, exit codes 0/1/2, no identifying data in its output."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flows.cli import app
from flows.study import load_study
from tests.flows.conftest import PII_VALUES

runner = CliRunner()


def test_ingest_stores_the_inbox_and_prints_no_identifying_value(
    small_study: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    study_file = small_study()
    with caplog.at_level(logging.DEBUG):
        result = runner.invoke(app, ["ingest", str(study_file)])
    assert result.exit_code == 0, result.output
    assert "baseline.csv: wave 'baseline' stored as version 1 (8 interviews" in result.output
    assert "Warehouse:" in result.output
    logged = result.output + caplog.text
    for value in (*PII_VALUES, "R1,"):
        assert value not in logged

    again = runner.invoke(app, ["ingest", str(study_file)])
    assert again.exit_code == 0
    assert again.output.count("already stored") == 2


def test_status_lists_the_stored_waves(small_study: Callable[..., Path]) -> None:
    study_file = small_study()
    runner.invoke(app, ["ingest", str(study_file)])
    result = runner.invoke(app, ["status", str(study_file.parent)])
    assert result.exit_code == 0, result.output
    assert "baseline" in result.output and "endline" in result.output


def test_status_prints_a_failed_runs_message_as_written(
    small_study: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Messages name study-file sections such as [report]: printed as rich markup they vanished.
    import pandas as pd

    from flows import status as status_module

    message = "write_pdf: no browser; or set `pdf = false` under [report] in the study file"
    found = status_module.StudyStatus(
        waves=pd.DataFrame({"wave": ["[baseline]"]}),
        last_run={
            "run_id": "r1",
            "kind": "evaluate-study",
            "status": "failed",
            "started_at": "2026-12-02",
            "report": "none",
            "message": message,
        },
    )
    monkeypatch.setattr(status_module, "study_status", lambda study: found)
    result = runner.invoke(app, ["status", str(small_study())])
    assert result.exit_code == 0, result.output
    assert message in result.output
    assert "[baseline]" in result.output


def test_a_malformed_wave_exits_with_1_and_one_message(small_study: Callable[..., Path]) -> None:
    study_file = small_study()
    bad = study_file.parent / "inbox" / "endline.csv"
    bad.write_text("respondent_id,arm\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(study_file), str(bad)])
    assert result.exit_code == 1
    assert "error:" in result.output and "endline.csv" in result.output
    assert "Traceback" not in result.output


def test_an_invalid_study_file_exits_with_2(tmp_path: Path) -> None:
    study_file = tmp_path / "study.toml"
    study_file.write_text('id = "x"\ntitle = "x"\nwhat = 1\n', encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(study_file)])
    assert result.exit_code == 2
    assert "what: unknown key" in result.output


def test_an_empty_inbox_is_a_usage_error(small_study: Callable[..., Path]) -> None:
    study_file = small_study()
    for path in (study_file.parent / "inbox").iterdir():
        path.unlink()
    result = runner.invoke(app, ["ingest", str(study_file)])
    assert result.exit_code == 2
    assert "No wave files" in result.output


def test_init_creates_a_study_that_loads(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "new"), "--id", "new_study"])
    assert result.exit_code == 0, result.output
    study = load_study(tmp_path / "new" / "study.toml")
    assert study.id == "new_study" and study.inbox.is_dir()
    again = runner.invoke(app, ["init", str(tmp_path / "new"), "--id", "new_study"])
    assert again.exit_code == 2 and "already exists" in again.output


def test_init_rejects_an_invalid_id_and_leaves_no_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "bad"), "--id", "Bad Id"])
    assert result.exit_code == 2
    assert "'Bad Id' is not a valid name" in result.output
    assert not (tmp_path / "bad" / "study.toml").exists()


@pytest.mark.parametrize("command", sorted(typer.main.get_command(app).commands))  # type: ignore[attr-defined]
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_validate_prints_the_checks_not_met_and_writes_a_recheck_list_without_names(
    tmp_path: Path,
) -> None:
    example = Path(__file__).resolve().parents[2] / "data" / "studies" / "example"
    (tmp_path / "inbox").mkdir()
    (tmp_path / "study.toml").write_bytes((example / "study.toml").read_bytes())
    baseline = tmp_path / "inbox" / "baseline.csv"
    baseline.write_bytes((example / "inbox" / "baseline.csv").read_bytes())
    assert runner.invoke(app, ["ingest", str(tmp_path / "study.toml")]).exit_code == 0

    result = runner.invoke(app, ["validate", str(tmp_path / "study.toml")])
    assert result.exit_code == 0, result.output
    assert "baseline: " in result.output and "interview(s) quarantined" in result.output
    assert "speeder" in result.output and "Data Docs:" in result.output
    recheck = (tmp_path / "recheck" / "baseline.csv").read_text(encoding="utf-8")
    assert recheck.splitlines()[0].startswith("submission")
    raw = baseline.read_text(encoding="utf-8").splitlines()
    header = raw[0].split(",")
    names = {line.split(",")[header.index("respondent_name")] for line in raw[1:]}
    assert not any(name in recheck for name in names)

    missing = runner.invoke(app, ["validate", str(tmp_path / "study.toml"), "--wave", "endline"])
    assert missing.exit_code == 2 and "Ingest the wave first" in missing.output


def test_estimate_with_a_single_wave_says_a_second_one_is_needed(
    small_study: Callable[..., Path],
) -> None:
    study_file = small_study()
    (study_file.parent / "inbox" / "endline.csv").unlink()
    assert runner.invoke(app, ["ingest", str(study_file)]).exit_code == 0
    result = runner.invoke(app, ["estimate", str(study_file), "--bootstrap-draws", "99"])
    assert result.exit_code == 1
    assert "analysable interviews in 1 wave(s) (['baseline'])" in result.output
    assert "Traceback" not in result.output


def test_an_unexpected_error_gives_one_line_and_exit_1(
    small_study: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("flows.ingest.ingest_wave", broken)
    result = runner.invoke(app, ["ingest", str(small_study())])
    assert result.exit_code == 1
    assert "unexpected error (RuntimeError)" in result.output
    assert "disk on fire" not in result.output  # a library's message may quote a cell
    assert "Traceback" not in result.output


def test_simulate_writes_one_format_per_wave_and_the_inbox_ingests(tmp_path: Path) -> None:
    out = tmp_path / "simulated"
    result = runner.invoke(
        app,
        ["simulate", "--out", str(out), "--formats", "sav,kobo,xlsx", "--clusters", "8",
         "--respondents", "5"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    inbox = sorted(path.name for path in (out / "inbox").iterdir())
    assert inbox == ["baseline.sav", "endline_kobo.csv", "follow_up.xlsx"]
    assert (out / "truth" / "faults.csv").is_file()
    assert (out / "forms" / "endline_kobo.xlsform.xlsx").is_file()
    ingested = runner.invoke(app, ["ingest", str(out / "study.toml")])
    assert ingested.exit_code == 0, ingested.output
    assert ingested.output.count("stored as version 1") == 3


def test_simulate_rejects_an_unknown_format(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path), "--formats", "parquet"])
    assert result.exit_code == 2
    assert "formats ['parquet']" in result.output


def test_validate_with_nothing_stored_says_so_in_one_plain_sentence(
    small_study: Callable[..., Path],
) -> None:
    study_file = small_study()
    result = runner.invoke(app, ["validate", str(study_file)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "No stored wave to validate in study" in text
    assert "wave  to" not in result.output


def test_the_command_line_starts_without_loading_the_statistics() -> None:
    # Every `trustshift` command imports flows.cli: statsmodels and pingouin (through
    # `measurement`) and Great Expectations cost seconds and are loaded by the commands
    # that use them.
    import subprocess
    import sys

    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, flows.cli; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'measurement', 'statsmodels', 'pingouin', 'great_expectations', 'prefect'}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
