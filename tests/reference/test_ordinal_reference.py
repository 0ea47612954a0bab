"""Ordered logit against R ordinal::clm (tests/reference/make_ordinal_reference.R), to 1e-6."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from measurement.ordinal import estimate_ordered_logit, fit_ordered_logit

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "ordinal_reference.json").read_text())
DATA = pd.read_csv(HERE / "ordinal_reference_data.csv")
TOLERANCE = REFERENCE["tolerance"]["relative"]
REGRESSORS = ["treated", "baseline", "stratum_1", "stratum_2"]


def test_fit_ordered_logit_matches_clm_coefficients_cut_points_and_log_likelihood() -> None:
    fit = fit_ordered_logit(DATA, outcome="outcome", regressors=REGRESSORS, cluster="cluster")
    assert fit.converged
    for name, value in REFERENCE["coefficients"].items():
        assert fit.coefficients[name] == pytest.approx(value, rel=TOLERANCE)
    for name, value in REFERENCE["cut_points"].items():
        assert fit.cut_points[name] == pytest.approx(value, rel=TOLERANCE)
    assert fit.log_likelihood == pytest.approx(REFERENCE["log_likelihood"], rel=1e-10)


def test_fit_ordered_logit_matches_clm_model_based_and_cluster_robust_errors() -> None:
    fit = fit_ordered_logit(DATA, outcome="outcome", regressors=REGRESSORS, cluster="cluster")
    table = fit.tidy().set_index("term")
    for name, value in REFERENCE["std_error_model"].items():
        assert table.loc[name, "std_error_model"] == pytest.approx(value, rel=TOLERANCE)
    for name, value in REFERENCE["std_error_cluster"].items():
        assert table.loc[name, "std_error"] == pytest.approx(value, rel=TOLERANCE)
    assert table["kind"].tolist() == ["coefficient"] * 4 + ["cut_point"] * 4


def test_the_ordered_logit_effect_row_matches_clm_to_one_in_a_million() -> None:
    effect = estimate_ordered_logit(
        DATA,
        outcome="outcome",
        treated="treated",
        cluster="cluster",
        baseline="baseline",
        stratum="stratum",
    )
    assert effect.estimate == pytest.approx(REFERENCE["coefficients"]["treated"], rel=TOLERANCE)
    assert effect.std_error == pytest.approx(
        REFERENCE["std_error_cluster"]["treated"], rel=TOLERANCE
    )
    assert np.isfinite(effect.p_value) and effect.warnings == ()
