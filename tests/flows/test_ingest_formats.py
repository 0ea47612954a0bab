"""The same simulated wave, in each of the five formats, ingests to identical responses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows import api
from flows.ingest import ingest_wave
from flows.simulation import PII_COLUMNS, SimulationSettings, simulate_study, write_wave
from flows.study import Study, load_study

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "studies" / "example" / "study.toml"
FORMATS = {"csv": "baseline.csv", "xlsx": "baseline.xlsx", "sav": "baseline.sav",
           "dta": "baseline.dta", "kobo": "baseline_kobo.csv"}  # fmt: skip


@pytest.fixture(scope="module")
def simulated_baseline(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    study = load_study(EXAMPLE)
    settings = SimulationSettings(seed=7, n_clusters=8, respondents_per_cluster=6)
    return simulate_study(study, settings).waves["baseline"].frame


def study_in(folder: Path) -> Study:
    folder.mkdir(parents=True)
    shutil.copy2(EXAMPLE, folder / "study.toml")
    (folder / "inbox").mkdir()
    return load_study(folder / "study.toml")


@pytest.fixture(scope="module")
def ingested(
    simulated_baseline: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Study, pd.DataFrame, pd.DataFrame]]:
    root = tmp_path_factory.mktemp("formats")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("TRUSTSHIFT_PSEUDONYM_KEY_EXAMPLE", "one-key-for-every-format-0123456789")
    monkeypatch.delenv("TRUSTSHIFT_WAREHOUSE", raising=False)
    results = {}
    try:
        for format, file_name in FORMATS.items():
            study = study_in(root / format)
            path = study.inbox / file_name
            write_wave(simulated_baseline, path, format, study)
            outcome = ingest_wave(study, path)
            assert outcome.status == "stored"
            results[format] = (study, api.responses(study), api.answers(study))
    finally:
        monkeypatch.undo()
    return results


@pytest.mark.parametrize("format", ["xlsx", "sav", "dta", "kobo"])
def test_each_format_ingests_to_the_same_responses_as_csv(
    ingested: dict[str, tuple[Study, pd.DataFrame, pd.DataFrame]], format: str
) -> None:
    _, csv_responses, csv_answers = ingested["csv"]
    _, responses, answers = ingested[format]
    assert len(csv_responses) > 40
    pd.testing.assert_frame_equal(
        responses.reset_index(drop=True), csv_responses.reset_index(drop=True), check_dtype=False
    )
    pd.testing.assert_frame_equal(
        answers.reset_index(drop=True), csv_answers.reset_index(drop=True), check_dtype=False
    )


def test_the_formats_carry_missing_codes_with_their_reasons(
    ingested: dict[str, tuple[Study, pd.DataFrame, pd.DataFrame]],
) -> None:
    _, _, answers = ingested["sav"]
    reasons = set(answers["missing_reason"].dropna())
    assert {"dont_know", "not_applicable"} <= reasons


def test_no_identifying_value_of_any_format_reaches_a_warehouse(
    simulated_baseline: pd.DataFrame,
    ingested: dict[str, tuple[Study, pd.DataFrame, pd.DataFrame]],
) -> None:
    planted = {
        str(value)
        for column in PII_COLUMNS
        for value in simulated_baseline[column].dropna().unique()
    }
    # Short numbers could occur by chance in any binary file; names, phones and GPS do not.
    planted = {value for value in planted if len(value) >= 8}
    assert len(planted) > 50
    for format, (study, _, _) in ingested.items():
        contents = (study.root / study.locations.warehouse).read_bytes()
        found = [value for value in planted if value.encode("utf-8") in contents]
        assert found == [], (format, found[:3])
