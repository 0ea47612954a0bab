"""Near-duplicates on a short real-looking questionnaire, and checks that take a whole wave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows import api
from flows.errors import DataQualityError
from flows.study import load_study
from flows.validation import validate_wave
from tests.flows.studies.files import SHORT_INSTRUMENT, write_study

# Items the instrument declares but this round did not field: blank in every row.
UNFIELDED = "".join(
    f"""
[[instrument.items]]
name = "unfielded_{k}"
construct = "service"
scale = "likert"
question = "Not asked this round ({k})"
minimum = 1
maximum = 5
"""
    for k in range(30)
)


def _coded(tmp_path: Path, extra: str = "") -> tuple[pd.DataFrame, object]:
    study_file = write_study(tmp_path, instrument=SHORT_INSTRUMENT + UNFIELDED, extra=extra)
    study = load_study(study_file)
    rng = np.random.default_rng(3)
    n_rows = 300
    export = pd.DataFrame(
        {
            "id": np.arange(1, n_rows + 1),
            "group": np.where(np.arange(n_rows) % 2 == 0, "T", "C"),
            "rating_staff": rng.integers(1, 6, n_rows),
            "rating_wait": rng.integers(1, 6, n_rows),
            "household": rng.integers(1, 4, n_rows),
        }
    )
    path = tmp_path / "endline.csv"
    export.to_csv(path, index=False)
    return api.read_wave(path, study, wave="endline"), study


def test_items_blank_in_both_interviews_do_not_make_them_near_duplicates(tmp_path: Path) -> None:
    coded, study = _coded(tmp_path)
    validation = validate_wave(coded, study=study, wave="endline")
    flagged = validation.row_flags[validation.row_flags["check"] == "duplicate_submission"]
    # Three fielded items with 5, 5 and 3 answers: many pairs agree on all three, but three
    # compared items are fewer than the default minimum of 10, so none is a near-duplicate.
    assert flagged.empty
    assert validation.success


def test_a_check_that_would_take_most_of_a_wave_stops_it_naming_the_setting(
    tmp_path: Path,
) -> None:
    coded, study = _coded(tmp_path, extra="[quality]\nduplicate_minimum_items = 2\n")
    with pytest.raises(DataQualityError) as raised:
        validate_wave(coded, study=study, wave="endline")
    message = str(raised.value)
    assert "check 'duplicate_submission' would quarantine" in message
    assert "quality.maximum_quarantine_share = 0.2" in message
    assert "quality.duplicate_minimum_items" in message
    assert "quality.near_duplicates = false" in message
    returned = validate_wave(coded, study=study, wave="endline", on_structural="return")
    assert not returned.success and returned.quarantined == ()


def test_the_near_duplicate_search_can_be_switched_off(tmp_path: Path) -> None:
    coded, study = _coded(
        tmp_path, extra="[quality]\nduplicate_minimum_items = 2\nnear_duplicates = false\n"
    )
    validation = validate_wave(coded, study=study, wave="endline")
    assert validation.success
    assert not (validation.row_flags["check"] == "duplicate_submission").any()


def test_copied_answers_are_still_found_among_the_items_both_answered(tmp_path: Path) -> None:
    coded, study = _coded(tmp_path, extra="[quality]\nduplicate_minimum_items = 3\n")
    coded = coded.copy()
    columns = ["rating_staff", "rating_wait", "household"]
    # A unique answer pattern in row 0, copied into row 9: the only agreeing pair.
    pattern = {"rating_staff": 5.0, "rating_wait": 1.0, "household": 3.0}
    same = (coded[columns] == pd.Series(pattern)).all(axis=1)
    coded.loc[same, "household"] = 2.0
    coded.loc[[0, 9], columns] = list(pattern.values())
    thinned = coded.drop_duplicates(columns, keep=False)
    thinned = pd.concat([thinned, coded.loc[[0, 9]]]).sort_values("row_number")
    validation = validate_wave(thinned.reset_index(drop=True), study=study, wave="endline")
    flags = validation.row_flags[validation.row_flags["check"] == "duplicate_submission"]
    assert list(flags["row_number"]) == [10]
    assert "near-identical to row 1" in flags["reason"].item()
