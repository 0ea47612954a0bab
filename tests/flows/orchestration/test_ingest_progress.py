"""Progress of ingesting a wave: rows of the file, logged in a flow run, nothing on a pipe."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from flows.ingest import ingest_wave
from flows.study import load_study
from flows.warehouse import WAREHOUSE_ENVIRONMENT_VARIABLE
from tests.flows.progress_channels import flow_run_log_on_a_terminal

EXAMPLE = Path(__file__).resolve().parents[3] / "data" / "studies" / "example"
CHUNK_ROWS = 100


def example_study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    shutil.copytree(EXAMPLE / "inbox", root / "inbox")
    shutil.copy(EXAMPLE / "study.toml", root / "study.toml")
    return root / "study.toml"


def data_rows(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) - 1


def test_ingesting_on_a_pipe_shows_no_progress(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    study = load_study(example_study(tmp_path))
    monkeypatch.setenv(WAREHOUSE_ENVIRONMENT_VARIABLE, str(tmp_path / "warehouse.duckdb"))
    with caplog.at_level(logging.INFO):
        ingest_wave(study, study.inbox / "baseline.csv", chunk_rows=CHUNK_ROWS)
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""
    assert not [record for record in caplog.records if "ingesting" in record.getMessage()]


def test_ingesting_in_a_flow_run_logs_the_rows_done_of_the_file(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import flow

    study = load_study(example_study(tmp_path))
    baseline = study.inbox / "baseline.csv"
    monkeypatch.setenv(WAREHOUSE_ENVIRONMENT_VARIABLE, str(tmp_path / "warehouse.duckdb"))

    @flow(name="ingest-progress-check")
    def ingest_in_a_flow() -> None:
        ingest_wave(study, baseline, chunk_rows=CHUNK_ROWS)

    with flow_run_log_on_a_terminal(monkeypatch) as (collected, terminal):
        ingest_in_a_flow()
    total = data_rows(baseline)
    logged = [message for message in collected.messages if "ingesting baseline.csv" in message]
    assert logged, collected.messages
    assert logged[0] == f"ingesting baseline.csv (rows): {CHUNK_ROWS} of {total} (" + (
        f"{CHUNK_ROWS * 10 // total * 10}%)"
    )
    assert logged[-1] == f"ingesting baseline.csv (rows): {total} of {total} (100%)"
    # On a terminal too: a flow run's progress goes to its log, never to a bar as well.
    assert "━" not in terminal.getvalue()
