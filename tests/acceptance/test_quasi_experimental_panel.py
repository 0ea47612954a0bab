"""Card & Krueger (1994): stores in a state that raised its minimum wage and one that did not.

The same 410 fast-food stores before and after New Jersey's increase (Pennsylvania as the
comparison; not randomised). Full-time-equivalent employment and the starting wage are
continuous scores with decimals, measured in both interviews (ANCOVA); a special programme
for new workers was asked only in the second interview (a post-only outcome: the difference
in means). Every number must equal R (``lm`` with ``sandwich`` HC1 and ``estimatr`` HC2).
"""

from __future__ import annotations

import pytest

from flows import api
from flows.study import load_study
from tests.acceptance.conftest import REFERENCE, StudyRun, run_study

TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    folder = tmp_path_factory.mktemp("card_krueger")
    return run_study("card_krueger", ["before.csv", "after.sav"], folder)


@pytest.mark.parametrize(
    ("outcome", "reference"),
    [("fte", "card_krueger_fte"), ("wage_st", "card_krueger_wage")],
)
def test_the_ancova_of_each_continuous_score_reproduces_r(
    stores: StudyRun, outcome: str, reference: str
) -> None:
    expected = REFERENCE[reference]
    row = stores.row(outcome, "ancova")
    assert row["estimate"] == pytest.approx(expected["estimate"], abs=TOLERANCE)
    assert row["std_error"] == pytest.approx(expected["std_error_hc1"], abs=TOLERANCE)
    assert row["n_obs"] == expected["n_obs"]
    assert row["primary_inference"] == "hc2"
    assert row["p_value_primary"] == pytest.approx(expected["p_value"], abs=TOLERANCE)
    assert row["conf_low_primary"] == pytest.approx(expected["conf_low"], abs=TOLERANCE)
    assert row["conf_high_primary"] == pytest.approx(expected["conf_high"], abs=TOLERANCE)


def test_the_post_only_outcome_is_the_difference_in_means_with_hc2_errors(
    stores: StudyRun,
) -> None:
    expected = REFERENCE["card_krueger_special"]
    row = stores.row("special_program", "post_only_difference")
    assert str(row["inference"]).startswith("primary: HC2")
    for column in ("estimate", "std_error", "p_value", "conf_low", "conf_high"):
        assert row[column] == pytest.approx(expected[column], abs=TOLERANCE), column
    assert row["n_obs"] == expected["n_obs"]
    # The post-only row's primary inference is its own HC2 with t(N-K), as estimatr's.
    assert row["primary_inference"] == "hc2"
    for column in ("p_value", "conf_low", "conf_high"):
        primary = row[f"{column}_primary"]
        assert primary == pytest.approx(expected[column], abs=TOLERANCE), column


def test_the_new_jersey_means_are_the_published_ones(stores: StudyRun) -> None:
    # Card & Krueger (1994), Table 3: mean FTE employment before and after, NJ 20.44 and
    # 21.03, PA 23.33 and 21.17; the comparison mean in the estimates is PA's after the rise.
    assert stores.row("fte", "ancova")["comparison_mean"] == pytest.approx(21.17, abs=0.005)


def test_the_change_within_each_state_is_the_published_one(stores: StudyRun) -> None:
    # Table 3, balanced sample: change in mean FTE, NJ 0.47 (0.48), PA -2.28 (1.25).
    change = api.query(
        load_study(stores.folder / "study.toml"),
        "SELECT arm, estimate, std_error FROM within_arm_change "
        "WHERE outcome = 'fte' AND test = 'paired_t' ORDER BY arm",
    )
    assert len(change) == 2
    by_size = change.sort_values("std_error")
    assert by_size["estimate"].round(2).tolist() == [0.47, -2.28]
    assert by_size["std_error"].round(2).tolist() == [0.48, 1.25]
    for row, name in zip(by_size.itertuples(), ("nj", "pa"), strict=True):
        reference = REFERENCE[f"card_krueger_change_{name}"]
        assert row.estimate == pytest.approx(reference["estimate"], abs=TOLERANCE)
        assert row.std_error == pytest.approx(reference["std_error"], abs=TOLERANCE)


def test_the_difference_in_differences_is_the_published_one(stores: StudyRun) -> None:
    # Table 3, row 3: the difference of the four means, 2.76 (from the rounded means; the
    # unrounded difference of the means of all stores with data is 2.754).
    row = stores.row("fte", "did")
    assert row["estimate"] == pytest.approx(
        REFERENCE["card_krueger_did_fte"]["estimate"], abs=TOLERANCE
    )
    assert row["estimate"] == pytest.approx(2.76, abs=0.01)
