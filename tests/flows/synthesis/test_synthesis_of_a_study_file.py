"""A synthesis that names one study by its study file (read from its warehouse) beside
partner studies' exported estimates: the pipeline's real estimates table is harmonized."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flows.synthesis.build import run_synthesis
from flows.synthesis.file import load_synthesis
from flows.synthesis.run import input_checksums
from tests.flows.estimation.conftest import ingest_and_estimate
from tests.flows.estimation.survey import SurveySettings
from tests.flows.synthesis.conftest import SYNTHESIS_FILE


def test_a_study_file_contributes_its_latest_runs_main_estimates(
    tmp_path: Path, partner_synthesis: Callable[..., Path]
) -> None:
    study, run = ingest_and_estimate(tmp_path / "own", SurveySettings())
    text = SYNTHESIS_FILE.replace(
        "[[assumptions]]",
        f'[[studies]]\nid = "own"\nstudy = "{study.path}"\nregion = "West Africa"\n'
        'campaign_type = "radio"\n\n[[assumptions]]',
    )
    synthesis = load_synthesis(partner_synthesis(text))
    result = run_synthesis(synthesis)
    own = result.harmonized[result.harmonized["study"] == "own"]
    assert not own.empty
    assert set(own["estimator"]) == {"ancova"}  # the panel's main estimator, never ordinal
    assert set(own["wave"]) == {"endline"}
    assert set(own["design"]) == {"cluster_randomised"}  # read from the study file
    assert any(f"run {run.run_id}" in key for key in input_checksums(synthesis))
    assert int(result.pooled.set_index("outcome").loc["irregular_intention", "n_studies"]) == 4
