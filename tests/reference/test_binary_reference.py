"""Logit and probit AMEs against R glm + sandwich (tests/reference/make_binary_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from measurement.binary import estimate_binary_effect, fit_binary_model

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "binary_reference.json").read_text())
DATA = pd.read_csv(HERE / "binary_reference_data.csv")
TOLERANCE = REFERENCE["tolerance"]["relative"]
REGRESSORS = ["treated", "baseline", "stratum_1", "stratum_2", "stratum_3"]


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_fit_binary_model_matches_glm_and_sandwich_vcovcl(link: str) -> None:
    expected = REFERENCE["cases"][link]
    fit = fit_binary_model(
        DATA, outcome="outcome", regressors=REGRESSORS, cluster="cluster", link=link
    )
    names = {"(Intercept)": "Intercept"}
    for name, value in expected["coefficients"].items():
        assert fit.coefficients[names.get(name, name)] == pytest.approx(value, rel=TOLERANCE)
    for name, value in expected["std_error_cluster"].items():
        key = names.get(name, name)
        assert fit.vcov.loc[key, key] ** 0.5 == pytest.approx(value, rel=TOLERANCE)
    for name, value in expected["std_error_model"].items():
        key = names.get(name, name)
        assert fit.vcov_model.loc[key, key] ** 0.5 == pytest.approx(value, rel=TOLERANCE)
    assert fit.log_likelihood == pytest.approx(expected["log_likelihood"], rel=1e-10)


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_the_average_marginal_effect_and_its_delta_method_error_match_r(link: str) -> None:
    expected = REFERENCE["cases"][link]
    effect = estimate_binary_effect(
        DATA,
        outcome="outcome",
        treated="treated",
        cluster="cluster",
        baseline="baseline",
        stratum="stratum",
        link=link,
    )
    assert effect.estimate == pytest.approx(expected["ame_treated"], rel=TOLERANCE)
    assert effect.std_error == pytest.approx(expected["ame_std_error_cluster"], rel=TOLERANCE)
    assert effect.estimator == f"{link}_ame" and effect.df_resid == 39


CR2_REFERENCE = json.loads((HERE / "binary_cr2_reference.json").read_text())
CR2_TOLERANCE = CR2_REFERENCE["tolerance"]["relative"]


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_the_cr2_variance_matches_clubsandwich_vcovcr_on_a_glm(link: str) -> None:
    expected = CR2_REFERENCE["cases"][link]
    fit = fit_binary_model(
        DATA, outcome="outcome", regressors=REGRESSORS, cluster="cluster", link=link, vcov="CR2"
    )
    names = {"(Intercept)": "Intercept"}
    for name, value in expected["std_error_cr2"].items():
        key = names.get(name, name)
        assert fit.vcov.loc[key, key] ** 0.5 == pytest.approx(value, rel=CR2_TOLERANCE)
    assert fit.vcov_type == "CR2"


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_the_average_marginal_effect_with_cr2_matches_clubsandwich(link: str) -> None:
    expected = CR2_REFERENCE["cases"][link]
    effect = estimate_binary_effect(
        DATA,
        outcome="outcome",
        treated="treated",
        cluster="cluster",
        baseline="baseline",
        stratum="stratum",
        link=link,
        vcov="CR2",
    )
    cr1 = estimate_binary_effect(
        DATA,
        outcome="outcome",
        treated="treated",
        cluster="cluster",
        baseline="baseline",
        stratum="stratum",
        link=link,
    )
    assert effect.estimate == pytest.approx(expected["ame_treated"], rel=CR2_TOLERANCE)
    assert effect.std_error == pytest.approx(expected["ame_std_error_cr2"], rel=CR2_TOLERANCE)
    assert effect.std_error > cr1.std_error and "CR2" in effect.inference
