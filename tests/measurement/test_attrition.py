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


def test_follow_up_status_never_links_respondents_without_an_identifier() -> None:
    frame = pd.DataFrame(
        {
            "respondent": pd.Series(["a", "b", None, "c", None, "a", "d"], dtype="str"),
            "wave": ["baseline"] * 4 + ["endline"] * 3,
        }
    )
    status = follow_up_status(
        frame,
        respondent="respondent",
        wave="wave",
        baseline_wave="baseline",
        follow_up_wave="endline",
    )
    assert status.index.tolist() == [0, 1, 2, 3]
    assert status["followed_up"].tolist() == [1, 0, 0, 0]
    assert status["followed_up"].dtype == np.int64


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


def test_lee_bounds_trim_within_strata_and_average_over_the_always_observed() -> None:
    # Stratum a is the hand case above: bounds (1, 2), follow-up 1 and 0.75, 8 respondents,
    # so 8 x 0.75 = 6 always-observed. Stratum b: everyone followed up, no trimming, bounds
    # (15 - 5, 15 - 5), 4 x 1 = 4 always-observed. Averages: (6 + 40) / 10 and (12 + 40) / 10.
    frame = pd.DataFrame(
        {
            "treated": [1.0] * 4 + [0.0] * 4 + [1.0, 1.0, 0.0, 0.0],
            "outcome": [1, 2, 3, 4, 0, 1, 2, np.nan, 10, 20, 5, 5],
            "stratum": ["a"] * 8 + ["b"] * 4,
        }
    )
    bounds = lee_bounds(
        frame, outcome="outcome", treated="treated", stratum="stratum", draws=20, seed=1
    )
    assert (bounds.lower, bounds.upper) == (pytest.approx(4.6), pytest.approx(5.2))
    assert bounds.trimming_share == pytest.approx((0.25 * 8) / 12)
    assert "always-observed" in bounds.inference and "within strata" in bounds.inference
    pooled = lee_bounds(frame, outcome="outcome", treated="treated", draws=20, seed=1)
    assert (pooled.lower, pooled.upper) != (bounds.lower, bounds.upper)


def test_lee_bounds_with_integer_weights_equal_bounds_on_replicated_rows() -> None:
    rng = np.random.default_rng(8)
    n = 300
    frame = pd.DataFrame({"treated": (np.arange(n) % 2).astype(float)})
    frame["stratum"] = np.arange(n) % 3
    frame["outcome"] = rng.normal(size=n) + frame["treated"] + frame["stratum"]
    frame.loc[(frame["treated"] == 0) & (rng.random(n) < 0.25), "outcome"] = np.nan
    frame["weight"] = rng.integers(1, 4, size=n).astype(float)
    replicated = frame.loc[frame.index.repeat(frame["weight"].astype(int))]
    for stratum in (None, "stratum"):
        weighted = lee_bounds(
            frame,
            outcome="outcome",
            treated="treated",
            stratum=stratum,
            weight="weight",
            draws=20,
            seed=1,
        )
        copies = lee_bounds(
            replicated, outcome="outcome", treated="treated", stratum=stratum, draws=20, seed=1
        )
        assert weighted.lower == pytest.approx(copies.lower, rel=1e-10)
        assert weighted.upper == pytest.approx(copies.upper, rel=1e-10)
        assert weighted.trimming_share == pytest.approx(copies.trimming_share, rel=1e-10)


def test_lee_bounds_reject_a_stratum_without_outcomes_in_an_arm() -> None:
    frame = pd.DataFrame(
        {
            "treated": [1.0, 1.0, 0.0, 0.0, 1.0, 0.0],
            "outcome": [1.0, 2.0, 0.0, 1.0, 3.0, np.nan],
            "stratum": [0, 0, 0, 0, 1, 1],
        }
    )
    with pytest.raises(DesignError, match="1 strata of 'stratum' have no observed"):
        lee_bounds(frame, outcome="outcome", treated="treated", stratum="stratum", draws=5)


