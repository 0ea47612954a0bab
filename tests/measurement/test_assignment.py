"""measurement.assignment: reproducible stratified draws, balance, re-randomisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from measurement.assignment import assign_units, assignment_balance
from measurement.assignment_record import AssignmentRecord
from measurement.errors import DesignError
from measurement.rerandomization import BalanceRule, standardized_differences

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
        [assign_units(UNITS, unit="village", stratum="region", seed=s).treated for s in range(200)],
        axis=0,
    )
    assert np.abs(shares - 0.5).max() < 0.14  # 200 draws: SE 0.035 per unit, 4 SE


def test_rerandomisation_meets_its_rule_and_records_its_draws() -> None:
    rule = BalanceRule(covariates=("size",), threshold=0.05)
    drawn = assign_units(UNITS, unit="village", stratum="region", seed=7, rule=rule)
    assert abs(drawn.balance["standardized_difference"].iloc[0]) <= 0.05
    assert drawn.draws > 1 and "0.05" in drawn.rule
    record = drawn.record
    assert record.rule == rule and record.seed == 7 and record.draws == drawn.draws
    assert record.units == tuple(UNITS["village"]) and record.strata == tuple(UNITS["region"])
    assert record.treated == tuple(int(v) for v in drawn.treated)
    assert np.array_equal(record.value_matrix()[:, 0], UNITS["size"].to_numpy())


def test_the_balance_shown_is_the_number_the_rule_judges() -> None:
    # By hand: values 1..4, units 1 and 4 treated: means 2.5 and 2.5, difference 0; units 3
    # and 4 treated: (3.5 - 1.5) / sd(1..4) = 2 / 1.2910 = 1.5492.
    units = pd.DataFrame({"unit": list("abcd"), "x": [1.0, 2.0, 3.0, 4.0]})
    shown = assignment_balance(units, [0, 0, 1, 1], ["x"])["standardized_difference"].iloc[0]
    assert shown == pytest.approx(2 / np.std([1, 2, 3, 4], ddof=1), rel=1e-12)
    judged = standardized_differences(units[["x"]].to_numpy(), np.array([[0, 0, 1, 1]]))[0, 0]
    assert shown == pytest.approx(judged, rel=1e-12)
    rule = BalanceRule(covariates=("x",), threshold=1.0)
    assert list(rule.accepts(units[["x"]].to_numpy(), np.array([[1, 0, 0, 1], [0, 0, 1, 1]]))) == [
        True,
        False,
    ]


def test_the_record_survives_a_round_trip_and_detects_an_edit() -> None:
    rule = BalanceRule(covariates=("size",), threshold=0.1)
    record = assign_units(UNITS, unit="village", stratum="region", seed=3, rule=rule).record
    mapping = record.to_dict()
    assert mapping["rule"] == {
        "kind": "max_abs_standardized_difference",
        "covariates": ["size"],
        "threshold": 0.1,
        "maximum_draws": 10_000,
        "scale": "standard deviation over all units (ddof 1)",
    }
    assert AssignmentRecord.from_dict(mapping, source="record.json") == record
    edited = {**mapping, "units": [dict(row) for row in mapping["units"]]}  # type: ignore[union-attr]
    edited["units"][0]["values"] = [999.0]  # type: ignore[index]
    with pytest.raises(ValueError, match="changed after assignment"):
        AssignmentRecord.from_dict(edited, source="record.json")
    with pytest.raises(ValueError, match="rule kind 'mahalanobis'"):
        AssignmentRecord.from_dict(
            {**mapping, "rule": {**mapping["rule"], "kind": "mahalanobis"}},  # type: ignore[dict-item]
            source="record.json",
        )
    with pytest.raises(ValueError, match="is not an assignment record"):
        AssignmentRecord.from_dict({"seed": 1}, source="record.json")


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
            rule=BalanceRule(covariates=("size",), threshold=1e-9, maximum_draws=3),
        )
    with pytest.raises(DesignError, match="missing or not numeric for 1 unit"):
        assign_units(
            UNITS.assign(size=[np.nan, *UNITS["size"].iloc[1:]]),
            unit="village",
            seed=1,
            rule=BalanceRule(covariates=("size",), threshold=0.5),
        )
