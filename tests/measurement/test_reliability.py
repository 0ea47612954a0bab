"""Tests of Cronbach's alpha per construct and wave."""

import warnings

import numpy as np
import pandas as pd
import pingouin
import pytest

from measurement.errors import DesignError, LowReliabilityWarning
from measurement.reliability import RELIABILITY_COLUMNS, construct_reliability, feldt_interval


def _battery(n: int, loading: float, seed: int, k: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    return pd.DataFrame({f"item_{j}": loading * latent + rng.normal(size=n) for j in range(k)})


def test_construct_reliability_matches_the_alpha_formula_on_a_tiny_case():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 2.0, 4.0, 4.0]})
    table = construct_reliability(frame, constructs={"c": ["a", "b"]})
    covariance = frame.cov().to_numpy()
    expected = 2 * (1 - np.trace(covariance) / covariance.sum())
    assert table["estimate"].iloc[0] == pytest.approx(expected)
    assert expected == pytest.approx(16 / 17)  # variances 5/3 and 4/3, covariance 4/3
    assert list(table.columns) == RELIABILITY_COLUMNS


def test_construct_reliability_agrees_with_pingouin_and_its_rounded_interval():
    frame = _battery(250, 1.0, seed=2)
    frame.iloc[::7, 1] = np.nan
    for policy in ("listwise", "pairwise"):
        table = construct_reliability(
            frame, constructs={"c": list(frame.columns)}, nan_policy=policy
        )
        alpha, interval = pingouin.cronbach_alpha(data=frame, nan_policy=policy)
        assert table["estimate"].iloc[0] == pytest.approx(alpha, rel=1e-12)
        # pingouin rounds the interval to 3 decimals and, after listwise deletion, still uses
        # the number of rows before deletion; recompute its interval with that n to compare
        n_pingouin = len(frame)
        expected = feldt_interval(alpha, n_obs=n_pingouin, n_items=4)
        np.testing.assert_allclose(expected, interval, atol=5e-4 + 1e-12)
        if policy == "pairwise":
            np.testing.assert_allclose(
                table[["conf_low", "conf_high"]].to_numpy()[0], interval, atol=5e-4 + 1e-12
            )
        else:
            assert table["n_obs"].iloc[0] == len(frame.dropna())


def test_construct_reliability_recovers_the_population_alpha_of_parallel_items():
    # k parallel items with loading 1 and unit noise: item correlation 1/2,
    # standardized alpha = k r / (1 + (k - 1) r) = 0.8 for k = 4
    frame = _battery(20_000, 1.0, seed=5)
    table = construct_reliability(frame, constructs={"c": list(frame.columns)})
    assert table["estimate"].iloc[0] == pytest.approx(0.8, abs=0.01)
    assert table["conf_low"].iloc[0] < 0.8 + 0.01 and table["conf_high"].iloc[0] > 0.8 - 0.01


def test_construct_reliability_gives_one_row_per_construct_and_wave():
    frame = pd.concat([_battery(100, 2.0, seed=1), _battery(100, 2.0, seed=2)])
    frame["wave"] = ["baseline"] * 100 + ["endline"] * 100
    table = construct_reliability(
        frame, constructs={"x": ["item_0", "item_1"], "y": ["item_2", "item_3"]}, wave="wave"
    )
    assert table[["construct", "wave"]].values.tolist() == [
        ["x", "baseline"],
        ["y", "baseline"],
        ["x", "endline"],
        ["y", "endline"],
    ]
    assert (table["n_obs"] == 100).all()


def test_construct_reliability_warns_under_the_threshold_and_flags_the_row():
    frame = _battery(300, 0.2, seed=3)
    with pytest.warns(LowReliabilityWarning, match=r"alpha is under 0.6 for c alpha=0\.\d\d"):
        table = construct_reliability(frame, constructs={"c": list(frame.columns)})
    assert bool(table["below_threshold"].iloc[0])


def test_construct_reliability_stays_silent_above_the_threshold():
    frame = _battery(300, 1.5, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = construct_reliability(frame, constructs={"c": list(frame.columns)})
    assert not bool(table["below_threshold"].iloc[0])


def test_feldt_interval_matches_the_f_distribution_formula():
    low, high = feldt_interval(0.7, n_obs=30, n_items=5, confidence=0.9)
    from scipy import stats

    assert low == pytest.approx(1 - 0.3 * stats.f.ppf(0.95, 29, 116))
    assert high == pytest.approx(1 - 0.3 * stats.f.ppf(0.05, 29, 116))


def test_feldt_interval_rejects_too_few_respondents():
    with pytest.raises(ValueError, match="at least two respondents and two items"):
        feldt_interval(0.5, n_obs=1, n_items=3)


def test_construct_reliability_rejects_a_single_item_construct():
    frame = _battery(10, 1.0, seed=1)
    with pytest.raises(ValueError, match="needs at least 2 name"):
        construct_reliability(frame, constructs={"c": ["item_0"]})


def test_construct_reliability_rejects_too_few_complete_respondents():
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [1.0, 2.0, np.nan]})
    with pytest.raises(DesignError, match="has 1 usable respondents"):
        construct_reliability(frame, constructs={"c": ["a", "b"]})


def test_construct_reliability_rejects_a_constant_sum_score():
    frame = pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]})
    with pytest.raises(DesignError, match="does not vary"):
        construct_reliability(frame, constructs={"c": ["a", "b"]})


def test_construct_reliability_rejects_bad_options():
    frame = _battery(10, 1.0, seed=1)
    constructs = {"c": ["item_0", "item_1"]}
    with pytest.raises(ValueError, match="nan_policy must be"):
        construct_reliability(frame, constructs=constructs, nan_policy="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threshold must be a number"):
        construct_reliability(frame, constructs=constructs, threshold=2)
    with pytest.raises(ValueError, match="confidence must lie strictly between"):
        construct_reliability(frame, constructs=constructs, confidence=95)
    with pytest.raises(ValueError, match="constructs must be a non-empty mapping"):
        construct_reliability(frame, constructs={})
    with pytest.raises(ValueError, match=r"columns \['nope'\] are not in responses"):
        construct_reliability(frame, constructs=constructs, wave="nope")
