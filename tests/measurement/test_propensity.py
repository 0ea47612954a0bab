"""Propensity weights, weighted balance and exposure effects: by hand, simulated, vs statsmodels."""

from __future__ import annotations

import doctest
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.exceptions import ConvergenceWarning

import measurement.propensity as propensity_module
from measurement.errors import DesignError, FewClustersWarning
from measurement.propensity import (
    OVERLAP_COLUMNS,
    WEIGHTED_BALANCE_COLUMNS,
    PoorOverlapWarning,
    estimate_exposure_effect,
    estimate_propensity,
    weighted_balance,
)

COVARIATES = ["age", "education", "relatives_abroad"]


def simulate_recall(
    seed: int, *, clusters: int = 40, per_cluster: int = 25, effect: float = 0.3
) -> pd.DataFrame:
    """Self-selected exposure: older, more educated people with relatives abroad recall the
    campaign more often and also trust the source more (confounding); the outcome has an
    interaction the linear outcome model leaves out, so the weights must do the work."""
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(clusters), per_cluster)
    n = cluster.size
    community = rng.normal(scale=0.5, size=clusters)[cluster]
    age = rng.normal(30, 8, size=n)
    education = rng.integers(0, 4, size=n).astype(float)
    relatives = (rng.random(n) < 0.4).astype(float)
    logit = -0.4 + 0.05 * (age - 30) + 0.4 * (education - 1.5) + 0.9 * relatives
    exposure = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    outcome = (
        effect * exposure
        + 0.04 * age
        + 0.3 * education
        + 0.8 * relatives
        + 0.4 * education * relatives
        + community
        + rng.normal(size=n)
    )
    return pd.DataFrame(
        {
            "cluster": cluster,
            "stratum": cluster % 4,
            "age": age,
            "education": education,
            "relatives_abroad": relatives,
            "exposure_recall": exposure,
            "baseline_trust": outcome - effect * exposure + rng.normal(size=n),
            "trust_iom": outcome,
        }
    )


def tiny_frame() -> pd.DataFrame:
    """x = 0: 1 of 4 exposed (e = 1/4); x = 1: 3 of 4 exposed (e = 3/4)."""
    return pd.DataFrame(
        {
            "exposure_recall": [1, 0, 0, 0, 1, 1, 1, 0],
            "relatives_abroad": [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0],
        }
    )


# A tiny case by hand -------------------------------------------------------------------------


def test_estimate_propensity_reproduces_hand_computed_scores_and_weights() -> None:
    frame = tiny_frame()
    # A single binary covariate saturates the logistic model: e(x) is the exposed share at x.
    scores = np.array([0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])
    raw = estimate_propensity(
        frame, exposure="exposure_recall", covariates=["relatives_abroad"], stabilize=False
    )
    np.testing.assert_allclose(raw.scores, scores, atol=1e-9)
    # ATE: 1/e for the exposed, 1/(1-e) for the unexposed.
    np.testing.assert_allclose(raw.weights, [4, 4 / 3, 4 / 3, 4 / 3, 4 / 3, 4 / 3, 4 / 3, 4])
    np.testing.assert_allclose(raw.coefficients, [np.log(1 / 3), np.log(9)], atol=1e-8)
    # Stabilized with P(T = 1) = P(T = 0) = 1/2: half of the above.
    stable = estimate_propensity(frame, exposure="exposure_recall", covariates=["relatives_abroad"])
    np.testing.assert_allclose(stable.weights, raw.weights / 2)
    # ATT: 1 for the exposed, e/(1-e) for the unexposed (1/3 at x = 0, 3 at x = 1).
    with pytest.warns(PoorOverlapWarning, match="effective sample of 1.7 of 4 unexposed rows"):
        att = estimate_propensity(
            frame,
            exposure="exposure_recall",
            covariates=["relatives_abroad"],
            estimand="att",
            stabilize=False,
        )
    np.testing.assert_allclose(att.weights, [1, 1 / 3, 1 / 3, 1 / 3, 1, 1, 1, 3])
    # Kish: exposed weights (4, 4/3, 4/3, 4/3) give 8**2 / (16 + 3 * 16/9) = 3.
    assert raw.effective_sample_size_exposed == pytest.approx(3.0)
    assert raw.effective_sample_size_unexposed == pytest.approx(3.0)
    assert (raw.support_low, raw.support_high) == pytest.approx((0.25, 0.75))
    assert raw.share_outside_support == 0.0
    assert raw.n_clipped_low == raw.n_clipped_high == 0
    overlap = raw.tidy()
    assert list(overlap.columns) == OVERLAP_COLUMNS
    assert overlap["n_obs"].tolist() == [4, 4]
    assert overlap["weight_sum"].tolist() == pytest.approx([8.0, 8.0])


