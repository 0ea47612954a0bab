"""Tests of measurement.heterogeneity: effects within groups and their difference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from measurement.errors import DesignError
from measurement.heterogeneity import HETEROGENEITY_COLUMNS, estimate_effect_by_group


def simulated(seed: int, *, clusters: int = 40, size: int = 20, difference: float = 0.5):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), size)})
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    frame["stratum"] = frame["cluster"] // 4
    frame["alone"] = rng.integers(0, 2, size=len(frame)).astype(float)
    frame["baseline"] = rng.normal(size=len(frame))
    shock = rng.normal(scale=0.3, size=clusters)[frame["cluster"]]
    frame["y"] = (
        frame["treated"] * (0.2 + difference * frame["alone"])
        + 0.5 * frame["baseline"]
        + 0.3 * frame["alone"]
        + shock
        + rng.normal(size=len(frame))
    )
    return frame


def tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cluster": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8],
            "treated": [1, 1, 1, 1, 0, 0, 0, 0] * 2,
            "alone": [0] * 8 + [1] * 8,
            "y": [3.0, 5.0, 4.0, 6.0, 1.0, 2.0, 2.0, 3.0, 9.0, 7.0, 8.0, 8.0, 1.0, 1.0, 2.0, 0.0],
        }
    )


def test_estimate_effect_by_group_equals_hand_computed_differences_in_means_in_a_tiny_case():
    result = estimate_effect_by_group(
        tiny(), outcome="y", treated="treated", group="alone", cluster="cluster"
    )
    assert list(result.columns) == list(HETEROGENEITY_COLUMNS)
    table = result.set_index(["group", "term"])
    # group 0: treated mean (3+5+4+6)/4 = 4.5, comparison (1+2+2+3)/4 = 2 -> 2.5
    # group 1: treated mean (9+7+8+8)/4 = 8, comparison (1+1+2+0)/4 = 1 -> 7
    assert table.loc[("0", "effect"), "estimate"] == pytest.approx(2.5)
    assert table.loc[("1", "effect"), "estimate"] == pytest.approx(7.0)
    assert table.loc[("1 - 0", "difference"), "estimate"] == pytest.approx(4.5)


def test_estimate_effect_by_group_difference_equals_two_separate_regressions():
    frame = simulated(5)
    table = estimate_effect_by_group(
        frame, outcome="y", treated="treated", group="alone", cluster="cluster"
    ).set_index("term")
    separate = [
        smf.ols("y ~ treated", data=frame[frame["alone"] == level]).fit().params["treated"]
        for level in (0.0, 1.0)
    ]
    assert table.loc["difference", "estimate"] == pytest.approx(separate[1] - separate[0])


def test_estimate_effect_by_group_matches_statsmodels_cluster_errors_of_the_interaction():
    frame = simulated(11)
    table = estimate_effect_by_group(
        frame,
        outcome="y",
        treated="treated",
        group="alone",
        cluster="cluster",
        baseline="baseline",
        stratum="stratum",
    ).set_index("term")
    model = smf.ols("y ~ treated * alone + baseline + C(stratum)", data=frame).fit(
        cov_type="cluster", cov_kwds={"groups": frame["cluster"]}, use_t=True
    )
    row = table.loc["difference"]
    assert row["estimate"] == pytest.approx(model.params["treated:alone"], rel=1e-6)
    assert row["std_error"] == pytest.approx(model.bse["treated:alone"], rel=1e-6)
    assert row["p_value"] == pytest.approx(model.pvalues["treated:alone"], rel=1e-6)
    effect_one = model.params["treated"] + model.params["treated:alone"]
    assert table[table.index == "effect"]["estimate"].iloc[1] == pytest.approx(effect_one, rel=1e-6)


def test_estimate_effect_by_group_recovers_planted_heterogeneity_with_nominal_coverage():
    covered, estimates = 0, []
    seeds = range(200)
    for seed in seeds:
        frame = simulated(seed, clusters=40, size=10)
        row = (
            estimate_effect_by_group(
                frame,
                outcome="y",
                treated="treated",
                group="alone",
                cluster="cluster",
                baseline="baseline",
            )
            .set_index("term")
            .loc["difference"]
        )
        estimates.append(row["estimate"])
        covered += row["conf_low"] <= 0.5 <= row["conf_high"]
    assert np.mean(estimates) == pytest.approx(0.5, abs=0.05)
    assert 0.90 <= covered / len(seeds) <= 0.99


def test_estimate_effect_by_group_tests_all_differences_jointly_with_three_groups():
    frame = simulated(2)
    frame["who"] = np.resize(["family", "alone", "parents"], len(frame))
    table = estimate_effect_by_group(
        frame, outcome="y", treated="treated", group="who", cluster="cluster"
    )
    assert table["group"].tolist() == [
        "alone",
        "family",
        "parents",
        "family - alone",
        "parents - alone",
        "all",
    ]
    joint = table.set_index("term").loc["joint_difference"]
    assert 0 <= joint["p_value"] <= 1
    assert np.isnan(joint["estimate"])


def test_estimate_effect_by_group_rejects_a_group_without_comparison_clusters():
    frame = tiny()
    frame.loc[(frame["alone"] == 1) & (frame["treated"] == 0), "alone"] = 0
    with pytest.raises(DesignError, match=r"group alone=1 has no comparison cluster"):
        estimate_effect_by_group(
            frame, outcome="y", treated="treated", group="alone", cluster="cluster"
        )


def test_estimate_effect_by_group_rejects_a_group_without_treated_clusters():
    frame = tiny()
    frame.loc[(frame["alone"] == 1) & (frame["treated"] == 1), "alone"] = 0
    with pytest.raises(DesignError, match=r"group alone=1 has no treated cluster"):
        estimate_effect_by_group(
            frame, outcome="y", treated="treated", group="alone", cluster="cluster"
        )


def test_estimate_effect_by_group_rejects_a_single_group():
    frame = tiny().assign(alone=1)
    with pytest.raises(DesignError, match=r"has 1 level\(s\)"):
        estimate_effect_by_group(
            frame, outcome="y", treated="treated", group="alone", cluster="cluster"
        )


def test_estimate_effect_by_group_rejects_a_treatment_that_is_not_zero_or_one():
    frame = tiny().assign(treated=lambda f: f["treated"] * 2)
    with pytest.raises(ValueError, match=r"column 'treated' must hold 0/1"):
        estimate_effect_by_group(
            frame, outcome="y", treated="treated", group="alone", cluster="cluster"
        )


def test_estimate_effect_by_group_rejects_a_missing_column():
    with pytest.raises(ValueError, match=r"columns \['who'\] are not in responses"):
        estimate_effect_by_group(
            tiny(), outcome="y", treated="treated", group="who", cluster="cluster"
        )


def test_estimate_effect_by_group_rejects_a_data_frame_it_is_not_given():
    with pytest.raises(TypeError, match=r"responses must be a pandas DataFrame"):
        estimate_effect_by_group(
            [1, 2], outcome="y", treated="treated", group="alone", cluster="cluster"
        )


def test_estimate_effect_by_group_rejects_a_confidence_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"confidence must lie strictly between 0 and 1"):
        estimate_effect_by_group(
            tiny(),
            outcome="y",
            treated="treated",
            group="alone",
            cluster="cluster",
            confidence=1.5,
        )


def test_estimate_effect_by_group_rejects_covariates_given_as_one_string():
    with pytest.raises(TypeError, match=r"covariates must be a list of column names"):
        estimate_effect_by_group(
            tiny(),
            outcome="y",
            treated="treated",
            group="alone",
            cluster="cluster",
            covariates="y",
        )


def test_effects_by_group_with_cr2_use_satterthwaite_df_and_the_htz_joint_test() -> None:
    rng = np.random.default_rng(31)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(16), 15)})
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    frame["group"] = rng.integers(0, 3, size=len(frame)).astype(float)
    frame["y"] = 0.3 * frame["treated"] + rng.normal(size=len(frame))
    cr1 = estimate_effect_by_group(
        frame, outcome="y", treated="treated", group="group", cluster="cluster"
    )
    cr2 = estimate_effect_by_group(
        frame, outcome="y", treated="treated", group="group", cluster="cluster", vcov="CR2"
    )
    assert cr2["estimate"].tolist()[:5] == pytest.approx(cr1["estimate"].tolist()[:5])
    assert not np.allclose(cr2["p_value"], cr1["p_value"])
    joint = cr2[cr2["term"] == "joint_difference"]
    assert len(joint) == 1 and 0 < joint["p_value"].iloc[0] < 1
