"""Card & Krueger (1994), New Jersey's stores alone: a pre/post study without a comparison.

No effect is estimated (the report's estimates are empty); the within-arm change is
descriptive. Its paired change in mean FTE employment must be the published balanced-sample
figure, 0.47 (0.48), and equal R's paired t test to 1e-6.
"""

from __future__ import annotations

import re

import pytest

from flows import api
from flows.study import load_study
from tests.acceptance.conftest import REFERENCE, StudyRun, run_study

TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def new_jersey(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    folder = tmp_path_factory.mktemp("card_krueger_nj")
    return run_study("card_krueger_nj", ["before.dta", "after.csv"], folder)


def test_a_pre_post_study_estimates_no_effect(new_jersey: StudyRun) -> None:
    assert new_jersey.estimates.empty
    assert "not effects of the campaign" in new_jersey.report


def test_the_change_in_employment_is_the_published_one(new_jersey: StudyRun) -> None:
    study = load_study(new_jersey.folder / "study.toml")
    change = api.query(
        study,
        "SELECT estimate, std_error, n_pairs FROM within_arm_change "
        "WHERE outcome = 'fte' AND test = 'paired_t'",
    )
    assert len(change) == 1
    reference = REFERENCE["card_krueger_change_nj"]
    assert round(change["estimate"].iloc[0], 2) == 0.47  # published, Table 3
    assert round(change["std_error"].iloc[0], 2) == 0.48
    assert change["estimate"].iloc[0] == pytest.approx(reference["estimate"], abs=TOLERANCE)
    assert change["std_error"].iloc[0] == pytest.approx(reference["std_error"], abs=TOLERANCE)
    assert change["n_pairs"].iloc[0] == reference["n_pairs"]


def test_the_first_screen_of_a_pre_post_study_gives_each_primary_outcome_its_change(
    new_jersey: StudyRun,
) -> None:
    first = new_jersey.report[
        new_jersey.report.index('<section id="findings">') : new_jersey.report.index("</section>")
    ]
    assert "There is no comparison group" in first
    lines = re.findall(r'<li class="primary-outcome[^"]*"[^>]*>(.*?)</li>', first, re.S)
    assert len(lines) == 2
    for line in lines:
        assert re.search(r"changed by -?\d+\.\d+ .*95% CI", line), line
        assert "not an effect of the campaign" in line
    assert 'id="forest"' not in new_jersey.report and 'id="effects"' not in new_jersey.report
