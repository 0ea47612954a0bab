"""Attrition: follow-up rates, differential attrition and Lee bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from measurement.attrition import (
    ATTRITION_COLUMNS,
    attrition_table,
    differential_attrition,
    follow_up_status,
    lee_bounds,
)
from measurement.errors import DesignError


def panel(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 800
    base = pd.DataFrame({"respondent": np.arange(n), "cluster": np.arange(n) // 20})
    base["treated"] = (base["cluster"] % 2).astype(float)
    base["age"] = rng.normal(30, 8, n)
    stays = (
        rng.random(n) < 0.9 - 0.1 * base["treated"] - 0.01 * (base["age"] - 30) * base["treated"]
    )
    follow = base.loc[stays]
    return pd.concat([base.assign(wave="baseline"), follow.assign(wave="endline")])


def test_follow_up_status_marks_who_was_interviewed_again() -> None:
    frame = panel()
    status = follow_up_status(
        frame,
        respondent="respondent",
        wave="wave",
        baseline_wave="baseline",
        follow_up_wave="endline",
    )
    assert len(status) == 800
    assert status["followed_up"].sum() == (frame["wave"] == "endline").sum()


def test_attrition_table_reports_rates_by_arm_and_a_clustered_difference() -> None:
    status = follow_up_status(
        panel(),
        respondent="respondent",
        wave="wave",
        baseline_wave="baseline",
        follow_up_wave="endline",
    )
    table = attrition_table(status, followed_up="followed_up", treated="treated", cluster="cluster")
    assert list(table.columns) == ATTRITION_COLUMNS
    rates = status.groupby("treated")["followed_up"].mean()
    assert table.loc[2, "estimate"] == pytest.approx(rates[1.0] - rates[0.0])
    assert table.loc[2, "n_clusters"] == 40
    assert table.loc[2, "p_value"] < 0.05


def test_differential_attrition_detects_an_interaction_with_a_characteristic() -> None:
    status = follow_up_status(
        panel(2),
        respondent="respondent",
        wave="wave",
        baseline_wave="baseline",
        follow_up_wave="endline",
    )
    result = differential_attrition(
        status,
        followed_up="followed_up",
        treated="treated",
        characteristics=["age"],
        cluster="cluster",
    )
    assert result.terms["term"].tolist() == ["treated:age"]
    assert result.df_denominator == 39
    assert result.p_value < 0.05
    assert result.tidy().shape[0] == 1


def test_lee_bounds_match_a_hand_computed_trimming() -> None:
    # Treated: 4 of 4 observed (1, 2, 3, 4); comparison: 3 of 4 observed (0, 1, 2), so
    # p = (1 - 0.75) / 1 = 0.25: drop one treated outcome. Lower: mean(1,2,3) - 1 = 1;
    # upper: mean(2,3,4) - 1 = 2.
    frame = pd.DataFrame(
        {"treated": [1.0] * 4 + [0.0] * 4, "outcome": [1, 2, 3, 4, 0, 1, 2, np.nan]}
    )
    bounds = lee_bounds(frame, outcome="outcome", treated="treated", draws=20, seed=1)
    assert (bounds.lower, bounds.upper) == (pytest.approx(1.0), pytest.approx(2.0))
    assert bounds.trimming_share == pytest.approx(0.25)
    assert bounds.trimmed_arm == "treatment"
    assert bounds.conf_low <= bounds.lower <= bounds.upper <= bounds.conf_high


def test_lee_bounds_bracket_the_effect_under_monotone_selection() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    frame = pd.DataFrame(
        {"treated": (np.arange(n) % 2).astype(float), "cluster": np.arange(n) // 40}
    )
    frame["outcome"] = rng.normal(size=n) + 0.5 * frame["treated"]
    frame.loc[(frame["treated"] == 0) & (rng.random(n) < 0.2), "outcome"] = np.nan
    bounds = lee_bounds(
        frame, outcome="outcome", treated="treated", cluster="cluster", draws=100, seed=2
    )
    assert bounds.lower < 0.5 < bounds.upper
    assert bounds.trimmed_arm == "treatment"  # the arm with the higher follow-up rate
    assert bounds.n_clusters == 100


def test_lee_bounds_reject_an_arm_without_outcomes() -> None:
    frame = pd.DataFrame({"treated": [1.0, 1.0, 0.0, 0.0], "outcome": [1, 2, np.nan, np.nan]})
    with pytest.raises(DesignError, match="the comparison arm has no observed 'outcome'"):
        lee_bounds(frame, outcome="outcome", treated="treated")


def test_attrition_functions_reject_bad_arguments() -> None:
    frame = pd.DataFrame({"treated": [1.0, 2.0], "outcome": [1.0, 2.0]})
    with pytest.raises(ValueError, match="must hold 0/1"):
        lee_bounds(frame, outcome="outcome", treated="treated")
    with pytest.raises(ValueError, match="draws must be an integer of at least 2"):
        lee_bounds(frame, outcome="outcome", treated="treated", draws=1)
    with pytest.raises(ValueError, match=r"columns \['cluster'\] are not in responses"):
        attrition_table(frame, followed_up="outcome", treated="treated", cluster="cluster")
    with pytest.raises(ValueError, match="no baseline characteristic given"):
        differential_attrition(
            frame, followed_up="outcome", treated="treated", characteristics=[], cluster="cluster"
        )
    with pytest.raises(DesignError, match="no row at the baseline wave 'baseline'"):
        follow_up_status(
            frame.assign(wave="x", respondent=1),
            respondent="respondent",
            wave="wave",
            baseline_wave="baseline",
            follow_up_wave="endline",
        )
    with pytest.raises(DesignError, match=r"the treatment arm .* has no baseline respondent"):
        attrition_table(
            frame.assign(treated=0.0, cluster=1),
            followed_up="outcome",
            treated="treated",
            cluster="cluster",
        )


def test_differential_attrition_refuses_more_restrictions_than_the_clusters_can_test() -> None:
    # 4 clusters, 4 characteristics: the clustered variance of the 4 interactions has rank
    # at most 3. The pseudo-inverse used to test fewer restrictions than it reported; the one
    # Wald test of the package (measurement.balance.wald_test) refuses instead.
    rng = np.random.default_rng(9)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(4), 30)})
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    for name in ("a", "b", "c", "d"):
        frame[name] = rng.normal(size=len(frame))
    frame["followed_up"] = (rng.random(len(frame)) < 0.8).astype(float)
    with pytest.raises(DesignError, match=r"wald_test: the variance of .* is singular"):
        differential_attrition(
            frame,
            followed_up="followed_up",
            treated="treated",
            characteristics=["a", "b", "c", "d"],
            cluster="cluster",
        )
