"""Tests of the Kling-Liebman-Katz and Anderson summary indices."""

import numpy as np
import pandas as pd
import pytest

from measurement.errors import DesignError
from measurement.indices import INDEX_COMPONENT_COLUMNS, summary_index


def _two_arm_baseline() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "wave": ["baseline"] * 6,
            "treated": [0, 0, 0, 1, 1, 1],
            "a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "b": [2.0, 2.0, 5.0, 1.0, np.nan, 3.0],
        }
    )


def test_summary_index_kling_liebman_katz_matches_a_hand_computation():
    frame = _two_arm_baseline()
    result = summary_index(
        frame,
        outcomes=["a", "b"],
        wave="wave",
        baseline_wave="baseline",
        treated="treated",
        restandardize=False,
    )
    # comparison arm: a mean 2 sd 1; b mean 3 sd sqrt(3)
    z_a = (frame["a"] - 2.0) / 1.0
    z_b = (frame["b"] - 3.0) / np.sqrt(3.0)
    expected = pd.concat([z_a, z_b], axis=1).mean(axis=1)
    np.testing.assert_allclose(result.scores.to_numpy(), expected.to_numpy())
    assert result.scores.iloc[4] == pytest.approx(3.0)  # only a answered
    assert list(result.tidy().columns) == INDEX_COMPONENT_COLUMNS
    assert result.tidy()["reference_std_dev"].tolist() == pytest.approx([1.0, np.sqrt(3.0)])
    assert "comparison arm (treated == 0) at wave 'baseline'" in result.reference


def test_summary_index_full_baseline_reference_uses_both_arms():
    frame = _two_arm_baseline()
    result = summary_index(
        frame,
        outcomes=["a", "b"],
        wave="wave",
        baseline_wave="baseline",
        reference="full_baseline",
    )
    assert result.tidy()["reference_mean"].iloc[0] == pytest.approx(3.5)
    assert result.scores.mean() == pytest.approx(0.0, abs=1e-12)
    assert "full sample at wave 'baseline'" in result.reference


