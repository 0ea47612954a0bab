"""Progress of long stages goes to one channel: a terminal bar, or a flow run's log, or none."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

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


def test_progress_names_what_it_counts_after_the_counts(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import flow

    @flow(name="progress-counting-check")
    def counted() -> None:
        with stage_progress("draws", 4, counting="draws across 2 estimates") as advance:
            for _ in range(4):
                advance(1)

    with flow_run_log_on_a_terminal(monkeypatch) as (collected, _terminal):
        counted()
    logged = [message for message in collected.messages if message.startswith("draws:")]
    assert logged[-1] == "draws: 4 of 4 draws across 2 estimates (100%)"


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


def test_effect_draws_in_a_flow_run_are_logged_to_the_end_and_draw_no_bar(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prefect import flow

    from flows.estimation import estimate_study
    from flows.ingest import ingest_wave
    from flows.study import load_study
    from tests.flows.estimation.survey import SurveySettings, write_survey_study

    study = load_study(
        write_survey_study(tmp_path / "study", SurveySettings(n_clusters=8, per_cluster=8))
    )
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    label = "wild bootstrap and randomization"

    @flow(name="estimate-progress-check")
    def estimate_in_a_flow() -> None:
        estimate_study(study, bootstrap_draws=19, lee_draws=5, seed=2)

    with flow_run_log_on_a_terminal(monkeypatch) as (collected, terminal):
        estimate_in_a_flow()
    logged = [message for message in collected.messages if message.startswith(label)]
    assert logged and logged[-1].endswith("(100%)")
    counts, unit = logged[-1].removeprefix(f"{label}: ").split(" (")[0].split(" draws ")
    done, total = counts.split(" of ")
    assert int(done) == int(total) > 0
    # The total is every estimate's draws, and the line says across how many estimates.
    estimates = int(unit.removeprefix("across ").removesuffix(" estimates"))
    assert estimates > 1 and int(total) % estimates == 0
    assert "━" not in terminal.getvalue()