def test_weighted_balance_reproduces_hand_computed_standardized_differences() -> None:
    frame = tiny_frame()
    frame["weight"] = [4, 4 / 3, 4 / 3, 4 / 3, 4 / 3, 4 / 3, 4 / 3, 4]
    table = weighted_balance(
        frame, exposure="exposure_recall", covariates=["relatives_abroad"], weight="weight"
    )
    assert list(table.columns) == WEIGHTED_BALANCE_COLUMNS
    row = table.iloc[0]
    # Means 3/4 and 1/4; each group's sample variance (ddof 1) is 0.75 / 3 = 0.25.
    assert row["mean_exposed"] == pytest.approx(0.75)
    assert row["mean_unexposed"] == pytest.approx(0.25)
    assert row["std_dev_pooled"] == pytest.approx(0.5)
    assert row["standardized_difference"] == pytest.approx(1.0)
    # Weighted means: (3 * 4/3) / 8 = 1/2 and 4 / 8 = 1/2, so the weighted difference is 0.
    assert row["weighted_mean_exposed"] == pytest.approx(0.5)
    assert row["weighted_mean_unexposed"] == pytest.approx(0.5)
    assert row["weighted_standardized_difference"] == pytest.approx(0.0, abs=1e-12)
    assert row["effective_sample_size_exposed"] == pytest.approx(3.0)
    assert row["balanced"]


def test_estimate_propensity_clips_scores_and_counts_them() -> None:
    frame = tiny_frame()
    with pytest.warns(
        PoorOverlapWarning, match=r"8 of 8 propensity scores lie outside \[0.3, 0.7\]"
    ):
        model = estimate_propensity(
            frame,
            exposure="exposure_recall",
            covariates=["relatives_abroad"],
            trim=(0.3, 0.7),
            stabilize=False,
        )
    assert (model.n_clipped_low, model.n_clipped_high) == (4, 4)
    # Scores are reported as fitted; weights use 0.3 and 0.7.
    assert model.scores.iloc[0] == pytest.approx(0.25)
    assert model.weights.iloc[0] == pytest.approx(1 / 0.3)
    assert model.overlap["n_clipped"].tolist() == [4, 4]


def test_estimate_propensity_leaves_rows_with_a_missing_value_out() -> None:
    frame = simulate_recall(3)
    frame.loc[0, "age"] = np.nan
    frame.loc[1, "cluster"] = None
    model = estimate_propensity(
        frame, exposure="exposure_recall", covariates=COVARIATES, cluster="cluster"
    )
    assert model.n_obs == len(frame) - 2
    assert model.n_clusters == 40
    assert np.isnan(model.weights.iloc[:2]).all()
    assert model.weights.iloc[2:].notna().all()


# Agreement with an independent implementation --------------------------------------------------


def test_estimate_propensity_scores_agree_with_statsmodels_glm_binomial() -> None:
    frame = simulate_recall(11)
    model = estimate_propensity(frame, exposure="exposure_recall", covariates=COVARIATES)
    reference = sm.GLM(
        frame["exposure_recall"],
        sm.add_constant(frame[COVARIATES]),
        family=sm.families.Binomial(),
    ).fit(tol=1e-12)
    np.testing.assert_allclose(model.scores, reference.fittedvalues, rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        model.coefficients.to_numpy(), reference.params.to_numpy(), rtol=1e-6
    )