def test_summary_index_anderson_weights_are_inverse_covariance_row_sums():
    rng = np.random.default_rng(1)
    n = 400
    common = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "wave": "baseline",
            "treated": rng.integers(0, 2, n),
            "a": common + rng.normal(size=n),
            "b": common + rng.normal(size=n),
            "c": rng.normal(size=n) * 3,
        }
    )
    result = summary_index(
        frame,
        outcomes=["a", "b", "c"],
        wave="wave",
        baseline_wave="baseline",
        treated="treated",
        method="anderson",
        restandardize=False,
    )
    comparison = frame[frame["treated"] == 0][["a", "b", "c"]]
    z = (frame[["a", "b", "c"]] - comparison.mean()) / comparison.std()
    sigma = z[frame["treated"] == 0].cov().to_numpy()
    weights = np.linalg.inv(sigma).sum(axis=1)
    expected = z.to_numpy() @ weights / weights.sum()
    np.testing.assert_allclose(result.scores.to_numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(result.tidy()["weight"], weights / weights.sum())
    # the uncorrelated component carries more weight than each of the correlated pair
    assert result.tidy()["weight"].iloc[2] > result.tidy()["weight"].iloc[0]


@pytest.mark.parametrize("method", ["kling_liebman_katz", "anderson"])
def test_summary_index_recovers_a_planted_shift_in_reference_standard_deviations(method):
    rng = np.random.default_rng(7)
    n = 20_000
    treated = np.repeat([0, 1], n // 2)
    latent = rng.normal(size=n)
    frame = pd.DataFrame({"wave": "endline", "treated": treated})
    for k in range(4):
        frame[f"y{k}"] = latent + rng.normal(size=n) + 0.5 * treated
    baseline = frame.copy()
    baseline["wave"] = "baseline"
    for k in range(4):
        baseline[f"y{k}"] = latent + rng.normal(size=n)
    both = pd.concat([baseline, frame], ignore_index=True)
    result = summary_index(
        both,
        outcomes=[f"y{k}" for k in range(4)],
        wave="wave",
        baseline_wave="baseline",
        treated="treated",
        method=method,
        restandardize=False,
    )
    endline = both["wave"] == "endline"
    shift = (
        result.scores[endline & (both["treated"] == 1)].mean()
        - result.scores[endline & (both["treated"] == 0)].mean()
    )
    # each item has sd sqrt(2); the equally weighted mean of z-scores moves 0.5 / sqrt(2)
    assert shift == pytest.approx(0.5 / np.sqrt(2), abs=0.03)


def test_summary_index_reverses_the_sign_of_listed_components():
    frame = _two_arm_baseline()
    plain = summary_index(
        frame,
        outcomes=["a", "b"],
        wave="wave",
        baseline_wave="baseline",
        treated="treated",
        restandardize=False,
    )
    flipped = summary_index(
        frame,
        outcomes=["a", "b"],
        wave="wave",
        baseline_wave="baseline",
        treated="treated",
        reverse=["a"],
        restandardize=False,
    )
    assert flipped.scores.iloc[4] == pytest.approx(-plain.scores.iloc[4])
    assert flipped.tidy()["reversed"].tolist() == [True, False]


def test_summary_index_rejects_a_component_without_variation_in_the_reference():
    frame = _two_arm_baseline()
    frame["b"] = [2.0, 2.0, 2.0, 1.0, 3.0, 3.0]
    with pytest.raises(DesignError, match="component 'b' has 3 answers and standard deviation"):
        summary_index(
            frame, outcomes=["a", "b"], wave="wave", baseline_wave="baseline", treated="treated"
        )


def test_summary_index_rejects_a_missing_baseline_wave():
    with pytest.raises(DesignError, match="equals the baseline wave 'pre'"):
        summary_index(
            _two_arm_baseline(),
            outcomes=["a", "b"],
            wave="wave",
            baseline_wave="pre",
            treated="treated",
        )


def test_summary_index_rejects_a_comparison_reference_without_comparison_rows():
    frame = _two_arm_baseline()
    frame["treated"] = 1
    with pytest.raises(DesignError, match=r"comparison arm .* has no row"):
        summary_index(
            frame, outcomes=["a", "b"], wave="wave", baseline_wave="baseline", treated="treated"
        )


def test_summary_index_rejects_a_comparison_reference_without_treated():
    with pytest.raises(ValueError, match="needs the treated column"):
        summary_index(
            _two_arm_baseline(), outcomes=["a", "b"], wave="wave", baseline_wave="baseline"
        )


def test_summary_index_rejects_a_singular_anderson_covariance():
    frame = _two_arm_baseline()
    frame["c"] = frame["a"] * 2
    with pytest.raises(DesignError, match="is singular"):
        summary_index(
            frame,
            outcomes=["a", "c"],
            wave="wave",
            baseline_wave="baseline",
            treated="treated",
            method="anderson",
        )


def test_summary_index_rejects_components_never_answered_together_for_anderson():
    frame = pd.DataFrame(
        {
            "wave": "baseline",
            "a": [1.0, 2.0, 3.0, np.nan, np.nan, np.nan],
            "b": [np.nan, np.nan, np.nan, 1.0, 2.0, 4.0],
        }
    )
    with pytest.raises(DesignError, match="never answered together"):
        summary_index(
            frame,
            outcomes=["a", "b"],
            wave="wave",
            baseline_wave="baseline",
            reference="full_baseline",
            method="anderson",
        )


def test_summary_index_rejects_unknown_options_and_too_few_outcomes():
    frame = _two_arm_baseline()
    common = {"wave": "wave", "baseline_wave": "baseline", "treated": "treated"}
    with pytest.raises(ValueError, match="method must be"):
        summary_index(frame, outcomes=["a", "b"], method="pca", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reference must be"):
        summary_index(frame, outcomes=["a", "b"], reference="endline", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs at least 2 name"):
        summary_index(frame, outcomes=["a"], **common)
    with pytest.raises(ValueError, match="which are not among the outcomes"):
        summary_index(frame, outcomes=["a", "b"], reverse=["z"], **common)


def test_summary_index_rejects_an_index_without_variation_when_restandardizing():
    frame = pd.DataFrame({"wave": "baseline", "a": [1.0, 2.0, 3.0], "b": [3.0, 2.0, 1.0]})
    with pytest.raises(DesignError, match="the index does not vary"):
        summary_index(
            frame,
            outcomes=["a", "b"],
            wave="wave",
            baseline_wave="baseline",
            reference="full_baseline",
        )
