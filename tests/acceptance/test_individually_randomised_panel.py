"""Beat the Blues (Proudfoot et al. 2003): patients randomised one by one, seen twice.

An individually randomised panel: the Beck Depression Inventory at entry and two months
later (97 of 100 patients seen again). ANCOVA of the two-month score on the arm and the
entry score must equal R: ``estimatr::lm_robust(se_type = "HC2")`` for the design's primary
inference and ``sandwich::vcovHC(type = "HC1")`` for the robust standard error column.
"""

from __future__ import annotations

import pytest

from tests.acceptance.conftest import REFERENCE, StudyRun, run_study

TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def blues(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    folder = tmp_path_factory.mktemp("beat_the_blues")
    return run_study("beat_the_blues", ["baseline.csv", "endline.xlsx"], folder)


def test_the_ancova_reproduces_r_with_hc1_and_hc2_errors(blues: StudyRun) -> None:
    reference = REFERENCE["beat_the_blues"]
    row = blues.row("bdi", "ancova")
    assert row["estimate"] == pytest.approx(reference["estimate"], abs=TOLERANCE)
    assert row["std_error"] == pytest.approx(reference["std_error_hc1"], abs=TOLERANCE)
    assert row["n_obs"] == reference["n_obs"]
    assert row["primary_inference"] == "hc2"
    assert row["p_value_primary"] == pytest.approx(reference["p_value"], abs=TOLERANCE)
    assert row["conf_low_primary"] == pytest.approx(reference["conf_low"], abs=TOLERANCE)
    assert row["conf_high_primary"] == pytest.approx(reference["conf_high"], abs=TOLERANCE)


def test_the_report_speaks_of_patients_randomised_one_by_one(blues: StudyRun) -> None:
    assert "randomised across communities" not in blues.report
    assert "Communities" not in blues.report
