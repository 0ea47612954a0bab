"""Tests of q-values and step-down adjusted p-values."""

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from measurement.errors import DesignError
from measurement.multiple_testing import (
    FAMILY_ADJUSTED_COLUMNS,
    STEPDOWN_COLUMNS,
    adjust_within_families,
    benjamini_hochberg,
    romano_wolf_p_values,
    sharpened_q_values,
    stepdown_p_values,
    westfall_young_p_values,
)


def _stata_style_sharpened(p_values: np.ndarray) -> np.ndarray:
    """A line-by-line transliteration of Anderson's fdr_sharpened_qvalues.do (numpy)."""
    pval = np.asarray(p_values, dtype=float)
    totalpvals = int(np.sum(~np.isnan(pval)))
    original_sorting_order = np.arange(pval.size)
    order = np.argsort(pval, kind="stable")  # NaN sorts last, as Stata's missing
    pval, original_sorting_order = pval[order], original_sorting_order[order]
    rank = np.where(~np.isnan(pval), np.arange(1, pval.size + 1), np.nan)
    bky06_qval = np.where(~np.isnan(pval), 1.0, np.nan)
    qval = 1.0
    while qval > 1e-9:  # Stata's `while qval > 0` after 1000 subtractions of .001
        qval_adj = qval / (1 + qval)
        fdr_temp1 = qval_adj * rank / totalpvals
        reject_temp1 = (fdr_temp1 >= pval).astype(float)
        total_rejected1 = np.nanmax(reject_temp1 * rank)
        if total_rejected1 == totalpvals:
            reject_temp2 = (~np.isnan(pval)).astype(float)  # missing >= p is true in Stata
        else:
            qval_2st = qval_adj * (totalpvals / (totalpvals - total_rejected1))
            fdr_temp2 = qval_2st * rank / totalpvals
            reject_temp2 = (fdr_temp2 >= pval).astype(float)
        total_rejected2 = np.nanmax(reject_temp2 * rank)
        bky06_qval[rank <= total_rejected2] = round(qval, 3)
        qval = qval - 0.001
    return bky06_qval[np.argsort(original_sorting_order)]


def test_benjamini_hochberg_matches_a_hand_computation():
    # ordered p: .01 .03 .04 .20 with m = 4: m p / rank = .04 .06 .0533 .20
    q = benjamini_hochberg([0.04, 0.01, 0.20, 0.03])
    np.testing.assert_allclose(q, [0.16 / 3, 0.04, 0.20, 0.16 / 3])


def test_benjamini_hochberg_agrees_with_statsmodels_fdr_bh_and_skips_missing_values():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(size=30), rng.uniform(0, 0.01, size=10)])
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])
    with_missing = np.append(p, np.nan)
    q = benjamini_hochberg(with_missing)
    assert np.isnan(q[-1])
    np.testing.assert_allclose(q[:-1], multipletests(p, method="fdr_bh")[1])


def test_sharpened_q_values_match_a_hand_walk_through_the_two_stages():
    # m = 5. At q = .064: q' = .06015; stage 1 rejects ranks 1-4 (.04 <= 4 q'/5 = .0481),
    # so m0 = 1 and stage 2 runs at 5 q' = .3008 >= .3: all five are rejected.
    # At q = .063: q' = .05926; stage 1 still rejects 4, stage 2 at .2963 < .3 rejects 4.
    # At q = .006: q' = .005964; stage 1 rejects rank 1 (.001 <= .0011928), stage 2 at
    # q' 5/4 = .007455 rejects rank 1 only; at q = .005 nothing (.000995 < .001).
    q = sharpened_q_values([0.3, 0.04, 0.001, 0.02, 0.01])
    assert q[0] == pytest.approx(0.064)
    assert q[2] == pytest.approx(0.006)
    np.testing.assert_allclose(q, [0.064, 0.031, 0.006, 0.026, 0.021])


def test_sharpened_q_values_agree_with_a_transliteration_of_andersons_stata_code():
    rng = np.random.default_rng(8)
    for size in (3, 12, 40):
        p = np.round(np.concatenate([rng.uniform(size=size), rng.uniform(0, 0.02, size=size)]), 6)
        p[rng.integers(0, p.size)] = np.nan
        np.testing.assert_allclose(sharpened_q_values(p), _stata_style_sharpened(p))


