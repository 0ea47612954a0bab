"""Validation reports the chunks it has validated: a bar on a terminal, log lines in a flow."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd
import pytest

from flows.validation.gx_runner import SuiteRun, run_suites
from tests.flows.progress_channels import Terminal, flow_run_log_on_a_terminal

LABEL = "validating test wave"


def validate_in_chunks() -> None:
    frame = pd.DataFrame({"code": np.tile([1.0, 2.0, 9.0], 100)})
    suite = {
        "name": "progress",
        "meta": {"target": "wave"},
        "expectations": [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "code", "value_set": [1.0, 2.0]},
                "meta": {"severity": "warning"},
            }
        ],
    }
    run = SuiteRun(suite=suite, target="wave", frame=frame, result_format="SUMMARY")
    (result,), _ = run_suites([run], data_docs_dir=None, chunk_rows=30, progress=LABEL)
    assert result.results[0].result["unexpected_count"] == 100


def test_validation_on_a_pipe_shows_no_progress(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        validate_in_chunks()
    captured = capsys.readouterr()
    assert LABEL not in captured.out + captured.err
    assert not [record for record in caplog.records if LABEL in record.getMessage()]


def test_validation_on_a_terminal_draws_a_bar_of_chunks(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with caplog.at_level(logging.INFO):
        validate_in_chunks()
    assert LABEL in terminal.getvalue()
    assert "━" in terminal.getvalue()
    assert not [record for record in caplog.records if LABEL in record.getMessage()]


def test_validation_in_a_flow_logs_chunks_done_and_draws_no_bar(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import flow

    @flow(name="validation-progress-check")
    def validate_in_a_flow() -> None:
        validate_in_chunks()

    with flow_run_log_on_a_terminal(monkeypatch) as (collected, terminal):
        validate_in_a_flow()
    logged = [message for message in collected.messages if LABEL in message]
    assert logged[0] == f"{LABEL}: 1 of 10 (10%)"
    assert logged[-1] == f"{LABEL}: 10 of 10 (100%)"
    assert len(logged) == 10
    assert "━" not in terminal.getvalue()