def test_estimate_exposure_effect_standard_error_agrees_with_statsmodels_wls() -> None:
    frame = simulate_recall(12)
    effect = estimate_exposure_effect(
        frame,
        outcome="trust_iom",
        exposure="exposure_recall",
        covariates=COVARIATES,
        cluster="cluster",
        stratum="stratum",
        baseline="baseline_trust",
    )
    model = estimate_propensity(
        frame, exposure="exposure_recall", covariates=[*COVARIATES, "baseline_trust"]
    )
    design = pd.concat(
        [
            frame[["exposure_recall", "baseline_trust", *COVARIATES]],
            pd.get_dummies(frame["stratum"], prefix="stratum", drop_first=True, dtype=float),
        ],
        axis=1,
    )
    reference = sm.WLS(frame["trust_iom"], sm.add_constant(design), weights=model.weights).fit(
        cov_type="cluster", cov_kwds={"groups": frame["cluster"]}
    )
    assert effect.estimate == pytest.approx(reference.params["exposure_recall"], rel=1e-6)
    assert effect.std_error == pytest.approx(reference.bse["exposure_recall"], rel=1e-6)
    assert effect.n_obs == len(frame)
    assert effect.df_resid == 39


# Recovery of a planted effect ------------------------------------------------------------------


def test_estimate_exposure_effect_removes_the_bias_of_the_naive_comparison() -> None:
    frame = simulate_recall(21, clusters=60, per_cluster=50)
    exposed = frame["exposure_recall"] == 1
    naive = frame.loc[exposed, "trust_iom"].mean() - frame.loc[~exposed, "trust_iom"].mean()
    effect = estimate_exposure_effect(
        frame,
        outcome="trust_iom",
        exposure="exposure_recall",
        covariates=COVARIATES,
        cluster="cluster",
    )
    assert naive > 0.7  # the planted effect is 0.3; self-selection more than doubles it
    assert effect.conf_low < 0.3 < effect.conf_high
    model = estimate_propensity(frame, exposure="exposure_recall", covariates=COVARIATES)
    table = weighted_balance(
        frame.assign(weight=model.weights),
        exposure="exposure_recall",
        covariates=COVARIATES,
        weight="weight",
    )
    assert (table["standardized_difference"].abs() > 0.1).all()
    assert table["balanced"].all()


@pytest.mark.parametrize("estimand", ["ate", "att"])
def test_estimate_exposure_effect_intervals_cover_a_planted_effect_about_95_percent(
    estimand: str,
) -> None:
    seeds = range(200)
    naive, estimates, covered = [], [], 0
    for seed in seeds:
        frame = simulate_recall(seed)
        exposed = frame["exposure_recall"] == 1
        naive.append(
            frame.loc[exposed, "trust_iom"].mean() - frame.loc[~exposed, "trust_iom"].mean()
        )
        with warnings.catch_warnings():
            # An occasional extreme score is part of the design being simulated.
            warnings.simplefilter("ignore", PoorOverlapWarning)
            effect = estimate_exposure_effect(
                frame,
                outcome="trust_iom",
                exposure="exposure_recall",
                covariates=COVARIATES,
                cluster="cluster",
                estimand=estimand,  # type: ignore[arg-type]
            )
        estimates.append(effect.estimate)
        covered += effect.conf_low < 0.3 < effect.conf_high
    assert np.mean(naive) - 0.3 > 0.5
    assert abs(np.mean(estimates) - 0.3) < 0.02
    assert 0.91 <= covered / len(seeds) <= 0.99


# Words, notes and warnings ---------------------------------------------------------------------


def test_estimate_exposure_effect_says_it_is_not_a_randomised_comparison() -> None:
    effect = estimate_exposure_effect(
        simulate_recall(5),
        outcome="trust_iom",
        exposure="exposure_recall",
        covariates=COVARIATES,
        cluster="cluster",
        estimand="att",
    )
    assert effect.estimator == "ipw"
    assert effect.term == "exposure_recall"
    assert "weighted for self-selected exposure; not a randomised comparison" in (
        effect.specification
    )
    assert "ATT" in effect.specification
    assert any("treated as fixed" in note and "Reifeis" in note for note in effect.notes)
    assert effect.warnings == ()
    assert effect.tidy().shape == (1, 20)


def test_estimate_exposure_effect_note_calls_fixed_weights_conservative_for_the_ate() -> None:
    effect = estimate_exposure_effect(
        simulate_recall(6),
        outcome="trust_iom",
        exposure="exposure_recall",
        covariates=COVARIATES,
        cluster="cluster",
    )
    assert any("conservative" in note and "Lunceford" in note for note in effect.notes)
    frame = simulate_recall(6)
    unexposed = frame["exposure_recall"] == 0
    model = estimate_propensity(frame, exposure="exposure_recall", covariates=COVARIATES)
    assert effect.comparison_mean == pytest.approx(
        np.average(frame.loc[unexposed, "trust_iom"], weights=model.weights[unexposed])
    )