def test_sharpened_q_values_reject_more_than_benjamini_hochberg_when_many_nulls_are_false():
    rng = np.random.default_rng(2)
    p = np.concatenate([rng.uniform(0, 0.004, size=60), rng.uniform(size=20)])
    q_bh = benjamini_hochberg(p)
    q_sharp = sharpened_q_values(p)
    assert (q_sharp <= 0.05).sum() > (q_bh <= 0.05).sum()
    # with every hypothesis null, almost nothing is rejected
    nulls = rng.uniform(size=80)
    assert (sharpened_q_values(nulls) <= 0.05).sum() <= 1


def test_statsmodels_fdr_tsbh_does_not_reproduce_andersons_sharpened_q_values():
    p = np.array([0.001, 0.01, 0.02, 0.04, 0.3])
    statsmodels_q = multipletests(p, method="fdr_tsbh")[1]
    ours = sharpened_q_values(p)
    # fdr_tsbh scales BH q-values by one stage-one estimate of m0 at alpha = 0.05; Anderson's
    # loop re-runs both stages at every q
    np.testing.assert_allclose(statsmodels_q, [0.001, 0.005, 0.02 / 3, 0.01, 0.06])
    np.testing.assert_allclose(ours, [0.006, 0.021, 0.026, 0.031, 0.064])
    assert not np.allclose(statsmodels_q, ours, atol=0.001)


def test_adjust_within_families_adjusts_each_family_apart():
    table = pd.DataFrame(
        {
            "outcome": list("abcde"),
            "family": ["trust", "trust", "risk", "risk", "risk"],
            "p_value": [0.01, 0.04, 0.01, 0.02, 0.5],
        }
    )
    adjusted = adjust_within_families(table)
    assert list(adjusted.columns) == [*table.columns, *FAMILY_ADJUSTED_COLUMNS]
    np.testing.assert_allclose(adjusted["q_value_bh"], [0.02, 0.04, 0.03, 0.03, 0.5])
    assert adjusted["n_family"].tolist() == [2, 2, 3, 3, 3]
    pooled = adjust_within_families(table, family=None)
    assert pooled["n_family"].tolist() == [5] * 5


def test_adjust_within_families_rejects_p_values_outside_zero_one():
    with pytest.raises(ValueError, match=r"p-values must lie in \[0, 1\]"):
        adjust_within_families(pd.DataFrame({"family": ["a"], "p_value": [1.5]}))


def test_benjamini_hochberg_rejects_text_and_matrices():
    with pytest.raises(TypeError, match="p_values must be numbers"):
        benjamini_hochberg(["low"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="must be one-dimensional"):
        benjamini_hochberg(np.zeros((2, 2)))


def test_romano_wolf_p_values_match_a_hand_computation():
    observed = [3.0, 1.0]
    draws = np.array([[0.5, 3.5], [0.2, 0.9], [2.0, 1.5], [0.1, 0.3]])
    # first (|t| = 3): max over both columns per draw = 3.5, .9, 2, .3 -> one >= 3: (1+1)/5
    # second (|t| = 1): column 2 alone = 3.5, .9, 1.5, .3 -> two >= 1: (2+1)/5
    np.testing.assert_allclose(romano_wolf_p_values(observed, draws), [0.4, 0.6])


def test_stepdown_formulas_agree_with_pyfixest_on_random_statistics():
    from pyfixest.estimation.post_estimation.multcomp import _get_rwolf_pval, _get_wyoung_pval

    rng = np.random.default_rng(4)
    t = rng.normal(size=6) * 2
    boot = rng.standard_t(20, size=(500, 6))
    np.testing.assert_allclose(romano_wolf_p_values(t, boot), _get_rwolf_pval(t, boot))
    p = rng.uniform(size=6) ** 2
    boot_p = rng.uniform(size=(500, 6))
    np.testing.assert_allclose(westfall_young_p_values(p, boot_p), _get_wyoung_pval(p, boot_p))


def test_romano_wolf_p_values_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"must have shape \(B, 2\)"):
        romano_wolf_p_values([1.0, 2.0], np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"must have shape \(B, 2\)"):
        westfall_young_p_values([0.1, 0.2], np.zeros(10))


def _family(seed: int, clusters: int = 40, effect: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), 25)})
    frame["stratum"] = frame["cluster"] // 4
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    shock = rng.normal(size=clusters)[frame["cluster"]]
    for k in range(3):
        noise = rng.normal(size=len(frame))
        frame[f"y{k}"] = effect * (k == 0) * frame["treated"] + 0.6 * shock + noise
    return frame


