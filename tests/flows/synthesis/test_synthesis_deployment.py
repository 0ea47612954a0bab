"""The synthesis deployment: after every study run and on a schedule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.synthesis.deployment import synthesis_deployment
from flows.synthesis.file import load_synthesis


def test_the_synthesis_deployment_runs_after_each_study_run_and_on_cron(
    partner_synthesis: Callable[..., Path],
) -> None:
    synthesis = load_synthesis(partner_synthesis())
    deployment = synthesis_deployment(synthesis, cron="0 * * * *")
    assert deployment.name == "west_africa"
    assert deployment.entrypoint == "flows.synthesis.flow.synthesize_evidence"
    assert deployment.parameters == {"synthesis_file": str(synthesis.path)}
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "0 * * * *"
    (trigger,) = deployment.triggers
    assert trigger.expect == {"prefect.flow-run.Completed"}
    assert trigger.match_related.model_dump() == {
        "prefect.resource.role": "flow",
        "prefect.resource.name": "evaluate-study",
    }
    assert not synthesis_deployment(synthesis, cron=None).schedules


def test_serving_a_synthesis_asks_for_a_prefect_server(
    partner_synthesis: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["synthesize", str(partner_synthesis()), "--serve"])
    assert result.exit_code == 2
    assert "PREFECT_API_URL is not set" in result.output
