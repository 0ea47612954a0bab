"""measurement.power against R's pwr (stored numbers), statsmodels and published examples."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from measurement.power import (
    PlannedDesign,
    design_effect,
    design_power,
    minimum_detectable_effect,
    required_size,
)

HERE = Path(__file__).resolve().parent
REFERENCE = json.loads((HERE / "power_reference.json").read_text(encoding="utf-8"))
PUBLISHED = {
    example["name"]: example
    for example in json.loads((HERE / "published_examples.json").read_text(encoding="utf-8"))[
        "examples"
    ]
}
TOLERANCE = 1e-4  # absolute, on power and on effects in SD units


@pytest.mark.parametrize(
    "case", REFERENCE["individual"], ids=lambda c: f"n{c['n_per_arm']}-d{c['d']}"
)
def test_individual_power_and_mde_agree_with_pwr_t_test(case: dict[str, float]) -> None:
    planned = PlannedDesign(n_respondents=int(2 * case["n_per_arm"]))
    assert design_power(planned, effect=case["d"]).power == pytest.approx(
        case["power"], abs=TOLERANCE
    )
    assert minimum_detectable_effect(planned).effect == pytest.approx(case["mde"], abs=TOLERANCE)


@pytest.mark.parametrize(
    "case", REFERENCE["unequal"], ids=lambda c: f"{c['n_treated']}-{c['n_comparison']}"
)
def test_unequal_allocation_agrees_with_pwr_t2n_test(case: dict[str, float]) -> None:
    total = case["n_treated"] + case["n_comparison"]
    planned = PlannedDesign(n_respondents=int(total), treated_share=case["n_treated"] / total)
    assert design_power(planned, effect=case["d"]).power == pytest.approx(
        case["power"], abs=TOLERANCE
    )


@pytest.mark.parametrize("case", REFERENCE["sample"], ids=lambda c: f"d{c['d']}")
def test_required_respondents_are_pwr_n_rounded_up(case: dict[str, float]) -> None:
    needed = required_size(
        PlannedDesign(n_respondents=4), effect=case["d"], power=0.8, solve_for="respondents"
    )
    # pwr's n per arm is a real number; the smallest whole total reaching the power is 2n up.
    assert needed.design.n_respondents == math.ceil(2 * case["n_per_arm"])
    assert needed.power >= 0.8
    smaller = PlannedDesign(n_respondents=int(needed.design.n_respondents or 0) - 1)
    assert design_power(smaller, effect=case["d"]).power < 0.8


@pytest.mark.parametrize(
    "case",
    REFERENCE["cluster"],
    ids=lambda c: f"k{c['clusters_per_arm']}-m{c['cluster_size']}-icc{c['icc']}",
)
def test_cluster_power_agrees_with_pwr_and_the_design_effect(case: dict[str, float]) -> None:
    planned = PlannedDesign(
        n_clusters=int(2 * case["clusters_per_arm"]),
        cluster_size=case["cluster_size"],
        icc=case["icc"],
    )
    result = design_power(planned, effect=case["d"])
    assert result.design_effect == pytest.approx(case["design_effect"], abs=1e-12)
    assert result.df == 2 * case["clusters_per_arm"] - 2
    assert result.power == pytest.approx(case["power"], abs=TOLERANCE)
    assert minimum_detectable_effect(planned).effect == pytest.approx(case["mde"], abs=TOLERANCE)
    needed = required_size(planned, effect=case["d"], solve_for="clusters")
    # pwr gives clusters per arm as a real number; whole clusters in two equal arms bracket it.
    assert (needed.design.n_clusters or 0) / 2 >= case["clusters_per_arm_needed"] - 0.5
    assert (needed.design.n_clusters or 0) - 1 < 2 * case["clusters_per_arm_needed"]


@pytest.mark.parametrize(
    "n_treated, ratio, effect", [(40, 1.0, 0.3), (25, 2.0, 0.5), (200, 0.5, 0.2)]
)
def test_power_agrees_with_statsmodels_t_and_normal_power_classes(
    n_treated: int, ratio: float, effect: float
) -> None:
    total = n_treated * (1 + ratio)
    planned = PlannedDesign(n_respondents=int(total), treated_share=1 / (1 + ratio))
    expected_t = TTestIndPower().power(effect_size=effect, nobs1=n_treated, alpha=0.05, ratio=ratio)
    assert design_power(planned, effect=effect).power == pytest.approx(expected_t, abs=TOLERANCE)
    normal = PlannedDesign(
        n_respondents=int(total), treated_share=1 / (1 + ratio), distribution="normal"
    )
    expected_z = NormalIndPower().power(
        effect_size=effect, nobs1=n_treated, alpha=0.05, ratio=ratio
    )
    assert design_power(normal, effect=effect).power == pytest.approx(expected_z, abs=TOLERANCE)
    solved = TTestIndPower().solve_power(nobs1=n_treated, alpha=0.05, power=0.8, ratio=ratio)
    assert minimum_detectable_effect(planned).effect == pytest.approx(solved, abs=TOLERANCE)


def test_the_stata_sampclus_worked_example_is_reproduced() -> None:
    example = PUBLISHED["stata_sampsi_sampclus"]
    effect = (example["mean_campaign"] - example["mean_comparison"]) / example["sd"]
    individual = required_size(
        PlannedDesign(n_respondents=4, distribution="normal"),
        effect=effect,
        power=example["power"],
        solve_for="respondents",
    )
    assert math.ceil((individual.design.n_respondents or 0) / 2) == example["n_per_arm_unadjusted"]
    deff = design_effect(cluster_size=example["cluster_size"], icc=example["icc"])
    assert deff == pytest.approx(example["design_effect"])
    adjusted = math.ceil(example["n_per_arm_unadjusted"] * deff)
    assert adjusted == example["n_per_arm_adjusted"]
    clustered = required_size(
        PlannedDesign(
            n_clusters=2,
            cluster_size=example["cluster_size"],
            icc=example["icc"],
            distribution="normal",
        ),
        effect=effect,
        power=example["power"],
    )
    assert clustered.design.n_clusters == example["n_clusters_total"]


def test_the_kerry_bland_constant_and_design_effect_are_reproduced() -> None:
    example = PUBLISHED["kerry_bland_1998"]
    # n per group = 21 s^2 / d^2: with d = 0.1 s, 2,100 per group (4,200 in all), to rounding.
    needed = required_size(
        PlannedDesign(n_respondents=4, distribution="normal"),
        effect=0.1,
        power=example["power"],
        solve_for="respondents",
    )
    per_group = (needed.design.n_respondents or 0) / 2
    assert per_group / 100 == pytest.approx(example["constant_per_group"], abs=0.02)
    # Cluster randomisation with 20 per cluster and r_I = 0.05 needs D = 1.95 times as many.
    clustered = required_size(
        PlannedDesign(n_clusters=2, cluster_size=20, icc=0.05, distribution="normal"),
        effect=0.1,
        power=example["power"],
    )
    respondents = (clustered.design.n_clusters or 0) * 20
    assert respondents / (2 * per_group) == pytest.approx(1.95, abs=0.01)


@pytest.mark.parametrize(
    "row",
    PUBLISHED["killip_mahfoud_pearce_2004"]["rows"],
    ids=lambda row: f"k{row['n_clusters']}-m{row['cluster_size']}",
)
def test_the_killip_mahfoud_pearce_power_table_is_reproduced(row: dict[str, float]) -> None:
    # The source rounds down: the effective sample size to whole respondents and the power
    # to whole percent; its design effect is printed to three decimals.
    example = PUBLISHED["killip_mahfoud_pearce_2004"]
    deff = design_effect(cluster_size=row["cluster_size"], icc=example["icc"])
    assert round(deff, 3) == pytest.approx(row["design_effect"], abs=1e-12)
    effective = math.floor(row["n_clusters"] * row["cluster_size"] / deff)
    assert effective == row["effective_sample_size"]
    power = design_power(PlannedDesign(n_respondents=effective), effect=example["effect"]).power
    assert math.floor(100 * power) == row["power_percent"]
    # The table treats the effective sample as independent respondents (df = ESS - 2); with
    # four clusters the project's cluster design (t with G - 2 = 2 df) gives far less power.
    clustered = PlannedDesign(
        n_clusters=row["n_clusters"], cluster_size=row["cluster_size"], icc=example["icc"]
    )
    assert design_power(clustered, effect=example["effect"]).power < power / 1.5