def strongly_confounded(seed: int) -> pd.DataFrame:
    frame = simulate_recall(seed)
    rng = np.random.default_rng(seed)
    chance = 1 / (1 + np.exp(-(0.4 * (frame["age"] - 30))))
    frame["exposure_recall"] = (rng.random(len(frame)) < chance).astype(float)
    return frame


def test_estimate_propensity_warns_about_poor_overlap() -> None:
    with pytest.warns(PoorOverlapWarning, match="propensity scores lie outside"):
        model = estimate_propensity(
            strongly_confounded(8), exposure="exposure_recall", covariates=COVARIATES
        )
    assert model.n_clipped_low + model.n_clipped_high > 0
    assert model.warnings


def test_estimate_exposure_effect_warns_about_poor_overlap_and_records_it() -> None:
    with pytest.warns(PoorOverlapWarning, match="effective sample"):
        effect = estimate_exposure_effect(
            strongly_confounded(9),
            outcome="trust_iom",
            exposure="exposure_recall",
            covariates=COVARIATES,
            cluster="cluster",
        )
    assert any(caveat.startswith("poor overlap") for caveat in effect.warnings)


def test_estimate_exposure_effect_warns_about_few_clusters() -> None:
    with pytest.warns(FewClustersWarning, match="only 10 clusters"):
        effect = estimate_exposure_effect(
            simulate_recall(10, clusters=10, per_cluster=80),
            outcome="trust_iom",
            exposure="exposure_recall",
            covariates=COVARIATES,
            cluster="cluster",
        )
    assert "few clusters (10)" in effect.warnings


