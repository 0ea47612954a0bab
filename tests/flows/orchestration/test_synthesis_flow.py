"""The `synthesize-evidence` flow end to end once, under the session's Prefect harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.simulation.synthesis import (
    SynthesisSettings,
    simulate_synthesis,
    write_simulated_synthesis,
)
from flows.synthesis.flow import synthesize_evidence

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_synthesis_flow_writes_the_report_then_skips_unchanged_inputs(
    tmp_path: Path,
) -> None:
    simulated = simulate_synthesis(SynthesisSettings(n_studies=5, seed=9))
    path = write_simulated_synthesis(simulated, tmp_path, title="Five studies")
    first = synthesize_evidence(str(path))
    assert first.report.is_file() and not first.reused
    assert (first.report.parent / "pooled.parquet").is_file()
    second = synthesize_evidence(str(path))
    assert second.reused and second.fingerprint == first.fingerprint
