"""An estimated synthetic study, shared by the estimation tests of one module."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.estimation import EstimationRun, estimate_study
from flows.ingest import ingest_wave
from flows.study import Study, load_study
from tests.flows.estimation.survey import SurveySettings, write_survey_study

THREE_WAVES_WITH_A_SMALL_CELL = SurveySettings(
    waves=("baseline", "endline", "follow_up"), small_cell=6
)


def ingest_and_estimate(root: Path, settings: SurveySettings) -> tuple[Study, EstimationRun]:
    """Write the study, ingest its inbox and estimate it with few draws (fast)."""
    study = load_study(write_survey_study(root, settings))
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    run = estimate_study(study, bootstrap_draws=99, lee_draws=20, seed=11)
    return study, run


@pytest.fixture(scope="module")
def estimated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Study, EstimationRun]:
    """A three-wave panel with a follow-up comparison arm of six respondents, estimated."""
    return ingest_and_estimate(
        tmp_path_factory.mktemp("estimated") / "study", THREE_WAVES_WITH_A_SMALL_CELL
    )
