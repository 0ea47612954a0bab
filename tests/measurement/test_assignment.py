"""measurement.assignment: reproducible stratified draws, balance, re-randomisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from measurement.assignment import RerandomisationRule, assign_units
from measurement.errors import DesignError

UNITS = pd.DataFrame(
    {
        "village": [f"v{i:02d}" for i in range(40)],
        "region": ["north"] * 16 + ["south"] * 24,
        "size": np.random.default_rng(1).normal(100, 30, 40),
    }
)


def test_the_same_seed_gives_the_same_assignment_and_halves_each_stratum() -> None:
    first = assign_units(UNITS, unit="village", stratum="region", seed=42, covariates=["size"])
    second = assign_units(UNITS, unit="village", stratum="region", seed=42)
    assert first.treated.equals(second.treated)
    by_region = first.treated.groupby(UNITS["region"].to_numpy()).sum()
    assert by_region.to_dict() == {"north": 8, "south": 12}
    assert not first.treated.equals(assign_units(UNITS, unit="village", seed=43).treated)
    assert list(first.balance["covariate"]) == ["size"]


def test_each_unit_is_treated_with_the_planned_probability() -> None:
    shares = np.mean(
        [assign_units(UNITS, unit="village", stratum="region", seed=s).treated for s in range(400)],
        axis=0,
    )
    assert np.abs(shares - 0.5).max() < 0.1  # 400 draws: SE 0.025 per unit


def test_rerandomisation_meets_its_rule_and_records_its_draws() -> None:
    rule = RerandomisationRule(covariates=("size",), maximum=0.05)
    drawn = assign_units(UNITS, unit="village", stratum="region", seed=7, rule=rule)
    assert abs(drawn.balance["standardized_difference"].iloc[0]) <= 0.05
    assert drawn.draws >= 1 and "0.05" in drawn.rule


def test_assignment_errors_name_the_fix() -> None:
    with pytest.raises(DesignError, match="listed more than once"):
        assign_units(pd.concat([UNITS, UNITS.iloc[:1]]), unit="village", seed=1)
    with pytest.raises(DesignError, match="Merge small strata"):
        assign_units(
            UNITS.assign(region=["a"] + ["b"] * 39), unit="village", stratum="region", seed=1
        )
    with pytest.raises(DesignError, match="no draw in 3 met the rule"):
        assign_units(
            UNITS,
            unit="village",
            seed=1,
            rule=RerandomisationRule(covariates=("size",), maximum=1e-9, maximum_draws=3),
        )
