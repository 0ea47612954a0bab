"""fit_linear_model and the wild bootstrap against stored statsmodels/pyfixest numbers.

Numbers and versions: linear_model_reference.json, produced by make_linear_model_reference.py
on linear_model_reference_data.csv. Tolerance: 1e-6 relative on standard errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from measurement.linear_model import fit_linear_model
from measurement.wild_bootstrap import wild_cluster_bootstrap

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "linear_model_reference.json").read_text())
DATA = pd.read_csv(HERE / "linear_model_reference_data.csv")
MODELS = {
    "no_fixed_effects": (["treated", "baseline"], [], None),
    "stratum_fixed_effects": (["treated", "baseline"], ["stratum"], None),
    "weighted_no_fixed_effects": (["treated", "baseline"], [], "weight"),
    "weighted_stratum_fixed_effects": (["treated", "baseline"], ["stratum"], "weight"),
    "cluster_fixed_effects_nested": (["baseline"], ["cluster"], None),
}


@pytest.mark.parametrize("case", list(MODELS))
@pytest.mark.parametrize(
    ("convention", "source"), [("stata", "statsmodels"), ("fixest", "pyfixest")]
)
def test_cr1_standard_errors_agree_with_the_recorded_reference(
    case: str, convention: str, source: str
) -> None:
    regressors, fixed_effects, weight = MODELS[case]
    fit = fit_linear_model(
        DATA,
        outcome="outcome",
        regressors=regressors,
        cluster="cluster",
        fixed_effects=fixed_effects,
        weight=weight,
        small_sample=convention,  # type: ignore[arg-type]
    )
    for term, expected in REFERENCE["cases"][case][source].items():
        result = fit.term(term)
        assert result["estimate"] == pytest.approx(expected["estimate"], rel=1e-9)
        assert result["std_error"] == pytest.approx(expected["std_error"], rel=1e-6)
        if "p_value" in expected:  # pyfixest uses t(G-1) as we do; statsmodels the normal
            assert result["p_value"] == pytest.approx(expected["p_value"], rel=1e-6)


def test_the_two_conventions_differ_only_when_fixed_effects_are_nested_in_clusters() -> None:
    nested = REFERENCE["cases"]["cluster_fixed_effects_nested"]
    assert nested["statsmodels"]["baseline"]["std_error"] != pytest.approx(
        nested["pyfixest"]["baseline"]["std_error"], rel=1e-3
    )


def test_wild_bootstrap_p_value_agrees_with_pyfixest_within_monte_carlo_error() -> None:
    expected = REFERENCE["wild_bootstrap_no_fixed_effects"]
    result = wild_cluster_bootstrap(
        DATA,
        outcome="outcome",
        regressors=["treated", "baseline"],
        term="treated",
        cluster="cluster",
        draws=expected["reps"],
        weights="rademacher",
        seed=11,
    )
    assert result.statistic == pytest.approx(expected["t_value"], rel=1e-6)
    p = expected["p_value"]
    monte_carlo_se = (p * (1 - p) / expected["reps"]) ** 0.5
    # Two independent runs of B draws: the difference has sd sqrt(2) * se; allow 4 sd.
    assert abs(result.p_value - p) < 4 * 2**0.5 * monte_carlo_se
