"""Cluster-randomised studies of our own whose strata (pairs of schools) hold a single school."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.estimation import read_result
from flows.estimation.run import estimate_study
from flows.ingest import ingest_wave
from flows.study import load_study
from tests.flows.studies.files import SHORT_INSTRUMENT, write_study

CLUSTER_COLUMNS = """
respondent = "id"
cluster = "school"
stratum = "pair"
arm = { column = "group", treatment = ["T"], comparison = ["C"] }
"""

POST_ONLY = """
[[instrument.items]]
name = "took_up"
construct = "service"
scale = "binary"
question = "Did you use the service after the campaign?"
"""

OUTCOMES = """
[outcomes]
primary = ["wellbeing", "took_up"]
"""


def _wave(*, wave: str, seed: int, effect: float, paired: bool) -> pd.DataFrame:
    """21 schools: ten pairs (one in each arm) and a lone school, or each school alone."""
    rng = np.random.default_rng(seed)
    schools = np.arange(21)
    pairs = np.minimum(schools // 2, 10) if paired else schools
    per_school = 12
    school = np.repeat(schools, per_school)
    treated = school % 2 == 1
    n_rows = len(school)
    return pd.DataFrame(
        {
            "id": np.arange(1, n_rows + 1) + (0 if wave == "baseline" else 10_000),
            "school": school + 1,
            "pair": np.repeat(pairs, per_school) + 1,
            "group": np.where(treated, "T", "C"),
            "rating_staff": rng.integers(1, 6, n_rows),
            "rating_wait": rng.integers(1, 6, n_rows),
            "wellbeing": np.clip(np.round(rng.normal(3 + effect * treated, 0.6), 2), 1, 5),
            "age": rng.integers(16, 70, n_rows),
            "household": rng.integers(1, 4, n_rows),
        }
    ).assign(wave=wave)


def _estimate(root: Path, *, paired: bool):
    study_file = write_study(
        root,
        design="cluster_randomised",
        sampling="repeated_cross_section",
        columns=CLUSTER_COLUMNS,
        instrument=SHORT_INSTRUMENT + POST_ONLY,
        extra=OUTCOMES,
    )
    inbox = root / "inbox"
    inbox.mkdir()
    _wave(wave="baseline", seed=1, effect=0.0, paired=paired).to_csv(
        inbox / "baseline.csv", index=False
    )
    endline = _wave(wave="endline", seed=2, effect=0.4, paired=paired)
    endline["took_up"] = np.random.default_rng(5).integers(0, 2, len(endline))
    endline.to_csv(inbox / "endline.csv", index=False)
    study = load_study(study_file)
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    run = estimate_study(study, bootstrap_draws=99, lee_draws=20, seed=3)
    return study, run


@pytest.fixture(scope="module")
def estimated(tmp_path_factory: pytest.TempPathFactory):
    return _estimate(tmp_path_factory.mktemp("pairs"), paired=True)


@pytest.fixture(scope="module")
def lone_schools(tmp_path_factory: pytest.TempPathFactory):
    return _estimate(tmp_path_factory.mktemp("lone"), paired=False)


def _did_row(study, run) -> pd.Series:
    estimates = read_result(study, "estimates", run.run_id)
    did = estimates[(estimates["estimator"] == "did") & (estimates["outcome"] == "wellbeing")]
    assert len(did) == 1
    return did.iloc[0]


def test_a_stratum_with_one_cluster_keeps_randomization_inference_in_the_other_strata(
    estimated,
):
    row = _did_row(*estimated)
    assert np.isfinite(row["estimate"]) and np.isfinite(row["p_value_primary"])
    assert 0 < row["p_value_randomization"] < 1
    assert "randomization inference not computed" not in str(row["warnings"])


def test_strata_of_one_cluster_each_leave_randomization_inference_empty_with_the_reason(
    lone_schools,
):
    study, run = lone_schools
    row = _did_row(study, run)
    # The effect is identified (treated absorbed by the strata), re-drawing within strata is
    # not: the run completes with the reason on the row instead of an unexpected error.
    assert np.isfinite(row["estimate"]) and np.isfinite(row["p_value_primary"])
    assert pd.isna(row["p_value_randomization"])
    assert "randomization inference not computed" in row["warnings"]
    assert "no stratum holds clusters of both arms" in row["warnings"]


def test_a_clustered_post_only_outcome_takes_cr1_as_its_primary_inference(estimated):
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    row = estimates[estimates["outcome"] == "took_up"].iloc[0]
    assert row["estimator"] == "post_only_difference"
    assert row["primary_inference"] == "cr1"
    assert row["p_value_primary"] == pytest.approx(row["p_value"])
    assert row["n_clusters"] == 21
    assert np.isfinite(row["q_value"])
