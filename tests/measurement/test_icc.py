"""measurement.icc: the ANOVA ICC by hand, its interval's coverage, and baseline R-squared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from measurement.errors import DesignError
from measurement.icc import baseline_r_squared, intracluster_correlation


def test_the_anova_icc_by_hand() -> None:
    # MSB = 24, MSW = 1, n0 = 3: (24 - 1) / (24 + 2) = 23 / 26
    frame = pd.DataFrame({"y": [1.0, 2, 3, 5, 6, 7], "c": [1, 1, 1, 2, 2, 2]})
    found = intracluster_correlation(frame, outcome="y", cluster="c")
    assert found.estimate == pytest.approx(23 / 26)
    assert found.conf_low < found.estimate < found.conf_high


def simulated(icc: float, clusters: int, size: int, seed: int) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    effects = generator.normal(scale=np.sqrt(icc), size=clusters)
    noise = generator.normal(scale=np.sqrt(1 - icc), size=(clusters, size))
    return pd.DataFrame(
        {"y": (effects[:, None] + noise).ravel(), "c": np.repeat(np.arange(clusters), size)}
    )


def test_the_searle_interval_covers_a_planted_icc() -> None:
    covered = []
    for seed in range(300):
        found = intracluster_correlation(simulated(0.1, 20, 15, seed), outcome="y", cluster="c")
        covered.append(found.conf_low <= 0.1 <= found.conf_high)
    # 300 balanced studies: coverage 95% +- 2.5 percentage points (two Monte Carlo SEs)
    assert np.mean(covered) == pytest.approx(0.95, abs=0.025)


def test_an_icc_needs_two_clusters() -> None:
    with pytest.raises(DesignError, match="needs at least two clusters"):
        intracluster_correlation(
            pd.DataFrame({"y": [1.0, 2], "c": [1, 1]}), outcome="y", cluster="c"
        )


def test_baseline_r_squared_recovers_a_planted_correlation() -> None:
    generator = np.random.default_rng(5)
    base = generator.normal(size=2000)
    frame = pd.DataFrame(
        {
            "id": np.tile(np.arange(2000), 2),
            "c": np.tile(np.arange(2000) % 50, 2),
            "w": ["b"] * 2000 + ["f"] * 2000,
            "y": np.concatenate([base, 0.6 * base + generator.normal(scale=0.8, size=2000)]),
        }
    )
    fit = baseline_r_squared(
        frame,
        outcome="y",
        respondent="id",
        cluster="c",
        wave="w",
        baseline_wave="b",
        follow_up_wave="f",
        draws=199,
    )
    assert fit.r_squared == pytest.approx(0.36, abs=0.04)  # 0.6^2 / (0.36 + 0.64)
    assert fit.conf_low < 0.36 < fit.conf_high
    with pytest.raises(DesignError, match="at least 3 are needed"):
        baseline_r_squared(
            frame[frame["c"] < 2],
            outcome="y",
            respondent="id",
            cluster="c",
            wave="w",
            baseline_wave="b",
            follow_up_wave="f",
        )
