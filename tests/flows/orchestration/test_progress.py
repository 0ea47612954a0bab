"""Progress of long stages goes to one channel: a terminal bar, or a flow run's log, or none."""

from __future__ import annotations

import logging
import sys

import pytest

from flows.progress import progress_channel, stage_progress
from tests.flows.progress_channels import Terminal, flow_run_log_on_a_terminal


def run_stage() -> None:
    with stage_progress("bootstrap draws", 20) as advance:
        for _ in range(20):
            advance(1)


def test_progress_outside_a_flow_on_a_pipe_shows_nothing(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert progress_channel() == "none"
    with caplog.at_level(logging.INFO):
        run_stage()
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""
    assert not caplog.records


def test_progress_on_a_terminal_draws_a_bar_and_logs_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert progress_channel() == "terminal"
    with caplog.at_level(logging.INFO):
        run_stage()
    assert "bootstrap draws" in terminal.getvalue()
    assert "━" in terminal.getvalue()
    assert not caplog.records


def test_progress_in_a_flow_run_logs_tenths_and_draws_no_bar_even_on_a_terminal(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import flow

    @flow(name="progress-check")
    def stage_in_a_flow() -> str:
        channel = progress_channel()
        run_stage()
        return channel

    with flow_run_log_on_a_terminal(monkeypatch) as (collected, terminal):
        channel = stage_in_a_flow()
    assert channel == "prefect"
    logged = [message for message in collected.messages if "bootstrap draws" in message]
    assert logged[0] == "bootstrap draws: 2 of 20 (10%)"
    assert logged[-1] == "bootstrap draws: 20 of 20 (100%)"
    assert len(logged) == 10
    # The run's log lines reach the terminal through Prefect's own console handler, if at all.
    assert "━" not in terminal.getvalue()
