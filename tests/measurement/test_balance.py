"""Tests of the baseline balance table and the joint orthogonality test."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from measurement.balance import BALANCE_COLUMNS, baseline_balance, joint_orthogonality, wald_test
from measurement.errors import DesignError
from measurement.linear_model import fit_linear_model


def _baseline(seed: int, clusters: int = 30, imbalance: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), 12)})
    frame["stratum"] = frame["cluster"] // 6
    frame["treated"] = (rng.permutation(clusters) % 2)[frame["cluster"]].astype(float)
    shock = rng.normal(size=clusters)[frame["cluster"]]
    frame["age"] = 30 + 4 * shock + rng.normal(0, 6, len(frame)) + imbalance * frame["treated"]
    frame["relatives_abroad"] = (rng.uniform(size=len(frame)) < 0.3).astype(float)
    frame["trust_iom"] = rng.integers(1, 6, len(frame)).astype(float)
    return frame


def test_baseline_balance_matches_hand_means_and_the_normalized_difference_formula():
    frame = pd.DataFrame(
        {
            "cluster": [1, 1, 2, 2, 3, 3, 4, 4],
            "treated": [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0],
            "x": [1.0, 2.0, 3.0, np.nan, 4.0, 6.0, 5.0, 9.0],
        }
    )
    row = baseline_balance(frame, covariates=["x"], treated="treated", cluster="cluster").iloc[0]
    assert (row["n_comparison"], row["n_treated"]) == (3, 4)
    assert row["mean_comparison"] == pytest.approx(2.0)
    assert row["mean_treated"] == pytest.approx(6.0)
    assert row["std_dev_comparison"] == pytest.approx(1.0)
    assert row["std_dev_treated"] == pytest.approx(np.sqrt(14 / 3))
    assert row["difference"] == pytest.approx(4.0)
    # iebaltab's nrmd: diff / sqrt((var_1 + var_0) / 2)
    assert row["normalized_difference"] == pytest.approx(4.0 / np.sqrt((1 + 14 / 3) / 2))
    assert row["estimate"] == pytest.approx(4.0)
    assert row["n_obs"] == 7 and row["n_clusters"] == 4


def test_baseline_balance_agrees_with_statsmodels_cluster_regression_with_strata_dummies():
    frame = _baseline(1)
    table = baseline_balance(
        frame,
        covariates=["age", "trust_iom"],
        treated="treated",
        cluster="cluster",
        stratum="stratum",
    )
    assert list(table.columns) == BALANCE_COLUMNS
    for row in table.itertuples():
        reference = smf.ols(f"{row.covariate} ~ treated + C(stratum)", data=frame).fit(
            cov_type="cluster", cov_kwds={"groups": frame["cluster"]}, use_t=True
        )
        assert row.estimate == pytest.approx(reference.params["treated"], rel=1e-9)
        assert row.std_error == pytest.approx(reference.bse["treated"], rel=1e-6)
        # statsmodels uses t(G-1) for clustered errors when use_t=True
        assert row.p_value == pytest.approx(reference.pvalues["treated"], rel=1e-6)


def test_baseline_balance_flags_a_planted_imbalance_and_not_a_balanced_covariate():
    frame = _baseline(2, clusters=60, imbalance=6.0)
    table = baseline_balance(
        frame, covariates=["age", "trust_iom"], treated="treated", cluster="cluster"
    ).set_index("covariate")
    assert table.loc["age", "p_value"] < 0.01
    assert abs(table.loc["age", "estimate"] - 6.0) < 3 * table.loc["age", "std_error"]
    assert table.loc["age", "normalized_difference"] > 0.5  # 6 / sqrt(16 + 36) = 0.83
    assert abs(table.loc["trust_iom", "normalized_difference"]) < 0.15


def test_joint_orthogonality_agrees_with_the_statsmodels_cluster_f_test():
    frame = _baseline(3)
    covariates = ["age", "relatives_abroad", "trust_iom"]
    result = joint_orthogonality(
        frame, covariates=covariates, treated="treated", cluster="cluster", stratum="stratum"
    )
    reference = smf.ols(
        "treated ~ age + relatives_abroad + trust_iom + C(stratum)", data=frame
    ).fit(cov_type="cluster", cov_kwds={"groups": frame["cluster"]}, use_t=True)
    f_test = reference.f_test("age = 0, relatives_abroad = 0, trust_iom = 0")
    assert result.statistic == pytest.approx(float(np.squeeze(f_test.fvalue)), rel=1e-6)
    assert (result.df_numerator, result.df_denominator) == (3, 29)
    assert result.df_denominator == int(f_test.df_denom)
    assert result.p_value == pytest.approx(float(f_test.pvalue), rel=1e-6)
    assert result.tidy()["terms"].iloc[0] == "age, relatives_abroad, trust_iom"


def test_joint_orthogonality_rejects_at_about_the_nominal_rate_under_randomization():
    rejections = [
        joint_orthogonality(
            _baseline(seed, clusters=40),
            covariates=["age", "relatives_abroad", "trust_iom"],
            treated="treated",
            cluster="cluster",
        ).p_value
        < 0.05
        for seed in range(200)
    ]
    assert 0.01 <= np.mean(rejections) <= 0.10


def test_wald_test_of_one_term_is_the_square_of_its_t_statistic():
    frame = _baseline(4)
    fit = fit_linear_model(frame, outcome="age", regressors=["treated"], cluster="cluster")
    result = wald_test(fit, ["treated"])
    assert result.statistic == pytest.approx(fit.term("treated")["statistic"] ** 2)
    assert result.p_value == pytest.approx(fit.term("treated")["p_value"])


def test_wald_test_rejects_unknown_terms_and_other_objects():
    fit = fit_linear_model(_baseline(4), outcome="age", regressors=["treated"], cluster="cluster")
    with pytest.raises(ValueError, match=r"terms \['sex'\] are not coefficients"):
        wald_test(fit, ["sex"])
    with pytest.raises(TypeError, match="fit must be a LinearFit"):
        wald_test("fit", ["treated"])  # type: ignore[arg-type]


def test_joint_orthogonality_rejects_as_many_covariates_as_clusters():
    frame = _baseline(5, clusters=4)
    rng = np.random.default_rng(0)
    for k in range(4):
        frame[f"z{k}"] = rng.normal(size=len(frame))
    with pytest.raises(DesignError, match="4 covariates cannot be tested jointly with 4 clusters"):
        joint_orthogonality(
            frame, covariates=[f"z{k}" for k in range(4)], treated="treated", cluster="cluster"
        )


def test_baseline_balance_rejects_a_treated_column_that_is_not_zero_one():
    frame = _baseline(6)
    frame["treated"] = frame["treated"] + 1
    with pytest.raises(ValueError, match=r"must hold 0 \(comparison\) and 1 \(campaign\)"):
        baseline_balance(frame, covariates=["age"], treated="treated", cluster="cluster")


def test_baseline_balance_rejects_a_single_arm():
    frame = _baseline(6)
    frame["treated"] = 1.0
    with pytest.raises(DesignError, match="balance needs both arms"):
        baseline_balance(frame, covariates=["age"], treated="treated", cluster="cluster")


def test_baseline_balance_rejects_an_arm_without_answers_to_a_covariate():
    frame = _baseline(6)
    frame.loc[frame["treated"] == 1, "age"] = np.nan
    with pytest.raises(DesignError, match="no row of the treated arm answers 'age'"):
        baseline_balance(frame, covariates=["age"], treated="treated", cluster="cluster")


def test_baseline_balance_rejects_one_cluster():
    frame = _baseline(6)
    frame["village"] = 1
    with pytest.raises(DesignError, match="at least two clusters"):
        baseline_balance(frame, covariates=["age"], treated="treated", cluster="village")


def test_joint_orthogonality_with_cr2_is_the_htz_test() -> None:
    rng = np.random.default_rng(21)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(14), 12)})
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    frame["age"] = rng.normal(30, 8, size=len(frame))
    frame["size"] = rng.poisson(5, size=len(frame)).astype(float)
    result = joint_orthogonality(
        frame, covariates=["age", "size"], treated="treated", cluster="cluster", vcov="CR2"
    )
    fit = fit_linear_model(
        frame, outcome="treated", regressors=["age", "size"], cluster="cluster", vcov="CR2"
    )
    direct = wald_test(fit, ["age", "size"])
    assert "HTZ" in result.method
    assert result.statistic == pytest.approx(direct.statistic)
    assert 0 < result.df_denominator < 13
