"""randomization_inference: draws equal refits, strata respected, p-value convention, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from measurement.effects import fit_effect_model, specify_ancova, specify_did
from measurement.errors import DesignError
from measurement.linear_model import fit_linear_model
from measurement.randomization_inference import (
    permute_within_strata,
    randomization_inference,
    randomization_inference_effect,
)
from measurement.rerandomization import BalanceRule, standardized_differences


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


def test_randomization_inference_rejects_strata_of_one_cluster_each() -> None:
    frame = simulate(5)
    frame["stratum"] = frame["cluster"]
    with pytest.raises(DesignError, match="no stratum holds clusters of both arms; found 16"):
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


# p-values of the O(G^2)-per-draw implementation (commit 4b5997b) on simulate(4, clusters=24),
# 999 draws; the O(G) implementation must reproduce them on the same seeds.
PREVIOUS_P_VALUES = {
    ("ancova", None, None, 1): 0.879,
    ("ancova", "weight", "stratum", 2): 0.342,
    ("did", None, "stratum", 1): 0.27,
    ("did", "weight", None, 2): 0.241,
}


@pytest.mark.parametrize("case", list(PREVIOUS_P_VALUES))
def test_the_linear_algebra_gives_the_previous_p_values_on_the_same_seeds(case: tuple) -> None:
    estimator, weight, stratum, seed = case
    frame = simulate(4, clusters=24)
    common = dict(
        outcome="outcome", treated="treated", cluster="cluster", stratum=stratum, weight=weight
    )
    model = (
        specify_ancova(frame, baseline="baseline", **common)
        if estimator == "ancova"
        else specify_did(frame, post="post", **common)
    )
    result = randomization_inference_effect(model, draws=999, seed=seed)
    assert not result.enumerated
    assert result.p_value == pytest.approx(PREVIOUS_P_VALUES[case], abs=1e-12)


@pytest.mark.parametrize("estimator", ["ancova", "did"])
def test_each_studentized_draw_equals_the_cr1_t_of_a_refit(estimator: str) -> None:
    frame = simulate(5)
    common = dict(
        outcome="outcome", treated="treated", cluster="cluster", stratum="stratum", weight="weight"
    )
    model = (
        specify_ancova(frame, baseline="baseline", **common)
        if estimator == "ancova"
        else specify_did(frame, post="post", **common)
    )
    result = randomization_inference_effect(model, draws=20, seed=3, statistic="studentized")
    observed = fit_effect_model(model).term(model.term)
    assert result.observed_statistic == pytest.approx(observed["statistic"], rel=1e-9)
    strata = frame.groupby("cluster")["stratum"].first().to_numpy()
    assignments = permute_within_strata(
        frame.groupby("cluster")["treated"].first().to_numpy(), strata, 5, np.random.default_rng(3)
    )
    for draw, assignment in enumerate(assignments):
        permuted = model.frame.assign(treated=assignment[frame["cluster"]])
        if estimator == "did":
            permuted["treated:post"] = permuted["treated"] * permuted["post"]
        refit = fit_effect_model(dataclasses.replace(model, frame=permuted)).term(model.term)
        assert result.null_distribution[draw] == pytest.approx(refit["statistic"], rel=1e-8)


def test_fixed_effects_nested_in_the_clusters_are_partialled_out_exactly() -> None:
    """Two-way fixed effects: cluster and wave dummies, the permuted interaction treated:post."""
    frame = simulate(6)
    frame["treated:post"] = frame["treated"] * frame["post"]
    common = dict(
        outcome="outcome",
        regressors=["treated:post", "baseline"],
        cluster="cluster",
        fixed_effects=["cluster", "post"],
    )
    result = randomization_inference(
        frame,
        **common,
        term="treated:post",
        treated="treated",
        permuted={"treated:post": "post"},
        stratum="stratum",
        draws=30,
        seed=2,
        enumeration="never",
    )
    strata = frame.groupby("cluster")["stratum"].first().to_numpy()
    assignments = permute_within_strata(
        frame.groupby("cluster")["treated"].first().to_numpy(), strata, 6, np.random.default_rng(2)
    )
    for draw, assignment in enumerate(assignments):
        redrawn = frame.assign(**{"treated:post": assignment[frame["cluster"]] * frame["post"]})
        refit = fit_linear_model(
            redrawn, outcome="outcome", **{k: v for k, v in common.items() if k != "outcome"}
        )
        assert result.null_distribution[draw] == pytest.approx(
            refit.coefficients["treated:post"], rel=1e-8
        )


def small_trial(seed: int) -> pd.DataFrame:
    """Eight clusters in four pairs, one treated per pair: 2^4 = 16 assignments."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(8), 10)})
    frame["stratum"] = frame["cluster"] // 2
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    frame["size"] = rng.normal(size=8)[frame["cluster"]]
    frame["outcome"] = 0.8 * frame["treated"] + rng.normal(size=len(frame))
    return frame


