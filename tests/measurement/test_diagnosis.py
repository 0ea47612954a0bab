"""measurement.diagnosis: the simulator plants what the design declares; power agrees."""

from __future__ import annotations

import numpy as np
import pytest

from measurement.diagnosis import diagnose_design, diagnose_designs, simulate_cluster_trial
from measurement.icc import intracluster_correlation
from measurement.power import PlannedDesign, minimum_detectable_effect

DESIGN = PlannedDesign(n_clusters=40, cluster_size=15, icc=0.1, analysis="ancova", r_squared=0.4)


def test_the_simulator_plants_the_declared_icc_r_squared_and_effect() -> None:
    frame = simulate_cluster_trial(
        PlannedDesign(n_clusters=400, cluster_size=15, icc=0.1, analysis="ancova", r_squared=0.4),
        effect=0.3,
        generator=np.random.default_rng(3),
    )
    icc = intracluster_correlation(frame, outcome="baseline", cluster="cluster")
    assert icc.conf_low < 0.1 < icc.conf_high
    assert np.corrcoef(frame["baseline"], frame["outcome"])[0, 1] ** 2 == pytest.approx(
        0.4, abs=0.03
    )
    means = frame.groupby("treated")["outcome"].mean()
    assert means[1.0] - means[0.0] == pytest.approx(0.3, abs=0.06)


def test_simulated_cr1_power_agrees_with_the_analytic_power_within_monte_carlo_error() -> None:
    effect = minimum_detectable_effect(DESIGN).effect
    result = diagnose_design(DESIGN, effect=effect, simulations=150, inference="cr1", seed=4)
    assert result.analytic_power == pytest.approx(0.8)
    assert abs(result.power - result.analytic_power) < 3 * 0.033  # SE of 0.8 over 150 studies
    assert abs(result.size - 0.05) < 3 * 0.018
    assert abs(result.bias) < 4 * result.bias_se + 1e-9
    assert result.coverage == pytest.approx(0.95, abs=0.06)


def test_diagnose_designs_needs_an_effect_per_outcome() -> None:
    with pytest.raises(ValueError, match="no effect given for"):
        diagnose_designs({"trust": DESIGN}, {}, simulations=2)
    with pytest.raises(ValueError, match="simulations must be at least 2"):
        diagnose_design(DESIGN, effect=0.2, simulations=1)
