"""Hand-checked cases and errors of measurement.power."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from measurement.errors import DesignError
from measurement.power import (
    PlannedDesign,
    design_power,
    effect_standard_error,
    minimum_detectable_effect,
    required_size,
)


def test_a_cluster_design_standard_error_matches_the_formula_by_hand() -> None:
    # G = 40, m = 15, rho = 0.05: V = (0.05 + 0.95 / 15) / (0.25 * 40) = 0.0113333
    planned = PlannedDesign(n_clusters=40, cluster_size=15, icc=0.05)
    assert effect_standard_error(planned) == pytest.approx(
        math.sqrt((0.05 + 0.95 / 15) / 10), rel=1e-12
    )


def test_baseline_r_squared_attrition_and_unequal_clusters_enter_as_written() -> None:
    base = PlannedDesign(n_clusters=40, cluster_size=20, icc=0.1)
    ancova = replace(base, analysis="ancova", r_squared=0.5)
    assert effect_standard_error(ancova) == pytest.approx(
        math.sqrt((0.1 * 0.5 + 0.9 * 0.5 / 20) / 10), rel=1e-12
    )
    attrited = replace(base, attrition=0.2)  # 16 respondents left per cluster
    assert effect_standard_error(attrited) == pytest.approx(
        math.sqrt((0.1 + 0.9 / 16) / 10), rel=1e-12
    )
    unequal = replace(base, cluster_size_cv=0.5)  # Eldridge: rho (1 + cv^2)
    assert effect_standard_error(unequal) == pytest.approx(
        math.sqrt((0.1 * 1.25 + 0.9 / 20) / 10), rel=1e-12
    )


def test_did_of_cross_sections_doubles_the_variance_without_autocorrelation() -> None:
    endline = PlannedDesign(n_respondents=400)
    did = PlannedDesign(n_respondents=400, analysis="did")
    assert effect_standard_error(did) ** 2 == pytest.approx(2 * effect_standard_error(endline) ** 2)
    clustered = PlannedDesign(
        n_clusters=30, cluster_size=10, icc=0.2, analysis="did", cluster_autocorrelation=0.75
    )
    assert effect_standard_error(clustered) ** 2 == pytest.approx(
        2 * (0.2 * 0.25 + 0.8 / 10) / (0.25 * 30)
    )


def test_the_few_clusters_correction_lowers_power_against_the_normal_approximation() -> None:
    few_t = design_power(PlannedDesign(n_clusters=8, cluster_size=30, icc=0.05), effect=0.4)
    few_z = design_power(
        PlannedDesign(n_clusters=8, cluster_size=30, icc=0.05, distribution="normal"), effect=0.4
    )
    assert few_t.df == 6
    assert few_t.power < few_z.power - 0.05
    many_t = design_power(PlannedDesign(n_clusters=400, cluster_size=30, icc=0.05), effect=0.1)
    many_z = design_power(
        PlannedDesign(n_clusters=400, cluster_size=30, icc=0.05, distribution="normal"), effect=0.1
    )
    assert many_t.power == pytest.approx(many_z.power, abs=0.002)


def test_strata_cost_degrees_of_freedom() -> None:
    assert PlannedDesign(n_clusters=20, cluster_size=10, n_strata=4).df == 15


def test_the_minimum_detectable_effect_has_the_asked_power() -> None:
    planned = PlannedDesign(
        n_clusters=24, cluster_size=12, icc=0.08, analysis="ancova", r_squared=0.3
    )
    mde = minimum_detectable_effect(planned, power=0.9)
    assert mde.power == pytest.approx(0.9, abs=1e-9)


def test_required_cluster_size_reports_when_no_size_is_enough() -> None:
    with pytest.raises(DesignError, match=r"cannot reach power 0\.8 .* Add clusters"):
        required_size(
            PlannedDesign(n_clusters=6, cluster_size=10, icc=0.3),
            effect=0.3,
            solve_for="cluster_size",
        )
    enough = required_size(
        PlannedDesign(n_clusters=60, cluster_size=2, icc=0.05),
        effect=0.25,
        solve_for="cluster_size",
    )
    assert enough.power >= 0.8
    fewer = PlannedDesign(n_clusters=60, cluster_size=enough.design.cluster_size - 1, icc=0.05)
    assert design_power(fewer, effect=0.25).power < 0.8


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({}, "neither n_clusters nor n_respondents"),
        ({"n_clusters": 1}, "n_clusters must be at least 2"),
        ({"n_respondents": 50, "icc": 1.0}, "icc must lie in"),
        ({"n_respondents": 50, "treated_share": 0.0}, "treated_share must lie in"),
        ({"n_respondents": 50, "analysis": "logit"}, "analysis must be"),
    ],
)
def test_planned_design_rejects_bad_arguments(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PlannedDesign(**arguments)  # type: ignore[arg-type]


def test_a_design_without_degrees_of_freedom_is_a_design_error() -> None:
    with pytest.raises(DesignError, match="degrees of freedom"):
        design_power(PlannedDesign(n_clusters=3, cluster_size=10, n_strata=2), effect=0.5)


def test_power_stays_defined_where_scipys_noncentral_t_returns_nan() -> None:
    # scipy's nct gives NaN at df = 1 with noncentrality 8 (and at df = 5 with 16); a small
    # simulated study with Satterthwaite df near 1 then crashed the MDE of its estimates.
    from scipy import stats

    from measurement.power import (
        _power_by_integration,
        minimum_detectable_effect_from_standard_error,
        power_from_standard_error,
    )

    critical = float(stats.t.ppf(0.975, 3))
    reference = stats.nct.sf(critical, 3, 4.0) + stats.nct.cdf(-critical, 3, 4.0)
    assert _power_by_integration(critical, 3, 4.0) == pytest.approx(reference, rel=1e-9)
    powers = [float(power_from_standard_error(x, std_error=1.0, df=1.0)) for x in (4, 8, 16)]
    assert all(0 < value < 1 for value in powers)
    assert powers == sorted(powers)
    mde = minimum_detectable_effect_from_standard_error(std_error=1.0, df=1.0)
    assert float(power_from_standard_error(mde, std_error=1.0, df=1.0)) == pytest.approx(0.8)
