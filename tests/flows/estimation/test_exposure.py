"""Quasi-experimental studies: propensity-weighted exposure effects and their weighted balance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.estimation import EstimationRun, estimate_study, read_result
from flows.ingest import ingest_wave
from flows.study import Study, load_study
from tests.flows.estimation.survey import (
    ARM_LINE,
    STUDY_TEMPLATE,
    SurveySettings,
    survey_waves,
)

QUASI = SurveySettings(
    study_id="quasi", assignment="quasi_experimental", n_clusters=20, per_cluster=20, seed=5
)


def write_quasi_study(root: Path, settings: SurveySettings) -> Path:
    """The synthetic survey as a quasi-experimental study whose later-wave recall is
    self-selected: older people and those with relatives abroad recall the campaign more
    often, and older people trust official sources more, so the naive comparison is biased."""
    rng = np.random.default_rng(settings.seed)
    (root / "inbox").mkdir(parents=True, exist_ok=True)
    waves = survey_waves(settings)
    baseline = waves[settings.waves[0]].set_index("respondent_id")
    for position, (wave, frame) in enumerate(waves.items()):
        if position > 0:
            age = baseline.loc[frame["respondent_id"], "age"].to_numpy()
            relatives = baseline.loc[frame["respondent_id"], "relatives_abroad"].to_numpy()
            logit = -0.3 + 0.12 * (age - 31) + 1.0 * relatives
            recall = (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(float)
            frame["exposure_recall"] = recall
            for name in [column for column in frame.columns if column.startswith("trust_iom")]:
                frame[name] = np.clip(frame[name] + np.rint(0.08 * (age - 31)), 1, 5)
        frame.to_csv(root / "inbox" / f"{wave}.csv", index=False)
    waves_toml = "\n".join(f'[[waves]]\nname = "{wave}"\n' for wave in settings.waves)
    text = STUDY_TEMPLATE.format(
        study_id=settings.study_id,
        assignment=settings.assignment,
        sampling=settings.sampling,
        minimum_cell_size=settings.minimum_cell_size,
        arm_line=f'{ARM_LINE}\nexposure = "exposure_recall"',
        waves=waves_toml,
    )
    (root / "study.toml").write_text(text, encoding="utf-8")
    return root / "study.toml"


def estimate(root: Path, settings: SurveySettings) -> tuple[Study, EstimationRun]:
    study = load_study(write_quasi_study(root, settings))
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    return study, estimate_study(study, bootstrap_draws=19, lee_draws=10, seed=3)


@pytest.fixture(scope="module")
def quasi_panel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Study, EstimationRun]:
    return estimate(tmp_path_factory.mktemp("quasi") / "study", QUASI)


def test_a_quasi_experimental_study_gets_ipw_exposure_effects_for_every_outcome(
    quasi_panel: tuple[Study, EstimationRun],
) -> None:
    study, run = quasi_panel
    estimates = read_result(study, "estimates", run.run_id)
    catalogue = read_result(study, "outcome_catalogue", run.run_id)
    weighted = estimates[estimates["estimator"] == "ipw"]
    assert set(weighted["outcome"]) == set(catalogue["outcome"])
    assert set(weighted["wave"]) == {"endline"}
    assert (weighted["term"] == "exposure_recall").all()
    assert (weighted["waves_compared"] == "baseline -> endline").all()
    estimated = weighted[weighted["estimate"].notna()]
    assert len(estimated) >= len(weighted) - 2
    assert (
        estimated["specification"]
        .str.contains("weighted for self-selected exposure; not a randomised comparison")
        .all()
    )
    assert estimated["specification"].str.contains("baseline trust_official__baseline").any()
    assert estimated["notes"].str.contains("treated as fixed in the CR1 variance").all()
    assert estimated["q_value"].notna().all()
    assert (estimated["n_clusters"] == 20).all()
    assert (estimated["n_smallest_cell"] > 50).all()
    # The designs' own estimators are untouched.
    assert {"ancova", "did"} <= set(estimates["estimator"])


def test_the_exposure_balance_shows_the_weights_remove_the_age_gap(
    quasi_panel: tuple[Study, EstimationRun],
) -> None:
    study, run = quasi_panel
    balance = read_result(study, "exposure_balance", run.run_id)
    assert not balance.empty
    assert {"age", "relatives_abroad", "education"} <= set(balance["covariate"])
    assert "trust_official__baseline" in set(balance["covariate"])
    age = balance[(balance["covariate"] == "age") & (balance["outcome"] == "trust_official")]
    row = age.iloc[0]
    assert row["standardized_difference"] > 0.5
    assert abs(row["weighted_standardized_difference"]) < 0.1
    assert bool(row["balanced"])
    assert row["effective_sample_size_exposed"] < row["n_exposed"]


def test_a_repeated_cross_section_uses_same_wave_background_and_no_baseline(
    tmp_path: Path,
) -> None:
    settings = SurveySettings(
        study_id="quasi_cross",
        assignment="quasi_experimental",
        sampling="repeated_cross_section",
        n_clusters=16,
        per_cluster=16,
        seed=9,
    )
    rng = np.random.default_rng(0)
    study = load_study(write_survey_study_quasi(tmp_path / "study", settings, rng))
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    run = estimate_study(study, bootstrap_draws=0, lee_draws=10, seed=3)
    estimates = read_result(study, "estimates", run.run_id)
    weighted = estimates[estimates["estimator"] == "ipw"]
    assert not weighted.empty
    assert (weighted["waves_compared"] == "endline").all()
    assert not weighted["specification"].str.contains("baseline").any()
    balance = read_result(study, "exposure_balance", run.run_id)
    assert not balance["covariate"].str.endswith("__baseline").any()
    assert any("few clusters" in message for message in run.warnings)


def write_survey_study_quasi(
    root: Path, settings: SurveySettings, rng: np.random.Generator
) -> Path:
    """Repeated cross-sections: recall depends on same-wave age (a background item)."""
    (root / "inbox").mkdir(parents=True, exist_ok=True)
    for position, (wave, frame) in enumerate(survey_waves(settings).items()):
        if position > 0:
            logit = -0.3 + 0.1 * (frame["age"].to_numpy() - 31)
            frame["exposure_recall"] = (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(
                float
            )
        frame.to_csv(root / "inbox" / f"{wave}.csv", index=False)
    waves_toml = "\n".join(f'[[waves]]\nname = "{wave}"\n' for wave in settings.waves)
    (root / "study.toml").write_text(
        STUDY_TEMPLATE.format(
            study_id=settings.study_id,
            assignment=settings.assignment,
            sampling=settings.sampling,
            minimum_cell_size=settings.minimum_cell_size,
            arm_line=f'{ARM_LINE}\nexposure = "exposure_recall"',
            waves=waves_toml,
        ),
        encoding="utf-8",
    )
    return root / "study.toml"


def test_a_cluster_randomised_study_gets_no_exposure_rows(tmp_path: Path) -> None:
    settings = SurveySettings(study_id="randomised", n_clusters=8, per_cluster=8)
    root = tmp_path / "study"
    (root / "inbox").mkdir(parents=True)
    for wave, frame in survey_waves(settings).items():
        frame.to_csv(root / "inbox" / f"{wave}.csv", index=False)
    (root / "study.toml").write_text(
        STUDY_TEMPLATE.format(
            study_id=settings.study_id,
            assignment=settings.assignment,
            sampling=settings.sampling,
            minimum_cell_size=settings.minimum_cell_size,
            arm_line=f'{ARM_LINE}\nexposure = "exposure_recall"',
            waves='[[waves]]\nname = "baseline"\n\n[[waves]]\nname = "endline"\n',
        ),
        encoding="utf-8",
    )
    study = load_study(root / "study.toml")
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    run = estimate_study(study, bootstrap_draws=0, lee_draws=10, seed=3)
    estimates = read_result(study, "estimates", run.run_id)
    assert "ipw" not in set(estimates["estimator"])
    assert run.tables["exposure_balance"] == 0
    assert isinstance(read_result(study, "exposure_balance", run.run_id), pd.DataFrame)


def test_the_report_of_a_quasi_experimental_study_shows_the_weighted_balance(
    quasi_panel: tuple[Study, EstimationRun],
) -> None:
    from flows.report import build_report

    study, run = quasi_panel
    html = build_report(study, run_id=run.run_id).read_text(encoding="utf-8")
    assert "Balance of self-reported exposure before and after weighting" in html
    assert "weighted by 1/e(x_i)" in html
    assert "Propensity-weighted comparison of the exposed" in html
