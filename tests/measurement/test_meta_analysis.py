"""Random-effects meta-analysis: a case by hand, statsmodels, planted effects, errors."""

from __future__ import annotations

import doctest
import importlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from measurement.errors import DesignError, FewStudiesWarning
from measurement.meta_analysis import (
    POOLED_COLUMNS,
    meta_analysis,
    meta_regression,
    moderator_matrix,
)
from measurement.meta_bias import egger_test, funnel_data
from measurement.meta_multilevel import multilevel_meta_analysis


def three_studies() -> pd.DataFrame:
    return pd.DataFrame({"estimate": [0.0, 2.0, 4.0], "std_error": [1.0, 1.0, 1.0]})


def test_meta_analysis_of_three_equal_precision_studies_matches_the_hand_calculation() -> None:
    # Equal v = 1: FE mean 2, Q = 4 + 0 + 4 = 8 on 2 df, trace(P) = 3 - 1 = 2, so
    # tau2_DL = (8 - 2) / 2 = 3; REML with equal v is the sample variance minus v = 4 - 1 = 3.
    # HKSJ: w = 1/4, scale = (8 / 4) / 2 = 1, SE = sqrt(1 / (3/4)); I^2 = 3 / (1 + 3).
    with pytest.warns(FewStudiesWarning, match="only 3 studies"):
        pooled = meta_analysis(three_studies())
    assert pooled.estimate == pytest.approx(2.0)
    assert pooled.tau2 == pytest.approx(3.0)
    assert pooled.q == pytest.approx(8.0)
    assert pooled.std_error == pytest.approx(math.sqrt(4 / 3))
    assert pooled.i_squared == pytest.approx(75.0)
    assert pooled.h_squared == pytest.approx(4.0)
    assert pooled.df == 2.0
    t = 4.302652729911275  # qt(0.975, 2)
    assert pooled.conf_high == pytest.approx(2 + t * math.sqrt(4 / 3))
    assert pooled.prediction_high == pytest.approx(2 + t * math.sqrt(4 / 3 + 3))
    assert pooled.fixed_std_error == pytest.approx(1 / math.sqrt(3))
    with pytest.warns(FewStudiesWarning):
        assert meta_analysis(three_studies(), method="DL").tau2 == pytest.approx(3.0)
    assert list(pooled.tidy().columns) == POOLED_COLUMNS


def test_fixed_effect_and_dersimonian_laird_agree_with_statsmodels() -> None:
    rng = np.random.default_rng(3)
    se = rng.uniform(0.05, 0.3, size=12)
    y = rng.normal(0.2, 0.15, size=12) + rng.normal(0, se)
    frame = pd.DataFrame({"estimate": y, "std_error": se})
    reference = combine_effects(y, se**2, method_re="dl")
    dl = meta_analysis(frame, method="DL", test="z")
    assert dl.tau2 == pytest.approx(reference.tau2, abs=1e-12)
    assert dl.estimate == pytest.approx(reference.mean_effect_re, abs=1e-12)
    assert dl.std_error == pytest.approx(reference.sd_eff_w_re, abs=1e-12)
    assert dl.fixed_estimate == pytest.approx(reference.mean_effect_fe, abs=1e-12)
    assert dl.fixed_std_error == pytest.approx(reference.sd_eff_w_fe, abs=1e-12)
    assert dl.q == pytest.approx(reference.q, abs=1e-10)


def test_the_hksj_interval_covers_a_planted_mean_with_heterogeneity() -> None:
    rng = np.random.default_rng(20261201)
    covered, estimates, replications = 0, [], 300
    for _ in range(replications):
        se = rng.uniform(0.05, 0.25, size=10)
        y = 0.3 + rng.normal(0, 0.1, size=10) + rng.normal(0, se)
        pooled = meta_analysis(pd.DataFrame({"estimate": y, "std_error": se}))
        covered += pooled.conf_low <= 0.3 <= pooled.conf_high
        estimates.append((pooled.estimate, pooled.tau2))
    mean_estimate, mean_tau2 = np.mean(estimates, axis=0)
    # 300 replications: the 95% binomial band around 0.95 is about 0.925-0.975.
    assert 0.92 <= covered / replications <= 0.98
    assert mean_estimate == pytest.approx(0.3, abs=0.01)
    assert mean_tau2 == pytest.approx(0.01, abs=0.004)


def test_meta_regression_recovers_a_planted_moderator_effect() -> None:
    rng = np.random.default_rng(7)
    k = 40
    region = np.where(np.arange(k) % 2 == 0, "north", "south")
    se = rng.uniform(0.05, 0.15, size=k)
    y = 0.1 + 0.3 * (region == "south") + rng.normal(0, 0.05, size=k) + rng.normal(0, se)
    fit = meta_regression(
        pd.DataFrame({"estimate": y, "std_error": se, "region": region}), moderators=["region"]
    )
    slope = fit.tidy().set_index("term").loc["region[south]"]
    assert slope["conf_low"] < 0.3 < slope["conf_high"]
    assert slope["p_value"] < 0.001
    assert fit.qm_df == 1


