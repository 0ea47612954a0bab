"""The adjusted difference in means for outcomes measured only after the campaign."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from measurement.errors import DesignError
from measurement.post_only import estimate_post_only_difference


def _frame(seed: int, n: int = 200, effect: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"treated": rng.permutation(np.repeat([0, 1], n // 2))})
    frame["unit"] = np.arange(n)
    frame["age"] = rng.normal(35, 10, n)
    frame["y"] = effect * frame["treated"] + 0.05 * frame["age"] + rng.normal(size=n)
    return frame


def test_without_covariates_it_is_the_difference_in_means_by_hand() -> None:
    frame = pd.DataFrame({"treated": np.repeat([0, 1], 20), "unit": range(40)})
    frame["y"] = np.r_[np.tile([1.0, 2.0, 3.0, 2.0], 5), np.tile([4.0, 6.0, 8.0, 6.0], 5)]
    effect = estimate_post_only_difference(frame, outcome="y", treated="treated", cluster="unit")
    assert effect.estimate == pytest.approx(6.0 - 2.0)
    assert effect.estimator == "post_only_difference"
    assert "no baseline" in effect.specification


def test_with_one_unit_per_respondent_the_error_is_statsmodels_hc1() -> None:
    frame = _frame(3)
    effect = estimate_post_only_difference(
        frame, outcome="y", treated="treated", cluster="unit", covariates=["age"]
    )
    fit = sm.OLS(frame["y"], sm.add_constant(frame[["treated", "age"]])).fit(cov_type="HC1")
    assert effect.estimate == pytest.approx(fit.params["treated"], rel=1e-10)
    assert effect.std_error == pytest.approx(fit.bse["treated"], rel=1e-10)


def test_the_interval_covers_a_planted_effect_about_95_percent_of_the_time() -> None:
    covered = 0
    for seed in range(200):
        effect = estimate_post_only_difference(
            _frame(seed), outcome="y", treated="treated", cluster="unit", covariates=["age"]
        )
        covered += effect.conf_low <= 0.5 <= effect.conf_high
    assert 0.91 <= covered / 200 <= 0.99


def test_an_empty_arm_is_a_design_error() -> None:
    frame = _frame(1)
    frame["treated"] = 1
    with pytest.raises(DesignError, match="estimate_post_only_difference"):
        estimate_post_only_difference(frame, outcome="y", treated="treated", cluster="unit")
