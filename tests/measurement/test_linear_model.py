"""fit_linear_model: a tiny case by hand, conventions and every error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from measurement.errors import DesignError
from measurement.linear_model import fit_linear_model


def tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": [1.0, 2.0, 2.0, 4.0, 3.0, 6.0],
            "treated": [0.0, 0.0, 1.0, 1.0, 0.0, 1.0],
            "cluster": ["a", "a", "b", "b", "c", "c"],
        }
    )


def test_fit_linear_model_matches_a_hand_computed_cr1_case() -> None:
    # OLS of y on [1, d]: control mean (1 + 2 + 3) / 3 = 2, treated mean (2 + 4 + 6) / 3 = 4.
    # Residuals: -1, 0, -2, 0, 1, 2. X'X = [[6, 3], [3, 3]], inverse = [[1/3, -1/3], [-1/3, 2/3]].
    # Cluster scores X_g'u_g: a = (-1, 0), b = (-2, -2), c = (3, 2).
    # Meat = sum s s' = [[1+4+9, 0+4+6], [., 0+4+4]] = [[14, 10], [10, 8]].
    # Bread * meat * bread for the slope: row (-1/3, 2/3): v = (-1/3)^2*14 + 2*(-1/3)(2/3)*10
    # + (2/3)^2*8 = 14/9 - 40/9 + 32/9 = 6/9. Factor G/(G-1) (N-1)/(N-K) = 3/2 * 5/4 = 15/8.
    fit = fit_linear_model(tiny(), outcome="outcome", regressors=["treated"], cluster="cluster")
    result = fit.term("treated")
    assert result["estimate"] == pytest.approx(2.0)
    assert result["std_error"] == pytest.approx(np.sqrt(15 / 8 * 6 / 9))
    assert fit.df_resid == 2
    assert result["p_value"] == pytest.approx(2 * stats.t.sf(2.0 / np.sqrt(15 / 8 * 6 / 9), 2))
    assert result["conf_high"] - result["estimate"] == pytest.approx(
        stats.t.ppf(0.975, 2) * np.sqrt(15 / 8 * 6 / 9)
    )


def test_fit_linear_model_drops_incomplete_rows_and_reports_n_obs() -> None:
    frame = tiny()
    frame.loc[6] = [np.nan, 1.0, "c"]
    fit = fit_linear_model(frame, outcome="outcome", regressors=["treated"], cluster="cluster")
    assert fit.n_obs == 6
    assert fit.n_clusters == 3


def test_fit_linear_model_without_cluster_gives_hc1_with_t_n_minus_k() -> None:
    fit = fit_linear_model(tiny(), outcome="outcome", regressors=["treated"], cluster=None)
    assert fit.df_resid == 4
    assert "HC1" in fit.variance


def test_fit_linear_model_tidy_has_the_broom_columns() -> None:
    fit = fit_linear_model(tiny(), outcome="outcome", regressors=["treated"], cluster="cluster")
    assert list(fit.tidy().columns) == [
        "outcome", "term", "estimate", "std_error", "statistic", "p_value",
        "conf_low", "conf_high", "n_obs", "n_clusters",
    ]  # fmt: skip


def test_fit_linear_model_rejects_a_single_cluster() -> None:
    frame = tiny().assign(cluster="a")
    with pytest.raises(DesignError, match="at least two clusters"):
        fit_linear_model(frame, outcome="outcome", regressors=["treated"], cluster="cluster")


def test_fit_linear_model_rejects_an_outcome_without_variation() -> None:
    frame = tiny().assign(outcome=3.0)
    with pytest.raises(DesignError, match="does not vary"):
        fit_linear_model(frame, outcome="outcome", regressors=["treated"], cluster="cluster")


def test_fit_linear_model_rejects_a_regressor_absorbed_by_the_fixed_effects() -> None:
    with pytest.raises(DesignError, match="'treated' does not vary within the fixed effects"):
        fit_linear_model(
            tiny().assign(block=lambda f: f["treated"]),
            outcome="outcome",
            regressors=["treated"],
            cluster="cluster",
            fixed_effects=["block"],
        )


def test_fit_linear_model_rejects_collinear_regressors() -> None:
    frame = tiny().assign(copy=lambda f: 2 * f["treated"])
    with pytest.raises(DesignError, match="collinear"):
        fit_linear_model(
            frame, outcome="outcome", regressors=["treated", "copy"], cluster="cluster"
        )


def test_fit_linear_model_rejects_a_missing_column() -> None:
    with pytest.raises(ValueError, match=r"columns \['nope'\] are not in responses"):
        fit_linear_model(tiny(), outcome="nope", regressors=["treated"], cluster="cluster")


def test_fit_linear_model_rejects_a_text_regressor() -> None:
    with pytest.raises(TypeError, match="must be numeric"):
        fit_linear_model(tiny(), outcome="outcome", regressors=["cluster"], cluster=None)


def test_fit_linear_model_rejects_a_non_dataframe() -> None:
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        fit_linear_model([1, 2], outcome="y", regressors=["x"], cluster=None)  # type: ignore[arg-type]


def test_fit_linear_model_rejects_a_model_of_fixed_effects_alone() -> None:
    with pytest.raises(ValueError, match="no regressor besides the fixed effects"):
        fit_linear_model(
            tiny(), outcome="outcome", regressors=[], cluster="cluster", fixed_effects=["cluster"]
        )


def test_fit_linear_model_rejects_negative_weights() -> None:
    with pytest.raises(ValueError, match="negative values"):
        fit_linear_model(
            tiny().assign(weight=-1.0),
            outcome="outcome",
            regressors=["treated"],
            cluster="cluster",
            weight="weight",
        )


def test_fit_linear_model_rejects_data_with_no_complete_row() -> None:
    with pytest.raises(DesignError, match="no row has all of"):
        fit_linear_model(
            tiny().assign(outcome=np.nan), outcome="outcome", regressors=["treated"], cluster=None
        )


def test_fit_linear_model_rejects_more_parameters_than_rows() -> None:
    frame = tiny().iloc[:3].assign(x=[1.0, 3.0, 2.0])
    with pytest.raises(DesignError, match="cannot identify"):
        fit_linear_model(frame, outcome="outcome", regressors=["x", "treated"], cluster="cluster")


def test_fit_linear_model_rejects_an_unknown_convention() -> None:
    with pytest.raises(ValueError, match="small_sample must be 'stata' or 'fixest'"):
        fit_linear_model(
            tiny(),
            outcome="outcome",
            regressors=["treated"],
            cluster="cluster",
            small_sample="spss",  # type: ignore[arg-type]
        )


def test_linear_fit_term_rejects_an_unknown_name_and_a_bad_confidence() -> None:
    fit = fit_linear_model(tiny(), outcome="outcome", regressors=["treated"], cluster="cluster")
    with pytest.raises(ValueError, match="no coefficient named 'arm'"):
        fit.term("arm")
    with pytest.raises(ValueError, match="confidence must lie strictly between 0 and 1"):
        fit.term("treated", confidence=95)


def test_two_fixed_effects_are_absorbed_by_alternating_projections() -> None:
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"a": rng.integers(0, 5, 300), "b": rng.integers(0, 7, 300), "x": rng.normal(size=300)}
    )
    frame["cluster"] = frame.index % 15
    frame["y"] = frame["x"] + frame["a"] - 0.5 * frame["b"] + rng.normal(size=300)
    fit = fit_linear_model(
        frame, outcome="y", regressors=["x"], cluster="cluster", fixed_effects=["a", "b"]
    )
    reference = smf.ols("y ~ x + C(a) + C(b)", frame).fit(
        cov_type="cluster", cov_kwds={"groups": frame["cluster"]}
    )
    assert fit.coefficients["x"] == pytest.approx(reference.params["x"], rel=1e-9)
    assert np.sqrt(fit.vcov.loc["x", "x"]) == pytest.approx(reference.bse["x"], rel=1e-6)


def test_cr2_of_a_mean_with_equal_clusters_is_the_variance_of_cluster_means_over_g() -> None:
    # Intercept only, G = 4 clusters of 3: H_gg = J/12 (all entries 1/12), so
    # A_g = (I - J/12)^(-1/2) scales the cluster's sum of residuals by (1 - 3/12)^(-1/2), and
    # V = sum_g (3 (m_g - m))^2 / (1 - 1/4) / 12^2 = sum_g (m_g - m)^2 / (G (G - 1)).
    # P = a^2 (I - J/G) is idempotent up to a^2, so the Satterthwaite df is G - 1 = 3.
    frame = pd.DataFrame(
        {
            "cluster": np.repeat(["a", "b", "c", "d"], 3),
            "outcome": [1.0, 2.0, 3.0, 2.0, 2.5, 4.0, 0.0, 1.0, 0.5, 5.0, 3.0, 4.0],
        }
    )
    means = frame.groupby("cluster")["outcome"].mean().to_numpy()
    fit = fit_linear_model(frame, outcome="outcome", regressors=[], cluster="cluster", vcov="CR2")
    result = fit.term("Intercept")
    assert result["std_error"] ** 2 == pytest.approx(means.var(ddof=1) / 4)
    assert result["df"] == pytest.approx(3.0)
    assert result["p_value"] == pytest.approx(
        2 * stats.t.sf(result["estimate"] / result["std_error"], 3)
    )


def test_hc2_of_a_mean_is_the_sample_variance_over_n() -> None:
    frame = pd.DataFrame({"outcome": [1.0, 4.0, 2.0, 8.0, 5.0]})
    fit = fit_linear_model(frame, outcome="outcome", regressors=[], vcov="HC2")
    assert fit.term("Intercept")["std_error"] ** 2 == pytest.approx(
        frame["outcome"].var(ddof=1) / 5
    )
    assert fit.df_resid == 4


def test_cr2_recovers_a_planted_effect_with_nominal_coverage() -> None:
    hits = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        frame = pd.DataFrame({"cluster": np.repeat(np.arange(12), 8)})
        frame["treated"] = (frame["cluster"] % 2).astype(float)
        shock = rng.normal(scale=0.7, size=12)[frame["cluster"]]
        frame["outcome"] = 0.5 * frame["treated"] + shock + rng.normal(size=len(frame))
        result = fit_linear_model(
            frame, outcome="outcome", regressors=["treated"], cluster="cluster", vcov="CR2"
        ).term("treated")
        hits += result["conf_low"] <= 0.5 <= result["conf_high"]
    # 200 studies: a 95% interval covers 190 on average; 180 is 2.3 binomial SDs below.
    assert hits >= 180


def test_fit_linear_model_judges_collinearity_on_a_scaled_design() -> None:
    # Ages of adults with their square and cube, and incomes in dollars: a well-posed design
    # whose raw cross-product has a condition number far above 1e12.
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"age": rng.uniform(18, 80, size=400).round()})
    frame["age2"] = frame["age"] ** 2
    frame["age3"] = frame["age"] ** 3
    frame["income"] = rng.lognormal(10, 1, size=400).round(2)
    frame["outcome"] = 0.02 * frame["age"] + 1e-5 * frame["income"] + rng.normal(size=400)
    regressors = ["age", "age2", "age3", "income"]
    raw = fit_linear_model(frame, outcome="outcome", regressors=regressors)
    rescaled = frame.assign(
        age=frame["age"] / 100, age2=frame["age2"] / 1e4, age3=frame["age3"] / 1e6,
        income=frame["income"] / 1e3,
    )  # fmt: skip
    scaled = fit_linear_model(rescaled, outcome="outcome", regressors=regressors)
    for name in regressors:
        assert raw.term(name)["statistic"] == pytest.approx(
            scaled.term(name)["statistic"], rel=1e-6
        )
        assert raw.term(name)["p_value"] == pytest.approx(scaled.term(name)["p_value"], rel=1e-6)


def test_fit_linear_model_still_refuses_collinear_regressors_whatever_their_units() -> None:
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"a": rng.normal(size=50) * 1e6, "b": rng.normal(size=50)})
    frame["c"] = 2 * frame["a"] - 3e6 * frame["b"]
    frame["outcome"] = rng.normal(size=50)
    with pytest.raises(DesignError, match="collinear"):
        fit_linear_model(frame, outcome="outcome", regressors=["a", "b", "c"])


def test_fit_linear_model_reports_r_squared_and_the_regression_standard_error() -> None:
    # y on [1, d] in tiny(): RSS = 1 + 0 + 4 + 0 + 1 + 4 = 10, TSS = sum (y - 3)^2 = 16,
    # N = 6, K = 2: R² = 0.375, adjusted 1 - 0.625 * 5 / 4, sigma = sqrt(10 / 4).
    fit = fit_linear_model(tiny(), outcome="outcome", regressors=["treated"], vcov="iid")
    assert fit.r_squared == pytest.approx(0.375)
    assert fit.adjusted_r_squared == pytest.approx(1 - 0.625 * 5 / 4)
    assert fit.residual_std_error == pytest.approx(np.sqrt(2.5))
    # iid: sigma^2 (X'X)^-1 for the slope is 2.5 * 2/3.
    assert fit.term("treated")["std_error"] == pytest.approx(np.sqrt(2.5 * 2 / 3))


def test_fit_linear_model_normal_reference_uses_z() -> None:
    fit = fit_linear_model(
        tiny(), outcome="outcome", regressors=["treated"], cluster="cluster", reference="normal"
    )
    result = fit.term("treated")
    assert result["p_value"] == pytest.approx(2 * stats.norm.sf(result["statistic"]))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"vcov": "HC3"}, "vcov must be one of"),
        ({"reference": "z"}, "reference must be 't' or 'normal'"),
        ({"vcov": "CR2", "cluster": None}, "needs cluster"),
        ({"vcov": "HC2", "cluster": "cluster"}, "ignores the clusters"),
    ],
)
def test_fit_linear_model_rejects_bad_variance_choices(
    arguments: dict[str, object], message: str
) -> None:
    options: dict[str, object] = {"cluster": "cluster"} | arguments
    with pytest.raises(ValueError, match=message):
        fit_linear_model(tiny(), outcome="outcome", regressors=["treated"], **options)  # type: ignore[arg-type]
