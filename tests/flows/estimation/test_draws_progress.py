"""Long draws report progress beside their stage's, and how many Lee bounds draws are made."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from flows.estimation import estimate_study
from flows.estimation.analysis_data import AnalysisData
from flows.estimation.inference_tables import (
    LEE_DRAW_ROWS,
    LEE_MINIMUM_DRAWS,
    effect_draws_total,
    lee_bounds_draws,
    lee_bounds_total_draws,
)
from flows.ingest import ingest_wave
from flows.progress import stage_progress
from flows.study import Study, load_study
from tests.flows.estimation.survey import SurveySettings, write_survey_study
from tests.flows.progress_channels import Terminal


def test_draws_inside_a_stage_on_a_terminal_show_beside_the_stages_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with stage_progress("estimating", 2) as advance:
        with stage_progress("Lee bounds draws", 100) as draws_done:
            for _ in range(4):
                draws_done(25)
        advance(2)
    assert "estimating" in terminal.getvalue()
    assert "Lee bounds draws" in terminal.getvalue()


def test_lee_bounds_keep_the_requested_draws_up_to_the_rule_and_fewer_above_it() -> None:
    assert lee_bounds_draws(500, 200_000) == 500
    assert lee_bounds_draws(500, 400_000) == LEE_DRAW_ROWS // 400_000 == 250
    assert lee_bounds_draws(500, 1_000_000) == LEE_MINIMUM_DRAWS
    assert lee_bounds_draws(20, 10_000_000) == 20


def test_the_lee_draws_total_counts_every_outcome_of_every_later_wave() -> None:
    frame = pd.DataFrame({"wave": ["baseline"] * 3 + ["endline"] * 3 + ["follow_up"] * 3})
    data = AnalysisData(
        responses=frame,
        outcomes=tuple(object() for _ in range(4)),  # type: ignore[misc]
        families={},
        construct_items={},
        index_components=pd.DataFrame(),
        baseline_wave="baseline",
        later_waves=("endline", "follow_up"),
    )
    assert lee_bounds_total_draws(data, 30) == 2 * 4 * 30


def _small_study(root: Path) -> Study:
    study = load_study(write_survey_study(root, SurveySettings(n_clusters=8, per_cluster=8)))
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    return study


def test_the_effect_draws_total_counts_both_kinds_for_each_clustered_estimator(
    tmp_path: Path,
) -> None:
    study = load_study(write_survey_study(tmp_path / "study", SurveySettings(n_clusters=8)))
    assert study.clustered
    total = effect_draws_total(
        study, ["ancova", "did"], n_outcomes=5, bootstrap_draws=19, randomization_draws=29
    )
    assert total == 2 * 5 * (19 + 29)


def test_effect_draws_show_beside_the_estimation_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    study = _small_study(tmp_path / "study")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    estimate_study(study, bootstrap_draws=19, lee_draws=5, seed=2)
    assert "wild bootstrap and randomization (draws across" in terminal.getvalue()
    assert "estimating" in terminal.getvalue()


def test_lee_bounds_fall_back_to_pooled_bounds_when_a_stratum_lacks_an_arm() -> None:
    import numpy as np

    from flows.estimation.inference_tables import _lee_bounds_within_strata
    from measurement.attrition import lee_bounds

    rng = np.random.default_rng(5)
    n = 240
    followed = pd.DataFrame({"cluster": np.arange(n) // 12})
    followed["treated"] = (followed["cluster"] % 2).astype(float)
    followed["stratum"] = (followed["cluster"] // 2) % 2
    followed["trust"] = rng.normal(size=n)
    followed.loc[rng.random(n) < 0.2, "trust"] = np.nan
    common = dict(outcome="trust", cluster="cluster", draws=30, seed=4)
    messages: list[tuple[str, str]] = []
    within = _lee_bounds_within_strata(followed, stratum="stratum", messages=messages, **common)
    assert not messages
    expected = lee_bounds(followed, treated="treated", stratum="stratum", **common).tidy()
    pd.testing.assert_frame_equal(within, expected)
    # No comparison respondent of stratum 1 followed up: trimming within strata is impossible.
    followed.loc[(followed["stratum"] == 1) & (followed["treated"] == 0), "trust"] = np.nan
    pooled = _lee_bounds_within_strata(followed, stratum="stratum", messages=messages, **common)
    assert messages and messages[0][1].endswith("Pooled bounds reported.")
    pd.testing.assert_frame_equal(pooled, lee_bounds(followed, treated="treated", **common).tidy())