def test_lee_bounds_on_counted_copies_of_sorted_rows_equal_the_bounds_on_the_copied_rows():
    # The bootstrap weights each row by its unit's number of copies in a draw, on rows sorted
    # by outcome once; the bounds must be those of the rows copied out, as before.
    from measurement.attrition import _bounds

    rng = np.random.default_rng(4)
    n = 400
    y = np.round(rng.normal(size=n), 1)
    treated = rng.integers(0, 2, n).astype(float)
    observed = rng.random(n) > 0.15 + 0.1 * treated
    y[~observed] = np.nan
    strata = rng.integers(0, 3, n)
    copies = rng.integers(0, 4, n)
    rows = np.repeat(np.arange(n), copies)
    copied = _bounds(y[rows], treated[rows], observed[rows], None, strata[rows])
    order = np.argsort(y, kind="stable")
    kept = order[copies[order] > 0]
    counted = _bounds(
        y[kept],
        treated[kept],
        observed[kept],
        copies[kept].astype(float),
        strata[kept],
        presorted=True,
    )
    np.testing.assert_allclose(counted, copied, rtol=0, atol=1e-12)


def _copied_cluster_standard_errors(
    frame: pd.DataFrame, *, stratum: str | None, draws: int, seed: int
) -> tuple[float, float]:
    """The bootstrap by hand: copy every drawn cluster's rows and compute the bounds anew,
    drawing the clusters exactly as lee_bounds does (same generator, same order)."""
    rng = np.random.default_rng(seed)
    codes, uniques = pd.factorize(frame["cluster"])
    strata = pd.factorize(frame[stratum], sort=True)[0] if stratum else None
    first = np.unique(codes, return_index=True)[1]
    unit_strata = strata[first] if strata is not None else np.zeros(len(uniques), dtype=int)
    pools = [np.flatnonzero(unit_strata == level) for level in np.unique(unit_strata)]
    members = [np.flatnonzero(codes == unit) for unit in range(len(uniques))]
    replicates = []
    for _ in range(draws):
        chosen = (
            rng.integers(0, len(uniques), size=len(uniques))
            if strata is None
            else np.concatenate([rng.choice(pool, size=pool.size) for pool in pools])
        )
        copied = frame.iloc[np.concatenate([members[unit] for unit in chosen])]
        replicates.append(
            lee_bounds(copied, outcome="outcome", treated="treated", stratum=stratum, draws=2)
        )
    lowers = [bound.lower for bound in replicates]
    uppers = [bound.upper for bound in replicates]
    return float(np.std(lowers, ddof=1)), float(np.std(uppers, ddof=1))


@pytest.mark.parametrize("stratum", [None, "stratum"])
def test_lee_bounds_errors_equal_a_bootstrap_that_copies_the_drawn_clusters(
    stratum: str | None,
) -> None:
    # A 1-5 rating in clusters, so many respondents share a value within a cluster: the
    # collapsed rows the draws weight must give the bounds of the copied respondents.
    rng = np.random.default_rng(21)
    n = 600
    frame = pd.DataFrame({"cluster": np.arange(n) // 15})
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    frame["stratum"] = (frame["cluster"] // 2) % 3
    frame["outcome"] = np.clip(np.round(rng.normal(3 + 0.5 * frame["treated"], 1.2)), 1, 5)
    frame.loc[rng.random(n) < 0.3 - 0.15 * frame["treated"], "outcome"] = np.nan
    bounds = lee_bounds(
        frame,
        outcome="outcome",
        treated="treated",
        cluster="cluster",
        stratum=stratum,
        draws=40,
        seed=5,
    )
    by_hand = _copied_cluster_standard_errors(frame, stratum=stratum, draws=40, seed=5)
    assert (bounds.std_error_lower, bounds.std_error_upper) == pytest.approx(by_hand, rel=1e-10)


def test_lee_bounds_report_their_draws_to_a_progress_callback() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"treated": np.repeat([0.0, 1.0], 100)})
    frame["outcome"] = rng.normal(size=200) + frame["treated"]
    frame.loc[rng.random(200) < 0.2, "outcome"] = np.nan
    done: list[int] = []
    lee_bounds(
        frame, outcome="outcome", treated="treated", draws=120, seed=1, on_draws_done=done.append
    )
    assert done == [50, 50, 20]
