"""Each acceptance data set is delivered twice per wave: CSV and Stata, SPSS or XLSX.

The estimation tests read one file of each format per study; here the other file of each
wave is ingested into a second copy of the study, and both copies must store the same
coded answers (same pseudonyms: the tests share one pseudonym key).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flows import api
from flows.study import load_study
from tests.acceptance.conftest import invoke, prepare

DELIVERIES = {
    "achievement_awards": (["baseline.csv", "endline.csv"], ["baseline.dta", "endline.dta"]),
    "achievement_awards_arab": (["baseline.csv", "endline.csv"], ["baseline.sav", "endline.sav"]),
    "beat_the_blues": (["baseline.csv", "endline.csv"], ["baseline.xlsx", "endline.xlsx"]),
    "card_krueger": (["before.csv", "after.csv"], ["before.sav", "after.sav"]),
    "card_krueger_nj": (["before.csv", "after.csv"], ["before.dta", "after.dta"]),
}


def _stored(study: str, files: list[str], folder: Path) -> pd.DataFrame:
    study_file = prepare(study, files, folder)
    invoke("ingest", str(study_file))
    frame = api.responses(load_study(study_file))
    return frame.sort_values(["wave", "respondent"]).reset_index(drop=True)


@pytest.mark.parametrize("study", sorted(DELIVERIES))
def test_both_formats_of_every_wave_store_the_same_answers(
    study: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTSHIFT_PSEUDONYM_KEY", "acceptance-formats")
    csv_files, other_files = DELIVERIES[study]
    from_csv = _stored(study, csv_files, tmp_path / "csv")
    from_other = _stored(study, other_files, tmp_path / "other")
    assert len(from_csv) > 0
    items = [column for column in from_csv.columns if column not in ("row_number",)]
    pd.testing.assert_frame_equal(
        from_csv[items], from_other[items], check_dtype=False, check_like=True
    )
