"""fit_binary_model and estimate_binary_effect: by hand, statsmodels, coverage, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from measurement.binary import estimate_binary_effect, fit_binary_model
from measurement.errors import DesignError, StatisticalCaveatWarning


def trial(seed: int, clusters: int = 30, per_cluster: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), per_cluster)})
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    frame["baseline"] = rng.binomial(1, 0.4, size=len(frame)).astype(float)
    index = -0.3 - 0.4 * frame["treated"] + frame["baseline"]
    frame["plans"] = (rng.random(len(frame)) < 1 / (1 + np.exp(-index))).astype(float)
    return frame


def test_with_only_an_indicator_the_logit_ame_is_the_difference_in_shares() -> None:
    frame = pd.DataFrame(
        {"treated": [0.0] * 10 + [1.0] * 10, "plans": [1.0] * 3 + [0.0] * 7 + [1.0] * 6 + [0.0] * 4}
    )
    fit = fit_binary_model(frame, outcome="plans", regressors=["treated"])
    effect, _ = fit.average_marginal_effect("treated")
    assert effect == pytest.approx(0.6 - 0.3, rel=1e-10)
    assert fit.coefficients["treated"] == pytest.approx(np.log(1.5) - np.log(3 / 7), rel=1e-9)


def test_the_logit_ame_and_its_cluster_error_equal_statsmodels_get_margeff() -> None:
    frame = trial(1)
    x = sm.add_constant(frame[["treated", "baseline"]])
    reference = sm.Logit(frame["plans"], x).fit(
        disp=False, cov_type="cluster", cov_kwds={"groups": frame["cluster"]}, tol=1e-12
    )
    margins = reference.get_margeff(at="overall", dummy=True)
    effect = estimate_binary_effect(
        frame, outcome="plans", treated="treated", cluster="cluster", covariates=["baseline"]
    )
    assert effect.estimate == pytest.approx(margins.margeff[0], rel=1e-8)
    assert effect.std_error == pytest.approx(margins.margeff_se[0], rel=1e-8)


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_the_ame_interval_covers_the_planted_effect(link: str) -> None:
    # The true AME of the simulated logit: average over the baseline mix of the change.
    def logistic(z: float) -> float:
        return 1 / (1 + np.exp(-z))

    truth = 0.6 * (logistic(-0.7) - logistic(-0.3)) + 0.4 * (logistic(0.3) - logistic(0.7))
    covered = 0
    studies = 30
    for seed in range(studies):
        effect = estimate_binary_effect(
            trial(seed),
            outcome="plans",
            treated="treated",
            cluster="cluster",
            baseline="baseline",
            link=link,
        )
        covered += effect.conf_low <= truth <= effect.conf_high
    assert covered / studies >= 0.8  # P(below | 95% coverage) is about 0.2%


def test_fit_binary_model_rejects_what_it_cannot_fit() -> None:
    frame = trial(2)
    with pytest.raises(ValueError, match="must hold 0/1"):
        fit_binary_model(frame.assign(plans=2.0), outcome="plans", regressors=["treated"])
    with pytest.raises(ValueError, match="link must be 'logit' or 'probit'"):
        fit_binary_model(frame, outcome="plans", regressors=["treated"], link="cloglog")
    separated = frame.assign(plans=frame["treated"])
    with pytest.raises(DesignError, match="separates the outcome"):
        fit_binary_model(separated, outcome="plans", regressors=["treated"])
    with pytest.raises(DesignError, match="both 0 and 1"):
        estimate_binary_effect(
            frame.assign(treated=1.0), outcome="plans", treated="treated", cluster="cluster"
        )


def test_stopping_early_is_reported_as_a_statistical_caveat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("measurement.binary.MAXIMUM_ITERATIONS", 1)
    with pytest.warns(StatisticalCaveatWarning, match="Fisher scoring stopped after 1"):
        effect = estimate_binary_effect(
            trial(3), outcome="plans", treated="treated", cluster="cluster", baseline="baseline"
        )
    assert effect.warnings


def test_with_only_an_intercept_the_cr2_variance_is_the_hand_formula() -> None:
    # Intercept-only logit: mu = p for every row, so A_g = (I - J/N)^-1/2 and the CR2
    # variance of the intercept is sum_g S_g^2 / (1 - n_g/N) / (N p (1 - p))^2, with S_g the
    # cluster's sum of residuals y - p.
    sizes = [3, 5, 4, 6, 2]
    cluster = np.repeat(np.arange(len(sizes)), sizes)
    plans = np.array([1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 1], dtype=float)
    frame = pd.DataFrame({"cluster": cluster, "plans": plans})
    fit = fit_binary_model(frame, outcome="plans", regressors=[], cluster="cluster", vcov="CR2")
    n, share = len(plans), plans.mean()
    sums = np.bincount(cluster, weights=plans - share)
    expected = np.sum(sums**2 / (1 - np.array(sizes) / n)) / (n * share * (1 - share)) ** 2
    assert fit.vcov.loc["Intercept", "Intercept"] == pytest.approx(expected, rel=1e-10)


def test_fit_binary_model_rejects_an_unknown_vcov() -> None:
    with pytest.raises(ValueError, match="vcov must be 'CR1' or 'CR2'; got 'HC3'"):
        fit_binary_model(trial(3), outcome="plans", regressors=["treated"], vcov="HC3")  # type: ignore[arg-type]
