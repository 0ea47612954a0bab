"""estimate_ordered_logit: recovery of a planted log-odds effect and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from measurement.errors import DesignError, StatisticalCaveatWarning
from measurement.ordinal import ORDERED_LOGIT_NOTE, estimate_ordered_logit, fit_ordered_logit


def likert(seed: int = 1, n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.arange(n) // 40})
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    frame["stratum"] = frame["cluster"] % 5
    frame["baseline"] = rng.normal(size=n)
    latent = 0.6 * frame["treated"] + frame["baseline"] + rng.logistic(size=n)
    frame["outcome"] = np.digitize(latent, [-1.5, -0.5, 0.5, 1.5]) + 1
    return frame


def test_estimate_ordered_logit_recovers_a_planted_log_odds_effect() -> None:
    effect = estimate_ordered_logit(
        likert(),
        outcome="outcome",
        treated="treated",
        cluster="cluster",
        baseline="baseline",
        stratum="stratum",
    )
    assert effect.conf_low < 0.6 < effect.conf_high
    assert effect.notes == (ORDERED_LOGIT_NOTE,)
    assert effect.df_resid == 49
    assert effect.estimator == "ordered_logit"


def test_estimate_ordered_logit_rejects_a_binary_outcome() -> None:
    frame = likert().assign(outcome=lambda f: (f["outcome"] > 3).astype(int))
    with pytest.raises(DesignError, match="needs at least three"):
        estimate_ordered_logit(frame, outcome="outcome", treated="treated", cluster="cluster")


def test_estimate_ordered_logit_rejects_one_cluster_and_one_arm() -> None:
    with pytest.raises(DesignError, match="clustered errors need at least two"):
        estimate_ordered_logit(
            likert().assign(cluster=1), outcome="outcome", treated="treated", cluster="cluster"
        )
    with pytest.raises(DesignError, match="'treated' does not vary"):
        estimate_ordered_logit(
            likert().assign(treated=1.0), outcome="outcome", treated="treated", cluster="cluster"
        )


def test_estimate_ordered_logit_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"columns \['arm'\] are not in responses"):
        estimate_ordered_logit(likert(), outcome="outcome", treated="arm", cluster="cluster")
    with pytest.raises(ValueError, match="confidence must lie strictly between 0 and 1"):
        estimate_ordered_logit(
            likert(), outcome="outcome", treated="treated", cluster="cluster", confidence=2
        )


def test_without_regressors_the_cut_points_are_the_logits_of_the_cumulative_shares() -> None:
    frame = pd.DataFrame({"answer": [1] * 10 + [2] * 30 + [3] * 40 + [4] * 20})
    fit = fit_ordered_logit(frame, outcome="answer", regressors=[])
    shares = np.array([0.1, 0.4, 0.8])
    np.testing.assert_allclose(fit.cut_points.to_numpy(), np.log(shares / (1 - shares)), rtol=1e-9)
    counts = np.array([10, 30, 40, 20])
    assert fit.log_likelihood == pytest.approx(float(counts @ np.log(counts / 100)), rel=1e-12)


def test_non_convergence_is_reported_as_a_statistical_caveat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("measurement.ordinal.MAXIMUM_ITERATIONS", 1)
    with pytest.warns(StatisticalCaveatWarning, match="Newton's method stopped after 1"):
        effect = estimate_ordered_logit(
            likert(),
            outcome="outcome",
            treated="treated",
            cluster="cluster",
            baseline="baseline",
        )
    assert any("may not be the maximum-likelihood" in caveat for caveat in effect.warnings)


def test_a_large_sample_converges_at_the_rounding_floor_of_its_summed_gradient() -> None:
    # 100,000 rows with a regressor in units of 10,000 (an income, say): the summed score of
    # its slope cannot be computed to better than ~1e-7, far above the absolute 1e-9, so
    # with that tolerance alone Newton went on for 67 iterations of rounding noise (and, at
    # 2.6 million rows, warned after 200 of a fit that had converged). The fit is the same
    # as on the unscaled regressor, whose slope is 10,000 times larger.
    rng = np.random.default_rng(5)
    n = 100_000
    frame = pd.DataFrame({"treated": rng.integers(0, 2, n).astype(float)})
    frame["baseline"] = rng.integers(1, 6, n).astype(float)
    strata = rng.integers(0, 20, n)
    for level in range(1, 20):
        frame[f"stratum_{level}"] = (strata == level).astype(float)
    latent = 0.2 * frame["treated"] + 0.5 * frame["baseline"] + 0.05 * strata
    frame["answer"] = np.digitize(latent + rng.logistic(size=n), [0.5, 1.5, 2.5, 3.5]) + 1.0
    frame["cluster"] = rng.integers(0, 2000, n)
    regressors = ["treated", "baseline", *(f"stratum_{level}" for level in range(1, 20))]
    unscaled = fit_ordered_logit(frame, outcome="answer", regressors=regressors, cluster="cluster")
    scaled = fit_ordered_logit(
        frame.assign(baseline=frame["baseline"] * 1e4),
        outcome="answer",
        regressors=regressors,
        cluster="cluster",
    )
    assert scaled.converged and not scaled.warnings
    assert scaled.iterations <= unscaled.iterations + 2
    assert scaled.coefficients["baseline"] * 1e4 == pytest.approx(
        unscaled.coefficients["baseline"], rel=1e-9
    )
    assert scaled.coefficients["treated"] == pytest.approx(
        unscaled.coefficients["treated"], rel=1e-9
    )
