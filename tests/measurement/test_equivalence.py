"""measurement.equivalence: TOST by hand, against statsmodels, its size, and the conclusions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttost_ind

from measurement.equivalence import implied_standard_error, read_evidence, two_one_sided_tests


def test_tost_by_hand_on_the_normal_reference() -> None:
    # estimate 0.05, SE 0.1, SESOI 0.2: max(P(Z > 2.5), P(Z > 1.5)) = P(Z > 1.5)
    value = two_one_sided_tests(estimate=0.05, std_error=0.1, df=math.inf, sesoi=0.2)
    assert value == pytest.approx(stats.norm.sf(1.5), abs=1e-12)


def test_tost_agrees_with_statsmodels_ttost_ind() -> None:
    generator = np.random.default_rng(7)
    first, second = generator.normal(0.1, 1, 60), generator.normal(0, 1, 50)
    expected, _, _ = ttost_ind(first, second, -0.5, 0.5, usevar="pooled")
    pooled = math.sqrt(
        ((59 * first.var(ddof=1)) + (49 * second.var(ddof=1))) / 108 * (1 / 60 + 1 / 50)
    )
    found = two_one_sided_tests(
        estimate=first.mean() - second.mean(), std_error=pooled, df=108, sesoi=0.5
    )
    assert found == pytest.approx(expected, abs=1e-10)


def test_the_implied_standard_error_inverts_a_t_interval() -> None:
    critical = stats.t.ppf(0.975, 19)
    assert implied_standard_error(
        conf_low=1 - critical * 0.3, conf_high=1 + critical * 0.3, df=19
    ) == (pytest.approx(0.3))


def test_tost_holds_its_size_at_the_equivalence_margin() -> None:
    # True effect exactly at +SESOI: TOST may reject (wrongly) at most alpha of the time.
    generator = np.random.default_rng(11)
    estimates = generator.normal(0.2, 0.1, 20_000)
    rejections = [
        two_one_sided_tests(estimate=e, std_error=0.1, df=math.inf, sesoi=0.2) < 0.05
        for e in estimates
    ]
    # Exactly: P(e < 0.2 - 1.645 SE) - P(e < -0.2 + 1.645 SE) = 0.05 - Phi(-2.355) = 0.0407.
    expected = 0.05 - stats.norm.cdf((-0.2 + stats.norm.ppf(0.95) * 0.1 - 0.2) / 0.1)
    monte_carlo = math.sqrt(expected * (1 - expected) / len(estimates))
    assert np.mean(rejections) == pytest.approx(expected, abs=4 * monte_carlo)
    assert expected <= 0.05


@pytest.mark.parametrize(
    "estimate, half_width, p_value, sesoi, conclusion",
    [
        (0.30, 0.1, 0.001, 0.2, "effect shown"),
        (0.01, 0.1, 0.85, 0.2, "effect larger than the SESOI ruled out"),
        (0.05, 0.3, 0.7, 0.2, "inconclusive"),
        (0.01, 0.1, 0.85, None, "inconclusive"),
    ],
)
def test_read_evidence_classifies_an_estimate(
    estimate: float, half_width: float, p_value: float, sesoi: float | None, conclusion: str
) -> None:
    reading = read_evidence(
        estimate=estimate,
        p_value=p_value,
        conf_low=estimate - half_width,
        conf_high=estimate + half_width,
        df=39,
        sesoi=sesoi,
    )
    assert reading.conclusion == conclusion
    if conclusion == "inconclusive":
        assert f"{reading.minimum_detectable_effect:.3g} or more with 80% power" in reading.sentence


def test_read_evidence_rejects_a_non_positive_sesoi_and_a_degenerate_interval() -> None:
    with pytest.raises(ValueError, match="sesoi must be positive"):
        two_one_sided_tests(estimate=0.0, std_error=0.1, df=10, sesoi=0.0)
    with pytest.raises(ValueError, match="conf_high must exceed conf_low"):
        implied_standard_error(conf_low=0.2, conf_high=0.2, df=10)
