"""Randomization inference that respects a recorded re-randomization rule."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest

from measurement.assignment import assign_units
from measurement.assignment_record import AssignmentRecord
from measurement.errors import DesignError
from measurement.randomization_inference import permute_within_strata, randomization_inference
from measurement.rerandomization import BalanceRule, standardized_differences

SIMPLE = dict(
    outcome="outcome",
    regressors=["treated"],
    term="treated",
    treated="treated",
    cluster="cluster",
    permuted={"treated": None},
)


def tiny_design() -> tuple[pd.DataFrame, AssignmentRecord]:
    """Six clusters with x = 1..6, three treated, two rows each around the cluster means."""
    means = np.array([5.0, 1.0, 2.0, 6.0, 0.0, 4.0])
    treated = np.array([1, 0, 0, 1, 0, 1])
    frame = pd.DataFrame({"cluster": np.repeat([f"k{i}" for i in range(1, 7)], 2)})
    frame["treated"] = np.repeat(treated, 2).astype(float)
    frame["outcome"] = np.repeat(means, 2) + np.tile([-0.5, 0.5], 6)
    record = AssignmentRecord(
        units=tuple(f"k{i}" for i in range(1, 7)),
        strata=("all",) * 6,
        treated=tuple(int(v) for v in treated),
        covariates=("x",),
        values=tuple((float(v),) for v in range(1, 7)),
        rule=BalanceRule(covariates=("x",), threshold=0.4),
        seed=1,
        draws=4,
    )
    return frame, record


def test_exact_randomization_inference_under_the_rule_equals_the_count_by_hand() -> None:
    # x = 1..6 has SD 1.8708, so |difference| <= 0.4 SD means |2 S - 21| / 3 <= 0.748 for
    # the sum S of the treated x: S is 10 or 11, six of the 20 assignments ({1,3,6},
    # {1,4,5}, {2,3,5}; {1,4,6}, {2,3,6}, {2,4,5}). With cluster means 5, 1, 2, 6, 0, 4 the
    # difference in means is (2 T - 18) / 3 for the treated sum T: 4/3, 4/3, -4, 4 (the
    # observed {1,4,6}), -4/3, -4/3; two of six reach |4|, p = 1/3. Ignoring the rule, two
    # of the 20 reach it ({1,4,6} and its complement), p = 1/10.
    frame, record = tiny_design()
    kept = randomization_inference(frame, **SIMPLE, rerandomization=record)
    assert kept.enumerated and kept.draws == 6
    assert kept.estimate == pytest.approx(4.0)
    assert kept.p_value == pytest.approx(1 / 3, rel=1e-12)
    assert "re-randomization rule" in kept.inference and "6 recorded units" in kept.inference
    ignored = randomization_inference(frame, **SIMPLE)
    assert ignored.enumerated and ignored.draws == 20
    assert ignored.p_value == pytest.approx(1 / 10, rel=1e-12)
    # The rule on the clusters' means of a column of the responses gives the same answer.
    with_column = frame.assign(x=np.repeat(np.arange(1.0, 7.0), 2))
    judged = randomization_inference(
        with_column, **SIMPLE, rerandomization=BalanceRule(covariates=("x",), threshold=0.4)
    )
    assert judged.p_value == pytest.approx(1 / 3, rel=1e-12) and judged.draws == 6


def test_recorded_units_absent_from_the_data_still_take_part_in_the_rule() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=8)
    observed = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    present = [0, 1, 2, 3, 5, 6]  # units 4 and 7 dropped out of the survey
    means = rng.normal(size=8)
    frame = pd.DataFrame({"cluster": np.repeat([f"u{i}" for i in present], 3)})
    frame["treated"] = np.repeat(observed[present], 3).astype(float)
    frame["outcome"] = np.repeat(means[present], 3) + rng.normal(size=len(present) * 3)
    threshold = float(np.abs(standardized_differences(x[:, None], observed[None, :]))[0, 0]) + 0.3
    record = AssignmentRecord(
        units=tuple(f"u{i}" for i in range(8)),
        strata=("all",) * 8,
        treated=tuple(int(v) for v in observed),
        covariates=("x",),
        values=tuple((float(v),) for v in x),
        rule=BalanceRule(covariates=("x",), threshold=threshold),
        seed=0,
        draws=1,
    )
    result = randomization_inference(frame, **SIMPLE, rerandomization=record)
    # By brute force: every 4-of-8 assignment, kept when the rule accepts it on all eight
    # units, the difference in row means of the six surveyed clusters.
    row_means = frame.groupby("cluster", sort=False)["outcome"].mean().to_numpy()
    statistics = []
    for chosen in itertools.combinations(range(8), 4):
        a = np.zeros(8)
        a[list(chosen)] = 1
        if np.abs(standardized_differences(x[:, None], a[None, :]))[0, 0] > threshold:
            continue
        arm = a[present]
        statistics.append(row_means[arm == 1].mean() - row_means[arm == 0].mean())
    values = np.abs(np.array(statistics))
    assert result.enumerated and result.draws == len(statistics) < 70
    assert result.p_value == pytest.approx(
        np.mean(values >= abs(result.estimate) * (1 - 1e-10)), rel=1e-12
    )


def stratified_trial(seed: int) -> tuple[pd.DataFrame, AssignmentRecord]:
    """Two strata of eight clusters, ten respondents each, drawn under a rule on x."""
    rng = np.random.default_rng(seed)
    units = pd.DataFrame(
        {
            "cluster": [f"c{i:02d}" for i in range(16)],
            "stratum": ["a"] * 8 + ["b"] * 8,
            "x": rng.normal(size=16),
        }
    )
    drawn = assign_units(
        units,
        unit="cluster",
        stratum="stratum",
        seed=seed,
        rule=BalanceRule(covariates=("x",), threshold=0.25),
    )
    frame = units.loc[np.repeat(np.arange(16), 10)].reset_index(drop=True)
    frame["treated"] = drawn.treated.loc[frame["cluster"]].to_numpy().astype(float)
    frame["baseline"] = rng.normal(size=len(frame))
    cluster_shock = np.repeat(rng.normal(size=16) + 0.8 * units["x"].to_numpy(), 10)
    frame["outcome"] = frame["baseline"] + cluster_shock + rng.normal(size=len(frame))
    return frame, drawn.record


def test_randomization_inference_under_a_record_agrees_with_brute_force_rejection_sampling() -> (
    None
):
    frame, record = stratified_trial(5)
    ancova = dict(
        outcome="outcome",
        regressors=["treated", "baseline"],
        term="treated",
        treated="treated",
        cluster="cluster",
        permuted={"treated": None},
        stratum="stratum",
        fixed_effects=["stratum"],
    )
    exact = randomization_inference(frame, **ancova, draws=4999, rerandomization=record)
    assert exact.enumerated and exact.draws < 4900
    # Brute force: permute within strata, keep what the rule accepts (computed here), refit
    # the regression by least squares on each kept assignment.
    rng = np.random.default_rng(11)
    x = record.value_matrix()
    strata = np.repeat([0, 1], 8)
    observed = record.treated_array()
    candidates = permute_within_strata(observed, strata, 20_000, rng)
    kept = candidates[np.abs(standardized_differences(x, candidates))[:, 0] <= 0.25][:3000]
    assert len(kept) == 3000
    codes = frame["cluster"].str[1:].astype(int).to_numpy()
    base = np.column_stack(
        [np.ones(len(frame)), frame["baseline"], (frame["stratum"] == "b").astype(float)]
    )
    y = frame["outcome"].to_numpy()
    coefficients = np.array(
        [np.linalg.lstsq(np.column_stack([a[codes], base]), y, rcond=None)[0][0] for a in kept]
    )
    brute = np.mean(np.abs(coefficients) >= abs(exact.estimate) * (1 - 1e-10))
    error = np.sqrt(exact.p_value * (1 - exact.p_value) / len(kept))
    assert abs(brute - exact.p_value) < 4 * error
    drawn = randomization_inference(
        frame, **ancova, draws=3000, enumeration="never", seed=2, rerandomization=record
    )
    assert abs(drawn.p_value - exact.p_value) < 4 * error
    # Every drawn statistic is one of the enumerated (accepted) assignments' statistics.
    accepted = np.round(exact.null_distribution, 9)
    assert set(np.round(drawn.null_distribution, 9)) <= set(accepted)


def test_a_record_that_does_not_match_the_data_is_refused() -> None:
    frame, record = tiny_design()
    with pytest.raises(DesignError, match="recorded covariate values of \\['x'\\] do not match"):
        randomization_inference(
            frame.assign(x=np.repeat([1.0, 2.0, 3.0, 4.0, 5.0, 7.0], 2)),
            **SIMPLE,
            rerandomization=record,
        )
    with pytest.raises(DesignError, match="2 of 6 clusters are in a different arm"):
        randomization_inference(
            frame.assign(treated=np.repeat([0.0, 1.0, 0.0, 1.0, 0.0, 1.0], 2)),
            **SIMPLE,
            rerandomization=record,
        )
    with pytest.raises(DesignError, match="1 of the data's 6 clusters are not units"):
        randomization_inference(
            frame.replace({"cluster": {"k6": "k9"}}), **SIMPLE, rerandomization=record
        )
    unbalanced = dataclasses.replace(record, treated=(1, 1, 1, 0, 0, 0))
    with pytest.raises(DesignError, match="does not satisfy the re-randomization rule"):
        randomization_inference(
            frame.assign(treated=np.repeat([1.0, 1.0, 1.0, 0.0, 0.0, 0.0], 2)),
            **SIMPLE,
            rerandomization=unbalanced,
        )
    with pytest.raises(TypeError, match="rerandomization must be a BalanceRule, an"):
        randomization_inference(frame, **SIMPLE, rerandomization="x <= 0.1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one entry per unit"):
        dataclasses.replace(record, strata=("all",))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"units": ("k1",) * 6}, "5 unit\\(s\\) are listed more than once"),
        ({"treated": (1, 0, 0, 2, 0, 1)}, "treated must hold 0 or 1"),
        ({"values": ((1.0, 2.0),) * 6}, "one value per covariate"),
        ({"covariates": ("y",)}, "the rule judges \\['x'\\] but the record holds values of"),
        ({"values": ((float("nan"),),) * 6}, "missing values in the record"),
    ],
)
def test_an_inconsistent_record_is_refused(change: dict[str, object], message: str) -> None:
    _, record = tiny_design()
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(record, **change)  # type: ignore[arg-type]


def test_a_malformed_record_or_rule_is_refused() -> None:
    _, record = tiny_design()
    mapping = record.to_dict()
    with pytest.raises(ValueError, match="not a readable assignment record"):
        AssignmentRecord.from_dict({**mapping, "seed": "soon"}, source="record.json")
    with pytest.raises(ValueError, match="key 'draws' is missing"):
        AssignmentRecord.from_dict(
            {key: value for key, value in mapping.items() if key != "draws"}, source="r.json"
        )
    with pytest.raises(ValueError, match="maximum_draws must be a positive integer"):
        BalanceRule(covariates=("x",), threshold=0.1, maximum_draws=0)
    with pytest.raises(ValueError, match="covariates must be a non-empty tuple"):
        BalanceRule(covariates="x", threshold=0.1)  # type: ignore[arg-type]
    units = pd.DataFrame({"village": [1, "1", 2, 3], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(DesignError, match="coincide once written as text"):
        assign_units(units, unit="village", seed=1)
    with pytest.raises(TypeError, match="rule must be a BalanceRule or None"):
        assign_units(units.assign(village=list("abcd")), unit="village", seed=1, rule="x")  # type: ignore[arg-type]
