"""randomization_inference: draws equal refits, strata respected, p-value convention, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from measurement.effects import fit_effect_model, specify_ancova, specify_did
from measurement.errors import DesignError
from measurement.randomization_inference import (
    permute_within_strata,
    randomization_inference,
    randomization_inference_effect,
)


def simulate(seed: int, clusters: int = 16) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), 30)})
    frame["stratum"] = frame["cluster"] % 4
    frame["treated"] = ((frame["cluster"] // 4) % 2).astype(float)
    frame["post"] = np.tile([0.0, 1.0], len(frame) // 2)
    frame["baseline"] = rng.normal(size=len(frame))
    frame["weight"] = rng.uniform(0.5, 2, len(frame))
    frame["outcome"] = (
        0.2 * frame["treated"] * frame["post"]
        + frame["baseline"]
        + frame["stratum"]
        + rng.normal(size=len(frame))
    )
    return frame


@pytest.mark.parametrize("estimator", ["ancova", "did"])
@pytest.mark.parametrize("weight", [None, "weight"])
@pytest.mark.parametrize("stratum", [None, "stratum"])
def test_each_draw_equals_refitting_the_regression_on_the_permuted_assignment(
    estimator: str, weight: str | None, stratum: str | None
) -> None:
    frame = simulate(1)
    common = dict(
        outcome="outcome", treated="treated", cluster="cluster", stratum=stratum, weight=weight
    )
    model = (
        specify_ancova(frame, baseline="baseline", **common)
        if estimator == "ancova"
        else specify_did(frame, post="post", **common)
    )
    result = randomization_inference_effect(model, draws=50, seed=7)
    assert result.estimate == pytest.approx(fit_effect_model(model).coefficients[model.term])
    strata = frame.groupby("cluster")["stratum"].first().to_numpy() if stratum else np.zeros(16)
    assignments = permute_within_strata(
        frame.groupby("cluster")["treated"].first().to_numpy(),
        strata,
        5,
        np.random.default_rng(7),
    )
    for draw, assignment in enumerate(assignments):
        permuted = model.frame.assign(treated=assignment[frame["cluster"]])
        if estimator == "did":
            permuted["treated:post"] = permuted["treated"] * permuted["post"]
        refit = fit_effect_model(dataclasses.replace(model, frame=permuted))
        assert result.null_distribution[draw] == pytest.approx(
            refit.coefficients[model.term], rel=1e-8, abs=1e-12
        )


def test_permutations_keep_the_number_of_treated_clusters_in_each_stratum() -> None:
    strata = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assignment = np.array([1.0, 1, 0, 0, 1, 0, 0, 0])
    draws = permute_within_strata(assignment, strata, 200, np.random.default_rng(1))
    assert (draws[:, :4].sum(axis=1) == 2).all()
    assert (draws[:, 4:].sum(axis=1) == 1).all()
    assert len({tuple(row) for row in draws}) == 24  # 6 x 4 distinct assignments


def test_the_p_value_counts_the_observed_assignment() -> None:
    frame = simulate(2)
    result = randomization_inference(
        frame,
        outcome="outcome",
        regressors=["treated", "baseline"],
        term="treated",
        treated="treated",
        cluster="cluster",
        permuted={"treated": None},
        draws=199,
        seed=3,
    )
    count = int(np.sum(np.abs(result.null_distribution) >= abs(result.estimate) - 1e-12))
    assert result.p_value == pytest.approx((1 + count) / 200)
    assert list(result.tidy().columns)[:3] == ["term", "estimate", "p_value"]


def test_randomization_inference_rejects_treatment_varying_within_a_cluster() -> None:
    frame = simulate(3)
    frame.loc[0, "treated"] = 1 - frame.loc[0, "treated"]
    with pytest.raises(DesignError, match="varies within 1 clusters"):
        randomization_inference(
            frame,
            outcome="outcome",
            regressors=["treated"],
            term="treated",
            treated="treated",
            cluster="cluster",
            permuted={"treated": None},
            draws=9,
        )


def test_randomization_inference_rejects_clusters_spanning_strata() -> None:
    frame = simulate(4)
    frame.loc[0, "stratum"] = 3
    with pytest.raises(DesignError, match="clusters lie in several strata"):
        randomization_inference(
            frame,
            outcome="outcome",
            regressors=["treated"],
            term="treated",
            treated="treated",
            cluster="cluster",
            permuted={"treated": None},
            stratum="stratum",
            draws=9,
        )


def test_randomization_inference_rejects_bad_arguments() -> None:
    frame = simulate(5)
    common = dict(outcome="outcome", treated="treated", cluster="cluster")
    with pytest.raises(ValueError, match="term 'baseline' is not among the permuted"):
        randomization_inference(
            frame,
            **common,
            regressors=["treated", "baseline"],
            term="baseline",
            permuted={"treated": None},
        )
    with pytest.raises(ValueError, match="are not among the regressors"):
        randomization_inference(
            frame, **common, regressors=["baseline"], term="treated", permuted={"treated": None}
        )
    with pytest.raises(ValueError, match="draws must be a positive integer"):
        randomization_inference(
            frame,
            **common,
            regressors=["treated"],
            term="treated",
            permuted={"treated": None},
            draws=-1,
        )
