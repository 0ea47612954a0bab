"""Design simulations report progress on one channel: a terminal bar, a flow's log, or none.

In this folder for its Prefect harness (one per session, shared by the flow tests here).
"""

from __future__ import annotations

import logging
import sys

import pandas as pd
import pytest

from flows.plan.diagnosis import DESIGN_SIMULATIONS, diagnose_planned_designs
from measurement.power import PlannedDesign
from tests.flows.progress_channels import Terminal, flow_run_log_on_a_terminal

DESIGNS = {
    "first": PlannedDesign(n_clusters=12, cluster_size=5, icc=0.05, analysis="ancova"),
    "second": PlannedDesign(n_clusters=12, cluster_size=5, icc=0.10, analysis="ancova"),
}
EFFECTS = {"first": 0.4, "second": 0.3}
SIMULATIONS = 5


def diagnose() -> pd.DataFrame:
    return diagnose_planned_designs(
        DESIGNS, EFFECTS, simulations=SIMULATIONS, seed=3, inference="cr1"
    )


def test_design_simulations_on_a_pipe_show_no_progress(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        table = diagnose()
    assert table["outcome"].tolist() == ["first", "second"]
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""
    assert not [record for record in caplog.records if DESIGN_SIMULATIONS in record.getMessage()]


def test_design_simulations_on_a_terminal_draw_a_bar_and_log_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with caplog.at_level(logging.DEBUG):
        diagnose()
    assert DESIGN_SIMULATIONS in terminal.getvalue()
    assert "━" in terminal.getvalue()
    assert not [record for record in caplog.records if DESIGN_SIMULATIONS in record.getMessage()]


def test_design_simulations_in_a_flow_log_tenths_and_draw_no_bar(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import flow

    @flow(name="design-progress-check")
    def design_in_a_flow() -> int:
        return len(diagnose())

    with flow_run_log_on_a_terminal(monkeypatch) as (collected, terminal):
        assert design_in_a_flow() == len(DESIGNS)
    total = SIMULATIONS * len(DESIGNS)
    logged = [message for message in collected.messages if DESIGN_SIMULATIONS in message]
    assert logged[0] == f"{DESIGN_SIMULATIONS}: 1 of {total} (10%)"
    assert logged[-1] == f"{DESIGN_SIMULATIONS}: {total} of {total} (100%)"
    assert len(logged) == 10
    assert "━" not in terminal.getvalue()
