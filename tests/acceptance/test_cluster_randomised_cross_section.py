"""Angrist & Lavy (2009) achievement awards: a school-randomised trial, two student cohorts.

A repeated cross-section (2000 cohort before the awards, 2001 cohort offered them),
randomised across 39 schools in pairs; and its 10 Arab schools alone (without the pairs,
which span school types). The difference in differences (with pair fixed effects for the 39
schools) and CR1 errors clustered on the school must equal
R's ``lm`` + ``sandwich::vcovCL(type = "HC1")`` (tests/acceptance/make_reference.R) to 1e-6.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.acceptance.conftest import REFERENCE, StudyRun, run_study

TOLERANCE = 1e-6  # both sides compute the same closed-form OLS and sandwich in float64


@pytest.fixture(scope="module")
def all_schools(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    folder = tmp_path_factory.mktemp("achievement_awards")
    return run_study("achievement_awards", ["baseline.csv", "endline.dta"], folder)


@pytest.fixture(scope="module")
def arab_schools(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    folder = tmp_path_factory.mktemp("achievement_awards_arab")
    return run_study("achievement_awards_arab", ["baseline.sav", "endline.csv"], folder)


def _matches_r(row: pd.Series, reference: dict[str, float]) -> None:
    for column in ("estimate", "std_error", "p_value", "conf_low", "conf_high"):
        assert row[column] == pytest.approx(reference[column], abs=TOLERANCE), column
    assert row["n_obs"] == reference["n_obs"]
    assert row["n_clusters"] == reference["n_clusters"]
    assert row["comparison_mean"] == pytest.approx(reference["comparison_mean"], abs=TOLERANCE)


def test_39_schools_reproduce_the_r_difference_in_differences(all_schools: StudyRun) -> None:
    row = all_schools.row("bagrut_status", "did")
    _matches_r(row, REFERENCE["achievement_awards"])


def test_10_arab_schools_reproduce_the_r_difference_in_differences(
    arab_schools: StudyRun,
) -> None:
    row = arab_schools.row("bagrut_status", "did")
    _matches_r(row, REFERENCE["achievement_awards_arab"])


def test_every_student_is_analysed_without_releasing_anything(all_schools: StudyRun) -> None:
    # 4,039 + 3,821 students: a short record of six answers per student is no reason to
    # quarantine it as a near-duplicate of another student's.
    assert all_schools.outputs["validate"].count(" 0 interview(s) quarantined") == 2
    assert all_schools.row("bagrut_status", "did")["n_obs"] == 4039 + 3821


@pytest.mark.parametrize(
    ("study", "reference"),
    [("all_schools", "achievement_awards"), ("arab_schools", "achievement_awards_arab")],
)
def test_cr2_errors_with_satterthwaite_df_reproduce_clubsandwich(
    study: str, reference: str, request: pytest.FixtureRequest
) -> None:
    row = request.getfixturevalue(study).row("bagrut_status", "did")
    expected = REFERENCE[reference]
    assert row["std_error_cr2"] == pytest.approx(expected["std_error_cr2"], abs=TOLERANCE)
    assert row["df_cr2"] == pytest.approx(expected["df_satterthwaite"], abs=TOLERANCE)
    assert row["p_value_cr2"] == pytest.approx(expected["p_value_cr2"], abs=TOLERANCE)
