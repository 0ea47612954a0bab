"""CR2, Satterthwaite degrees of freedom, HTZ Wald tests and HC2 against R.

The numbers come from R clubSandwich (``vcovCR(type = "CR2")``, ``coef_test(test =
"Satterthwaite")``, ``Wald_test(test = "HTZ")``) and estimatr (``lm_robust(se_type =
"HC2")``), with the fixed effects entered as dummies; ``make_cr2_reference.R`` produced them
and records the R and package versions. Tolerance: 1e-8 relative (the fits agree to about
1e-14; the margin covers platform differences in the eigendecompositions).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from measurement.balance import wald_test
from measurement.linear_model import fit_linear_model

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "cr2_reference.json").read_text())
DATA = pd.read_csv(HERE / "cr2_reference_data.csv")
TERMS = REFERENCE["terms"]
FIXED_EFFECTS = {
    "ols": [],
    "ols_stratum": ["stratum"],
    "wls": [],
    "wls_stratum": ["stratum"],
    "ols_stratum_enumerator": ["stratum", "enumerator"],
    "wls_stratum_enumerator": ["stratum", "enumerator"],
}
RELATIVE = 1e-8


def _fit(case: str, vcov: str):  # type: ignore[no-untyped-def]
    return fit_linear_model(
        DATA,
        outcome="outcome",
        regressors=list(TERMS),
        cluster="cluster" if vcov == "CR2" else None,
        fixed_effects=FIXED_EFFECTS[case],
        weight="weight" if case.startswith("wls") else None,
        vcov=vcov,  # type: ignore[arg-type]
    )


def test_the_reference_file_records_r_and_package_versions() -> None:
    assert REFERENCE["r_version"].startswith("R version")
    assert set(REFERENCE["packages"]) == {"clubSandwich", "estimatr", "sandwich"}
    assert set(REFERENCE["cases"]) == {*FIXED_EFFECTS, "ols_pair"}


@pytest.mark.parametrize("case", sorted(FIXED_EFFECTS))
def test_cr2_standard_errors_and_satterthwaite_df_match_clubsandwich(case: str) -> None:
    expected = REFERENCE["cases"][case]
    fit = _fit(case, "CR2")
    for position, name in enumerate(TERMS):
        result = fit.term(name)
        assert result["estimate"] == pytest.approx(expected["estimate"][position], rel=RELATIVE)
        assert result["std_error"] == pytest.approx(
            expected["std_error_cr2"][position], rel=RELATIVE
        )
        assert result["df"] == pytest.approx(expected["df_satterthwaite"][position], rel=RELATIVE)
        assert result["p_value"] == pytest.approx(
            expected["p_value_satterthwaite"][position], rel=1e-6
        )


@pytest.mark.parametrize("case", sorted(FIXED_EFFECTS))
def test_htz_wald_test_matches_clubsandwich(case: str) -> None:
    expected = REFERENCE["cases"][case]["htz"]
    result = wald_test(_fit(case, "CR2"), TERMS)
    assert result.df_numerator == expected["df_numerator"]
    assert result.statistic == pytest.approx(expected["statistic"], rel=RELATIVE)
    assert result.df_denominator == pytest.approx(expected["df_denominator"], rel=RELATIVE)
    assert result.p_value == pytest.approx(expected["p_value"], rel=1e-6)


@pytest.mark.parametrize("case", sorted(FIXED_EFFECTS))
def test_hc2_standard_errors_match_estimatr(case: str) -> None:
    expected = REFERENCE["cases"][case]
    fit = _fit(case, "HC2")
    errors = np.array([fit.term(name)["std_error"] for name in TERMS])
    np.testing.assert_allclose(errors, expected["std_error_hc2"], rtol=RELATIVE)
    assert fit.df_resid == expected["df_hc2"]
    p_values = np.array([fit.term(name)["p_value"] for name in TERMS])
    np.testing.assert_allclose(p_values, expected["p_value_hc2"], rtol=1e-6)


def test_cr2_with_a_fixed_effect_nested_in_the_clusters_matches_clubsandwich() -> None:
    # Pairs of consecutive rows within each cluster (as the R script builds them): about half
    # as many levels as rows, so the adjustment matrices take the dense square-root path.
    expected = REFERENCE["cases"]["ols_pair"]
    frame = DATA.assign(pair=DATA["cluster"] * 100 + DATA.groupby("cluster").cumcount() // 2)
    fit = fit_linear_model(
        frame,
        outcome="outcome",
        regressors=["baseline"],
        cluster="cluster",
        fixed_effects=["pair"],
        vcov="CR2",
    )
    result = fit.term("baseline")
    assert result["estimate"] == pytest.approx(expected["estimate"], rel=RELATIVE)
    assert result["std_error"] == pytest.approx(expected["std_error_cr2"], rel=RELATIVE)
    assert result["df"] == pytest.approx(expected["df_satterthwaite"], rel=RELATIVE)
