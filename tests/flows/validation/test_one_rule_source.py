"""GX's verdict and the quarantine read one definition: counts agree for every argument."""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flows.validation.conditions import ROW_EXPECTATION_ARGUMENTS, failing_rows
from flows.validation.gx_runner import SuiteRun, run_suites
from flows.validation.suites import MISSING_CODES_META, to_gx_suite

IN_SET = "expect_column_values_to_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
NOT_NULL = "expect_column_values_to_not_be_null"
UNIQUE = "expect_column_values_to_be_unique"


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    score = rng.integers(0, 7, size=n).astype(float)
    score[rng.random(n) < 0.08] = np.nan
    score[rng.random(n) < 0.05] = -99.0  # a declared missing code
    ids = rng.integers(0, 360, size=n).astype(float)
    ids[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame(
        {
            "row_number": np.arange(1, n + 1),
            "score": score,
            "label": rng.choice(["a", "b", "c", None], size=n, p=[0.5, 0.3, 0.15, 0.05]),
            "group": rng.choice(["north", "south"], size=n),
            "id": ids,
        }
    )


def _cases() -> list[dict[str, Any]]:
    """Every row-level type with every argument trustshift applies, alone and combined."""
    condition = {
        "type": "comparison",
        "column": {"name": "group"},
        "operator": "==",
        "parameter": "north",
    }
    cases: list[dict[str, Any]] = []
    for mostly, conditioned in product((None, 0.5, 0.97), (False, True)):
        common: dict[str, Any] = {}
        if mostly is not None:
            common["mostly"] = mostly
        if conditioned:
            common["row_condition"] = condition
        cases.append({"type": IN_SET, "kwargs": {"column": "label", "value_set": ["a", "b"]}})
        cases[-1]["kwargs"].update(common)
        for low, high, strict_min, strict_max in product(
            (None, 1), (None, 5), (None, False, True), (None, False, True)
        ):
            if low is None and high is None:
                continue
            kwargs: dict[str, Any] = {"column": "score", **common}
            if low is not None:
                kwargs["min_value"] = low
            if high is not None:
                kwargs["max_value"] = high
            if strict_min is not None:
                kwargs["strict_min"] = strict_min
            if strict_max is not None:
                kwargs["strict_max"] = strict_max
            cases.append({"type": BETWEEN, "kwargs": kwargs, "codes": [-99.0]})
        cases.append({"type": NOT_NULL, "kwargs": {"column": "label", **common}})
        cases.append({"type": UNIQUE, "kwargs": {"column": "id", **common}})
    return cases


def test_gx_and_the_quarantine_masks_agree_on_every_type_and_argument() -> None:
    frame = _frame()
    cases = _cases()
    used = {(case["type"], name) for case in cases for name in case["kwargs"]}
    applied = {
        (kind, name)
        for kind, names in ROW_EXPECTATION_ARGUMENTS.items()
        for name in names
        if name != "condition_parser"
    }
    assert used == applied, "the grid must exercise every argument the masks apply"

    # As validate_wave hands GX the wave: the range checks' missing codes blanked.
    gx_frame = frame.assign(score=frame["score"].where(frame["score"] != -99.0))
    suite = {
        "name": "agreement",
        "meta": {"target": "wave"},
        "expectations": [
            {
                "type": case["type"],
                "kwargs": case["kwargs"],
                "meta": {
                    "severity": "row",
                    MISSING_CODES_META: case.get("codes", []),
                    "case": position,
                },
            }
            for position, case in enumerate(cases)
        ],
    }
    run = SuiteRun(suite=suite, target="wave", frame=gx_frame, result_format="SUMMARY")
    (result,), _ = run_suites([run], data_docs_dir=None)
    outcomes = result.results
    # GX groups its results by column; run_suites hands them back in the suite's order.
    assert [outcome.expectation_config.meta["case"] for outcome in outcomes] == list(
        range(len(cases))
    )

    disagreements = []
    for case, outcome in zip(cases, outcomes, strict=True):
        failing = failing_rows(
            frame, case["type"], case["kwargs"], missing_codes=case.get("codes", ())
        )
        gx_count = outcome.result["unexpected_count"]
        quarantined = 0 if failing.tolerated else int(failing.mask.any())
        if (
            failing.unexpected_count != gx_count
            or failing.tolerated != bool(outcome.success)
            or failing.unexpected_percent != pytest.approx(outcome.result["unexpected_percent"])
            or (quarantined == 0) != bool(outcome.success)
        ):
            disagreements.append(
                (case, gx_count, failing.unexpected_count, outcome.success, failing.tolerated)
            )
    assert disagreements == []
    assert sum(not outcome.success for outcome in outcomes) >= len(cases) // 4
    assert any(outcome.success and outcome.result["unexpected_count"] for outcome in outcomes)


def test_a_suite_with_an_argument_the_quarantine_cannot_apply_is_refused() -> None:
    suite = {
        "name": "hand_edited",
        "meta": {"target": "wave"},
        "expectations": [
            {
                "type": BETWEEN,
                "kwargs": {
                    "column": "score",
                    "min_value": 1,
                    "max_value": 5,
                    "parse_strings_as_datetimes": True,
                },
                "meta": {"severity": "row"},
            }
        ],
    }
    with pytest.raises(ValueError, match=r"argument\(s\) \['parse_strings_as_datetimes'\]"):
        to_gx_suite(suite, source="hand_edited.json")


def test_a_row_condition_the_quarantine_cannot_apply_is_refused_when_the_suite_loads() -> None:
    suite = {
        "name": "hand_edited",
        "meta": {"target": "wave"},
        "expectations": [
            {
                "type": NOT_NULL,
                "kwargs": {
                    "column": "label",
                    "row_condition": 'group=="north"',
                    "condition_parser": "pandas",
                },
                "meta": {"severity": "row"},
            }
        ],
    }
    with pytest.raises(ValueError, match="row_condition of type 'str'"):
        to_gx_suite(suite, source="hand_edited.json")