# pyfixest 0.60 calls DataFrame.reset_index(inplace=True), deprecated in pandas 3.1; that is
# pyfixest's business, not ours. Matched by message: pandas 2.2 (the floor) has no
# Pandas4Warning class, and a filter naming it would stop the whole test session.
@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame")
def test_stepdown_p_values_agree_with_pyfixest_rwolf_within_monte_carlo_error():
    import pyfixest as pf

    frame = _family(11)
    outcomes = ["y0", "y1", "y2"]
    for fixed_effects in ((), ("stratum",)):
        formula = " | stratum" if fixed_effects else ""
        fits = [
            pf.feols(f"{y} ~ treated{formula}", data=frame, vcov={"CRV1": "cluster"})
            for y in outcomes
        ]
        with warnings.catch_warnings():
            # pyfixest/wildboottest warn about their own defaults; not our concern here
            warnings.simplefilter("ignore")
            reference = pf.rwolf(fits, "treated", reps=9999, seed=3)
        ours = stepdown_p_values(
            frame,
            outcomes=outcomes,
            term="treated",
            regressors=["treated"],
            cluster="cluster",
            fixed_effects=fixed_effects,
            draws=9999,
            seed=3,
            small_sample="fixest",
        )
        assert list(ours.columns) == STEPDOWN_COLUMNS
        np.testing.assert_allclose(ours["statistic"], reference.loc["t value"], rtol=1e-8)
        # two independent B = 9999 bootstraps: sd of a difference <= 0.0071; allow 3 sd
        np.testing.assert_allclose(
            ours["p_value_romano_wolf"], reference.loc["RW Pr(>|t|)"], atol=0.021
        )


def test_stepdown_p_values_find_a_planted_effect_and_not_the_nulls():
    frame = _family(5, clusters=60, effect=1.0)
    table = stepdown_p_values(
        frame,
        outcomes=["y0", "y1", "y2"],
        term="treated",
        regressors=["treated"],
        cluster="cluster",
        fixed_effects=["stratum"],
        draws=1999,
        seed=1,
    )
    assert table["p_value_romano_wolf"].iloc[0] < 0.01
    assert (table["p_value_romano_wolf"].iloc[1:] > 0.05).all()
    assert (table["p_value_romano_wolf"] >= table["p_value_romano_wolf"].min()).all()


def test_stepdown_p_values_are_reproducible_with_a_seed_and_accept_models_per_outcome():
    frame = _family(6)
    frame["y0_baseline"] = frame["y0"] + np.random.default_rng(1).normal(size=len(frame))
    frame["y1_baseline"] = frame["y1"] + np.random.default_rng(2).normal(size=len(frame))
    models = {"y0": ["treated", "y0_baseline"], "y1": ["treated", "y1_baseline"]}
    first = stepdown_p_values(
        frame,
        outcomes=["y0", "y1"],
        term="treated",
        regressors=models,
        cluster="cluster",
        draws=499,
        seed=9,
    )
    second = stepdown_p_values(
        frame,
        outcomes=["y0", "y1"],
        term="treated",
        regressors=models,
        cluster="cluster",
        draws=499,
        seed=9,
    )
    pd.testing.assert_frame_equal(first, second)


def test_stepdown_p_values_share_cluster_weights_when_outcomes_miss_different_clusters():
    frame = _family(7)
    frame.loc[frame["cluster"] == 0, "y1"] = np.nan
    table = stepdown_p_values(
        frame,
        outcomes=["y0", "y1"],
        term="treated",
        regressors=["treated"],
        cluster="cluster",
        draws=499,
        seed=2,
    )
    assert table["n_clusters"].tolist() == [40, 39]


def test_stepdown_p_values_reject_a_term_missing_from_a_model():
    with pytest.raises(ValueError, match="term 'treated' is not among the regressors"):
        stepdown_p_values(
            _family(1),
            outcomes=["y0", "y1"],
            term="treated",
            regressors={"y0": ["treated"], "y1": ["stratum"]},
            cluster="cluster",
        )


def test_stepdown_p_values_reject_a_mapping_without_every_outcome():
    with pytest.raises(ValueError, match=r"gives no model for outcomes \['y1'\]"):
        stepdown_p_values(
            _family(1),
            outcomes=["y0", "y1"],
            term="treated",
            regressors={"y0": ["treated"]},
            cluster="cluster",
        )


def test_stepdown_p_values_reject_a_single_outcome_and_one_cluster():
    with pytest.raises(ValueError, match="needs at least 2 name"):
        stepdown_p_values(
            _family(1), outcomes=["y0"], term="treated", regressors=["treated"], cluster="cluster"
        )
    frame = _family(1)
    frame["one"] = 1
    with pytest.raises(DesignError, match="at least two clusters"):
        stepdown_p_values(
            frame, outcomes=["y0", "y1"], term="treated", regressors=["treated"], cluster="one"
        )