def test_the_docstring_examples_of_the_propensity_module_run_as_written() -> None:
    result = doctest.testmod(propensity_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# Errors ----------------------------------------------------------------------------------------


def test_estimate_propensity_rejects_an_exposure_without_variation() -> None:
    frame = simulate_recall(1).assign(exposure_recall=1.0)
    with pytest.raises(DesignError, match="exposure 'exposure_recall' does not vary; found 1000"):
        estimate_propensity(frame, exposure="exposure_recall", covariates=COVARIATES)


def test_estimate_exposure_effect_rejects_an_exposure_without_variation() -> None:
    frame = simulate_recall(1).assign(exposure_recall=0.0)
    with pytest.raises(DesignError, match=r"estimate_exposure_effect: exposure .* does not vary"):
        estimate_exposure_effect(
            frame,
            outcome="trust_iom",
            exposure="exposure_recall",
            covariates=COVARIATES,
            cluster="cluster",
        )


def test_estimate_propensity_rejects_an_exposure_not_coded_0_1() -> None:
    frame = simulate_recall(1)
    frame.loc[0, "exposure_recall"] = 2.0
    with pytest.raises(ValueError, match=r"must hold 0 \(unexposed\) and 1 \(exposed\); found"):
        estimate_propensity(frame, exposure="exposure_recall", covariates=COVARIATES)


def test_estimate_propensity_rejects_an_absent_covariate() -> None:
    with pytest.raises(ValueError, match=r"columns \['income'\] are not in responses"):
        estimate_propensity(
            simulate_recall(1), exposure="exposure_recall", covariates=["age", "income"]
        )


def test_estimate_propensity_rejects_no_covariates() -> None:
    with pytest.raises(ValueError, match="covariates needs at least 1 name"):
        estimate_propensity(simulate_recall(1), exposure="exposure_recall", covariates=[])


def test_estimate_propensity_rejects_a_covariate_that_is_always_missing() -> None:
    frame = simulate_recall(1).assign(age=np.nan)
    with pytest.raises(DesignError, match=r"found 0 complete rows of 1000. Drop the covariates"):
        estimate_propensity(frame, exposure="exposure_recall", covariates=COVARIATES)


def test_estimate_exposure_effect_rejects_a_covariate_that_is_always_missing() -> None:
    frame = simulate_recall(1).assign(education=np.nan)
    with pytest.raises(DesignError, match="estimate_exposure_effect: no row has all of"):
        estimate_exposure_effect(
            frame,
            outcome="trust_iom",
            exposure="exposure_recall",
            covariates=COVARIATES,
            cluster="cluster",
        )


def test_estimate_propensity_rejects_a_text_covariate() -> None:
    frame = simulate_recall(1).assign(education="primary")
    with pytest.raises(TypeError, match="column 'education' must be numeric"):
        estimate_propensity(frame, exposure="exposure_recall", covariates=COVARIATES)


def test_estimate_propensity_rejects_a_covariate_without_variation() -> None:
    frame = simulate_recall(1).assign(household_size=4.0)
    with pytest.raises(DesignError, match=r"covariates \['household_size'\] do not vary"):
        estimate_propensity(
            frame, exposure="exposure_recall", covariates=[*COVARIATES, "household_size"]
        )


def test_estimate_propensity_rejects_collinear_covariates() -> None:
    frame = simulate_recall(1)
    frame["age_in_months"] = frame["age"] * 12
    with pytest.raises(DesignError, match=r"are collinear .* Drop a redundant covariate"):
        estimate_propensity(
            frame, exposure="exposure_recall", covariates=[*COVARIATES, "age_in_months"]
        )


def test_estimate_propensity_rejects_perfect_separation() -> None:
    frame = simulate_recall(1)
    frame["exposure_recall"] = (frame["age"] > 30).astype(float)
    with pytest.raises(
        DesignError, match=r"perfectly predicted .* \(separation\); covariates \['age'\] alone"
    ):
        estimate_propensity(frame, exposure="exposure_recall", covariates=COVARIATES)


def test_estimate_propensity_rejects_separation_by_a_combination_of_covariates() -> None:
    frame = simulate_recall(1)
    frame["exposure_recall"] = (frame["age"] + 5 * frame["education"] > 37).astype(float)
    with pytest.raises(DesignError, match=r"\(separation\); \d+ rows get a score within 1e-10"):
        estimate_propensity(frame, exposure="exposure_recall", covariates=COVARIATES)


def test_estimate_propensity_reports_a_model_that_does_not_converge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = propensity_module.LogisticRegression

    class Stubborn(original):  # type: ignore[misc, valid-type]
        def fit(self, *args: object, **kwargs: object) -> Stubborn:
            result = super().fit(*args, **kwargs)
            warnings.warn("lbfgs failed to converge", ConvergenceWarning, stacklevel=2)
            return result

    monkeypatch.setattr(propensity_module, "LogisticRegression", Stubborn)
    with pytest.raises(DesignError, match="did not converge; scikit-learn said 'lbfgs failed"):
        estimate_propensity(simulate_recall(1), exposure="exposure_recall", covariates=COVARIATES)


@pytest.mark.parametrize(
    ("trim", "error", "message"),
    [
        ((0.9, 0.1), ValueError, r"trim must satisfy 0 <= low < high <= 1"),
        ((0.0, 1.5), ValueError, r"trim must satisfy 0 <= low < high <= 1"),
        (0.05, TypeError, r"trim must be a pair of numbers or None; got 0.05"),
    ],
)
def test_estimate_propensity_rejects_bad_trim_bounds(
    trim: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        estimate_propensity(
            simulate_recall(1),
            exposure="exposure_recall",
            covariates=COVARIATES,
            trim=trim,  # type: ignore[arg-type]
        )


def test_estimate_propensity_rejects_an_unknown_estimand() -> None:
    with pytest.raises(ValueError, match="estimand must be 'ate' or 'att'; got 'atc'"):
        estimate_propensity(
            simulate_recall(1),
            exposure="exposure_recall",
            covariates=COVARIATES,
            estimand="atc",  # type: ignore[arg-type]
        )


def test_estimate_propensity_rejects_something_other_than_a_data_frame() -> None:
    with pytest.raises(TypeError, match="responses must be a pandas DataFrame; got dict"):
        estimate_propensity({}, exposure="exposure_recall", covariates=COVARIATES)  # type: ignore[arg-type]


def test_estimate_exposure_effect_rejects_a_confidence_outside_0_1() -> None:
    with pytest.raises(ValueError, match="confidence must lie strictly between 0 and 1"):
        estimate_exposure_effect(
            simulate_recall(1),
            outcome="trust_iom",
            exposure="exposure_recall",
            covariates=COVARIATES,
            cluster="cluster",
            confidence=95,
        )


def test_estimate_exposure_effect_rejects_a_single_cluster() -> None:
    frame = simulate_recall(1).assign(cluster=1)
    with pytest.raises(DesignError, match="needs at least two clusters"):
        estimate_exposure_effect(
            frame,
            outcome="trust_iom",
            exposure="exposure_recall",
            covariates=COVARIATES,
            cluster="cluster",
        )


def test_weighted_balance_rejects_negative_weights() -> None:
    frame = tiny_frame().assign(weight=[1, 1, 1, -1, 1, 1, 1, 1])
    with pytest.raises(ValueError, match=r"holds negative values in 1 rows; found \[-1.0\]"):
        weighted_balance(
            frame, exposure="exposure_recall", covariates=["relatives_abroad"], weight="weight"
        )


def test_weighted_balance_rejects_an_exposure_without_variation() -> None:
    frame = tiny_frame().assign(weight=[1.0, 0, 0, 0, 1, 1, 1, 0])
    with pytest.raises(DesignError, match="weighted_balance: exposure 'exposure_recall' does not"):
        weighted_balance(
            frame, exposure="exposure_recall", covariates=["relatives_abroad"], weight="weight"
        )


def test_weighted_balance_rejects_a_group_without_answers() -> None:
    frame = tiny_frame().assign(weight=1.0, age=[30.0, np.nan, np.nan, np.nan, 1, 2, 3, np.nan])
    with pytest.raises(DesignError, match="no weighted unexposed row answers 'age'"):
        weighted_balance(frame, exposure="exposure_recall", covariates=["age"], weight="weight")


# Design (survey) weights ---------------------------------------------------------------------


def test_design_weights_act_as_frequencies_in_the_score_model_and_the_weights() -> None:
    """Integer design weights give the same scores and effect as replicating the rows."""
    frame = simulate_recall(11, clusters=40, per_cluster=12)
    frame["design"] = np.random.default_rng(3).integers(1, 4, size=len(frame)).astype(float)
    replicated = frame.loc[frame.index.repeat(frame["design"].astype(int))].reset_index(drop=True)
    weighted = estimate_propensity(
        frame, exposure="exposure_recall", covariates=COVARIATES, weight="design"
    )
    copies = estimate_propensity(replicated, exposure="exposure_recall", covariates=COVARIATES)
    np.testing.assert_allclose(
        weighted.coefficients.to_numpy(), copies.coefficients.to_numpy(), rtol=1e-7
    )
    np.testing.assert_allclose(
        weighted.weights.to_numpy(),
        frame["design"].to_numpy()
        * copies.weights.to_numpy()[np.r_[0, np.cumsum(frame["design"].astype(int))[:-1]]],
        rtol=1e-7,
    )
    common = dict(
        outcome="trust_iom", exposure="exposure_recall", covariates=COVARIATES, cluster="cluster"
    )
    effect = estimate_exposure_effect(frame, **common, weight="design")
    expected = estimate_exposure_effect(replicated, **common)
    assert effect.estimate == pytest.approx(expected.estimate, rel=1e-7)
    assert "design-weighted by design" in effect.specification


def test_design_weighted_scores_agree_with_statsmodels_glm_with_frequency_weights() -> None:
    frame = simulate_recall(12, clusters=20)
    frame["design"] = np.random.default_rng(4).uniform(0.5, 3.0, size=len(frame))
    model = estimate_propensity(
        frame, exposure="exposure_recall", covariates=COVARIATES, weight="design", trim=None
    )
    reference = sm.GLM(
        frame["exposure_recall"],
        sm.add_constant(frame[COVARIATES]),
        family=sm.families.Binomial(),
        var_weights=frame["design"],
    ).fit(tol=1e-12)
    np.testing.assert_allclose(model.scores.to_numpy(), reference.fittedvalues, rtol=1e-6)


def test_other_libraries_warnings_reach_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.linear_model import LogisticRegression

    original = LogisticRegression.fit

    def noisy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        warnings.warn("a warning from the solver", RuntimeWarning, stacklevel=2)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", noisy)
    with pytest.warns(RuntimeWarning, match="a warning from the solver"):
        estimate_propensity(
            tiny_frame(), exposure="exposure_recall", covariates=["relatives_abroad"]
        )