def refit_coefficients(frame: pd.DataFrame, assignments: np.ndarray) -> np.ndarray:
    out = []
    for assignment in assignments:
        redrawn = frame.assign(treated=assignment[frame["cluster"]])
        fit = fit_linear_model(
            redrawn, outcome="outcome", regressors=["treated"], cluster="cluster"
        )
        out.append(fit.coefficients["treated"])
    return np.array(out)


def test_a_small_assignment_space_is_enumerated_exactly() -> None:
    frame = small_trial(1)
    common = dict(
        outcome="outcome",
        regressors=["treated"],
        term="treated",
        treated="treated",
        cluster="cluster",
        permuted={"treated": None},
        stratum="stratum",
    )
    exact = randomization_inference(frame, **common, draws=999, seed=1)
    assert exact.enumerated and exact.draws == 16
    codes = (np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1
    assignments = np.repeat(codes, 2, axis=1).astype(float)
    assignments[:, 0::2] = 1 - assignments[:, 1::2]
    refits = np.abs(refit_coefficients(frame, assignments))
    observed = abs(exact.estimate)
    assert exact.p_value == pytest.approx(np.mean(refits >= observed * (1 - 1e-10)))
    again = randomization_inference(frame, **common, draws=999, seed=77)
    assert again.p_value == exact.p_value
    drawn = randomization_inference(frame, **common, draws=999, seed=1, enumeration="never")
    assert not drawn.enumerated and drawn.draws == 999


def test_a_rerandomization_rule_keeps_only_the_assignments_it_accepts() -> None:
    frame = small_trial(2)
    values = frame.groupby("cluster")["size"].first().to_numpy()
    observed = frame.groupby("cluster")["treated"].first().to_numpy()
    codes = (np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1
    assignments = np.repeat(codes, 2, axis=1).astype(float)
    assignments[:, 0::2] = 1 - assignments[:, 1::2]
    differences = np.abs(standardized_differences(values[:, None], assignments))[:, 0]
    threshold = float(np.sort(differences)[10])  # accepts about 11 of the 16
    rule = BalanceRule(covariates=("size",), threshold=threshold)
    assert differences[np.flatnonzero((assignments == observed).all(axis=1))[0]] <= threshold
    common = dict(
        outcome="outcome",
        regressors=["treated"],
        term="treated",
        treated="treated",
        cluster="cluster",
        permuted={"treated": None},
        stratum="stratum",
    )
    exact = randomization_inference(frame, **common, rerandomization=rule)
    accepted = assignments[differences <= threshold]
    assert exact.enumerated and exact.draws == len(accepted) < 16
    refits = np.abs(refit_coefficients(frame, accepted))
    assert exact.p_value == pytest.approx(np.mean(refits >= abs(exact.estimate) * (1 - 1e-10)))
    drawn = randomization_inference(
        frame, **common, rerandomization=rule, enumeration="never", draws=200, seed=4
    )
    accepted_set = {tuple(row) for row in accepted}
    assert drawn.draws == 200 and "re-randomization rule" in drawn.inference
    assert all(
        tuple(row) in accepted_set
        for row in permute_within_strata(observed, np.arange(8) // 2, 50, np.random.default_rng(9))
        if np.abs(standardized_differences(values[:, None], row[None, :]))[0, 0] <= threshold
    )


def test_randomization_inference_rejects_an_assignment_the_rule_would_not_accept() -> None:
    frame = small_trial(2)
    rule = BalanceRule(covariates=("size",), threshold=1e-6)
    with pytest.raises(DesignError, match="does not satisfy the re-randomization rule"):
        randomization_inference(
            frame,
            outcome="outcome",
            regressors=["treated"],
            term="treated",
            treated="treated",
            cluster="cluster",
            permuted={"treated": None},
            stratum="stratum",
            rerandomization=rule,
        )
    with pytest.raises(ValueError, match="statistic must be"):
        randomization_inference(
            frame,
            outcome="outcome",
            regressors=["treated"],
            term="treated",
            treated="treated",
            cluster="cluster",
            permuted={"treated": None},
            statistic="t",
        )
    with pytest.raises(ValueError, match="threshold must be a positive number"):
        BalanceRule(covariates=("size",), threshold=0.0)


def test_randomization_draws_are_reported_to_a_progress_callback_block_by_block() -> None:
    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(30), 10)})
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    frame["outcome"] = rng.normal(size=300)
    common = dict(
        outcome="outcome", regressors=["treated"], term="treated", treated="treated",
        cluster="cluster", permuted={"treated": None},
    )  # fmt: skip
    done: list[int] = []
    randomization_inference(frame, draws=999, seed=1, on_draws_done=done.append, **common)
    assert sum(done) == 999 and all(count > 0 for count in done)
    # Exact enumeration (few assignments) reports the requested draws at once.
    small = frame[frame["cluster"] < 6]
    enumerated: list[int] = []
    result = randomization_inference(
        small, draws=999, seed=1, on_draws_done=enumerated.append, **common
    )
    assert result.enumerated and enumerated == [999]
