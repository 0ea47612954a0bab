"""CR1 and CR2 from one solve, CR2 reused across outcomes, and prepared designs passed on:
the same numbers as computing each anew."""

from __future__ import annotations

import numpy as np
import pandas as pd

from measurement.effects import EffectModel, specify_did
from measurement.linear_model import (
    Design,
    LinearFit,
    fit_design,
    fit_design_variances,
    prepare_design,
)
from measurement.randomization_inference import randomization_inference_effect
from measurement.wild_bootstrap import wild_bootstrap_effect


def _frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.repeat([f"c{i:02d}" for i in range(16)], 24)})
    frame["stratum"] = np.repeat(np.arange(16) % 2, 24)
    frame["treated"] = np.repeat((np.arange(16) // 2) % 2, 24).astype(float)
    frame["post"] = np.tile([0.0, 1.0], len(frame) // 2)
    effect = 0.3 * frame["treated"] * frame["post"]
    frame["first"] = effect + rng.normal(size=len(frame))
    frame["second"] = -effect + rng.normal(size=len(frame)) * 2
    frame.loc[rng.choice(len(frame), 20, replace=False), "second"] = np.nan
    frame["third"] = rng.normal(size=len(frame))
    return frame


def _did_design(frame: pd.DataFrame, outcome: str) -> tuple[EffectModel, Design]:
    model = specify_did(
        frame, outcome=outcome, treated="treated", post="post", cluster="cluster", stratum="stratum"
    )
    design = prepare_design(
        model.frame,
        outcome=model.outcome,
        regressors=model.regressors,
        cluster=model.cluster,
        fixed_effects=model.fixed_effects,
        weight=model.weight,
    )
    return model, design


def _same(left: LinearFit, right: LinearFit) -> None:
    pd.testing.assert_series_equal(left.coefficients, right.coefficients, check_exact=True)
    pd.testing.assert_frame_equal(left.vcov, right.vcov, check_exact=True)
    assert left.variance == right.variance
    for name in left.coefficients.index:
        assert left.term(name) == right.term(name)


def test_both_variances_of_one_solve_equal_two_separate_fits() -> None:
    _, design = _did_design(_frame(), "first")
    for small_sample in ("stata", "fixest"):
        first, second = fit_design_variances(design, small_sample=small_sample)
        _same(first, fit_design(design, small_sample=small_sample))
        _same(second, fit_design(design, vcov="CR2"))
        assert first.vcov_type == "CR1" and second.vcov_type == "CR2"


def test_reused_cr2_equals_cr2_computed_anew_and_only_for_the_same_design() -> None:
    frame = _frame()
    _, first_design = _did_design(frame, "first")
    _, third_design = _did_design(frame, "third")
    _, second_design = _did_design(frame, "second")
    _, earlier = fit_design_variances(first_design)
    assert earlier.bias_reduced is not None
    _, reused = fit_design_variances(third_design, reuse=earlier.bias_reduced)
    _same(reused, fit_design(third_design, vcov="CR2"))
    assert reused.bias_reduced is not None
    # Same rows and regressors: the adjustment matrices are the earlier fit's.
    assert reused.bias_reduced.adjusted is earlier.bias_reduced.adjusted
    # Missing answers change the rows: nothing is reused, the numbers are computed anew.
    _, other = fit_design_variances(second_design, reuse=earlier.bias_reduced)
    _same(other, fit_design(second_design, vcov="CR2"))
    assert other.bias_reduced is not None
    assert other.bias_reduced.adjusted is not earlier.bias_reduced.adjusted


def test_bootstrap_and_randomization_on_a_passed_design_equal_those_preparing_it() -> None:
    model, design = _did_design(_frame(), "second")
    for given in (None, design):
        boot = wild_bootstrap_effect(model, draws=199, seed=np.random.default_rng(5), design=given)
        permutation = randomization_inference_effect(
            model, draws=199, seed=np.random.default_rng(6), design=given
        )
        if given is None:
            expected = (boot, permutation.p_value, permutation.estimate)
        else:
            assert boot == expected[0]
            assert (permutation.p_value, permutation.estimate) == expected[1:]


def test_codes_of_a_categorical_equal_the_sorted_factorization_of_its_labels() -> None:
    from measurement.linear_model import _codes

    rng = np.random.default_rng(7)
    labels = pd.Series(rng.choice(["b", "a", "d", "c10", "c9"], 300), dtype="object")
    labels[rng.choice(300, 12, replace=False)] = None
    categorical = pd.Series(pd.Categorical(labels, categories=["a", "b", "c10", "c9", "d", "z"]))
    keep = labels.notna().to_numpy() & (rng.random(300) < 0.7)
    keep[labels.to_numpy() == "a"] = False  # a category with no kept row is not coded
    for complete, rows in ((False, keep), (True, np.ones(300, dtype=bool))):
        plain = labels.fillna("a") if complete else labels
        expected = pd.factorize(
            plain.to_numpy()[rows] if not complete else plain.to_numpy(), sort=True
        )
        given = (
            pd.Series(pd.Categorical(plain, categories=["a", "b", "c10", "c9", "d", "z"]))
            if complete
            else categorical
        )
        codes, size = _codes(given, rows, complete)
        assert size == len(expected[1])
        assert np.array_equal(codes, expected[0])