def test_multilevel_pooling_of_one_estimate_per_study_equals_the_two_level_model() -> None:
    rng = np.random.default_rng(11)
    se = rng.uniform(0.05, 0.2, size=15)
    frame = pd.DataFrame(
        {
            "study": [f"s{i}" for i in range(15)],
            "estimate": 0.2 + rng.normal(0, 0.1, size=15) + rng.normal(0, se),
            "std_error": se,
        }
    )
    two_level = meta_analysis(frame, test="z")
    three_level = multilevel_meta_analysis(frame)
    # With one estimate per study only the sum of the two components is identified.
    total = three_level.sigma2_study + three_level.sigma2_estimate
    assert total == pytest.approx(two_level.tau2, abs=1e-7)
    assert three_level.coefficients["estimate"].iloc[0] == pytest.approx(
        two_level.estimate, abs=1e-7
    )


def test_multilevel_pooling_counts_studies_not_estimates() -> None:
    frame = pd.DataFrame(
        {
            "study": ["a", "a", "a", "b", "c", "d", "e", "e"],
            "estimate": [0.5, 0.55, 0.6, 0.1, 0.2, 0.15, 0.3, 0.25],
            "std_error": [0.05] * 8,
        }
    )
    fit = multilevel_meta_analysis(frame)
    assert (fit.n_studies, fit.n_estimates) == (5, 8)
    assert fit.sigma2_study > fit.sigma2_estimate
    assert set(fit.tidy().columns) >= {"sigma2_study", "tau2", "prediction_low"}


def test_eggers_test_detects_planted_small_study_effects() -> None:
    rng = np.random.default_rng(5)
    se = rng.uniform(0.05, 0.5, size=30)
    y = 0.1 + 1.5 * se + rng.normal(0, se)
    frame = pd.DataFrame({"estimate": y, "std_error": se})
    assert egger_test(frame).p_value < 0.01
    assert egger_test(frame, model="lm").limit_estimate == pytest.approx(0.1, abs=0.15)


def test_egger_warns_below_ten_studies_and_refuses_below_three() -> None:
    with pytest.warns(FewStudiesWarning, match="little power"):
        egger_test(
            pd.DataFrame({"estimate": [0.1, 0.3, 0.2, 0.4], "std_error": [0.1, 0.2, 0.1, 0.3]})
        )
    with pytest.raises(DesignError, match="at least 3 studies"):
        egger_test(pd.DataFrame({"estimate": [0.1, 0.3], "std_error": [0.1, 0.2]}))
    with pytest.raises(ValueError, match="model 'probit' is unknown"):
        egger_test(three_studies(), model="probit")  # type: ignore[arg-type]


def test_funnel_data_sorts_by_precision_and_centres_on_the_pooled_estimate() -> None:
    points = funnel_data(
        pd.DataFrame({"estimate": [0.3, 0.1], "std_error": [0.2, 0.1]}), pooled=0.2
    )
    assert list(points["std_error"]) == [0.1, 0.2]
    assert points["expected_low"].iloc[0] == pytest.approx(0.2 - 1.959963985 * 0.1)


def test_meta_analysis_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        meta_analysis([0.1, 0.2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method 'ML' is unknown"):
        meta_analysis(three_studies(), method="ML")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="test 't' is unknown"):
        meta_analysis(three_studies(), test="t")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"columns \['se'\] are not in effects"):
        meta_analysis(three_studies(), std_error="se")
    with pytest.raises(ValueError, match="not positive"):
        meta_analysis(pd.DataFrame({"estimate": [0.1, 0.2], "std_error": [0.1, 0.0]}))
    with pytest.raises(DesignError, match="at least 2 estimates"):
        meta_analysis(pd.DataFrame({"estimate": [0.1], "std_error": [0.1]}))


def test_meta_regression_rejects_unidentified_models() -> None:
    frame = three_studies().assign(region=["a", "b", "c"], constant=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewStudiesWarning)
        with pytest.raises(DesignError, match="cannot identify 3 coefficients"):
            meta_regression(frame, moderators=["region"])
        with pytest.raises(DesignError, match="collinear"):
            meta_regression(frame, moderators=["constant"])
    with pytest.raises(ValueError, match="non-empty list"):
        meta_regression(frame, moderators=[])
    with pytest.raises(ValueError, match=r"moderators \['absent'\] are not columns"):
        moderator_matrix(frame, ["absent"])
    with pytest.raises(ValueError, match="missing in 1 row"):
        moderator_matrix(frame.assign(region=["a", None, "c"]), ["region"])


def test_multilevel_pooling_rejects_a_single_study() -> None:
    frame = three_studies().assign(study="only")
    with pytest.raises(DesignError, match="at least 2 studies"):
        multilevel_meta_analysis(frame)
    with pytest.raises(ValueError, match=r"columns \['trial'\]"):
        multilevel_meta_analysis(frame, study="trial")


@pytest.mark.parametrize(
    "name", ["measurement.meta_analysis", "measurement.meta_multilevel", "measurement.meta_bias"]
)
def test_docstring_examples_of_the_meta_analysis_modules_run_as_written(name: str) -> None:
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewStudiesWarning)  # the examples pool few studies
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
