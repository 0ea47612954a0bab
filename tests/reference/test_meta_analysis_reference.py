"""Meta-analysis against R metafor 3.8-1 (numbers in meta_analysis_reference.json).

The script ``make_meta_analysis_reference.R`` beside this file wrote the numbers and the three
data sets (metafor's dat.bcg, dat.normand1999 and dat.konstantopoulos2011). Tolerance 1e-6
absolute on every number (the implementations agree to about 1e-9: REML is solved to 1e-12 on
both sides, metafor's three-level fit to its optimizer's relative tolerance of 1e-12).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from measurement.errors import FewStudiesWarning
from measurement.meta_analysis import meta_analysis, meta_regression
from measurement.meta_bias import egger_test
from measurement.meta_multilevel import multilevel_meta_analysis

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "meta_analysis_reference.json").read_text(encoding="utf-8"))
CASES = REFERENCE["cases"]
TOLERANCE = 1e-6
POOLED_FIELDS = {
    "estimate": "estimate",
    "std_error": "std_error",
    "statistic": "statistic",
    "p_value": "p_value",
    "conf_low": "conf_low",
    "conf_high": "conf_high",
    "tau2": "tau2",
    "i2": "i_squared",
    "h2": "h_squared",
    "q": "q",
    "q_p_value": "q_p_value",
    "pred_low": "prediction_low",
    "pred_high": "prediction_high",
}
SETTINGS = {
    "reml_knha": ("REML", "knha"),
    "reml_z": ("REML", "z"),
    "dl_z": ("DL", "z"),
    "dl_knha": ("DL", "knha"),
    "fixed": ("FE", "z"),
}


def data_set(name: str) -> pd.DataFrame:
    frame = pd.read_csv(HERE / f"meta_analysis_{name}.csv")
    frame["sei"] = np.sqrt(frame["vi"])
    return frame


def test_the_reference_file_names_the_r_and_metafor_versions() -> None:
    assert REFERENCE["provenance"]["metafor_version"] == "3.8.1"
    assert REFERENCE["provenance"]["r_version"].startswith("R version 4.2")


@pytest.mark.parametrize(
    ("data", "case"),
    [(data, case) for data in ("bcg", "normand1999") for case in SETTINGS]
    + [("konstantopoulos2011", "reml_knha")],
)
def test_pooled_estimates_agree_with_metafor(data: str, case: str) -> None:
    method, test = SETTINGS[case]
    pooled = meta_analysis(data_set(data), estimate="yi", std_error="sei", method=method, test=test)
    expected = CASES[data][case]
    for key, field in POOLED_FIELDS.items():
        if expected[key] == {}:  # R's NULL: metafor gives no prediction interval under FE
            assert method == "FE" and key.startswith("pred")
            continue
        assert getattr(pooled, field) == pytest.approx(expected[key], abs=TOLERANCE), key
    if method == "REML":
        assert pooled.tau2_std_error == pytest.approx(expected["se_tau2"], abs=TOLERANCE)
    assert pooled.n_studies == expected["k"]
    if test == "knha":
        assert pooled.df == expected["dfs"]


@pytest.mark.parametrize(
    ("case", "moderators", "terms"),
    [
        ("moderators_knha", ["ablat", "year"], ["intercept", "ablat", "year"]),
        ("moderators_z", ["ablat", "year"], ["intercept", "ablat", "year"]),
        (
            "moderators_alloc_knha",
            ["alloc"],
            ["intercept", "alloc[random]", "alloc[systematic]"],
        ),
    ],
)
def test_meta_regression_agrees_with_metafor(
    case: str, moderators: list[str], terms: list[str]
) -> None:
    expected = CASES["bcg"][case]
    test = "knha" if case.endswith("knha") else "z"
    fit = meta_regression(
        data_set("bcg"), moderators=moderators, estimate="yi", std_error="sei", test=test
    )
    table = fit.tidy()
    assert list(table["term"]) == terms
    for column in ("estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"):
        np.testing.assert_allclose(table[column], expected[column], atol=TOLERANCE, rtol=0)
    assert fit.tau2 == pytest.approx(expected["tau2"], abs=TOLERANCE)
    assert fit.i_squared == pytest.approx(expected["i2"], abs=TOLERANCE)
    assert fit.h_squared == pytest.approx(expected["h2"], abs=TOLERANCE)
    assert fit.r_squared == pytest.approx(expected["r2"], abs=TOLERANCE)
    assert fit.qe == pytest.approx(expected["qe"], abs=TOLERANCE)
    assert fit.qm == pytest.approx(expected["qm"], abs=TOLERANCE)
    assert fit.qm_p_value == pytest.approx(expected["qm_p_value"], abs=TOLERANCE)


@pytest.mark.parametrize(("case", "moderators"), [("three_level", []), ("three_level_year", ["x"])])
def test_three_level_pooling_agrees_with_metafor_rma_mv(case: str, moderators: list[str]) -> None:
    expected = CASES["konstantopoulos2011"][case]
    frame = data_set("konstantopoulos2011")
    frame["x"] = frame["year"] - 1990
    fit = multilevel_meta_analysis(
        frame, study="district", estimate="yi", std_error="sei", moderators=moderators
    )
    table = fit.coefficients
    for column in ("estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"):
        np.testing.assert_allclose(
            table[column], np.atleast_1d(expected[column]), atol=TOLERANCE, rtol=0
        )
    assert [fit.sigma2_study, fit.sigma2_estimate] == pytest.approx(
        expected["sigma2"], abs=TOLERANCE
    )
    assert fit.log_likelihood == pytest.approx(expected["loglik"], abs=TOLERANCE)
    assert fit.q == pytest.approx(expected["q"], abs=TOLERANCE)
    assert fit.n_estimates == expected["k"]
    if not moderators:
        assert fit.prediction_low == pytest.approx(expected["pred_low"], abs=TOLERANCE)
        assert fit.prediction_high == pytest.approx(expected["pred_high"], abs=TOLERANCE)


@pytest.mark.parametrize("data", ["bcg", "normand1999"])
@pytest.mark.parametrize("model", ["rma", "lm"])
def test_eggers_test_agrees_with_metafor_regtest(data: str, model: str) -> None:
    expected = CASES[data][f"egger_{model}"]
    with warnings.catch_warnings():
        # normand1999 has 9 studies: the caveat is expected and tested elsewhere.
        warnings.simplefilter("ignore", FewStudiesWarning)
        result = egger_test(data_set(data), estimate="yi", std_error="sei", model=model)
    assert result.statistic == pytest.approx(expected["statistic"], abs=TOLERANCE)
    assert result.p_value == pytest.approx(expected["p_value"], abs=TOLERANCE)
    assert result.limit_estimate == pytest.approx(expected["limit_estimate"], abs=TOLERANCE)
    assert result.df == expected["dfs"]
