"""Writers: every format written and read back, the Kobo export and its XLSForm, the truth."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from openpyxl import load_workbook

from flows.simulation import (
    EFFECT_COLUMNS,
    FAULT_COLUMNS,
    WAVE_FORMATS,
    SimulatedStudy,
    SimulationSettings,
    simulate_study,
    write_simulated_study,
    write_wave,
)
from flows.simulation.kobo import KOBO_DELIMITER
from flows.study import Study


@pytest.fixture(scope="module")
def small_simulation(example_study: Study) -> SimulatedStudy:
    return simulate_study(
        example_study, SimulationSettings(n_clusters=8, respondents_per_cluster=6, n_enumerators=4)
    )


@pytest.fixture(scope="module")
def written(small_simulation: SimulatedStudy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("simulated")
    write_simulated_study(small_simulation, root / "inbox", formats=WAVE_FORMATS)
    return root


def test_every_format_is_written_for_every_wave(written: Path) -> None:
    names = sorted(path.name for path in (written / "inbox").iterdir())
    expected = sorted(
        f"{wave}{ending}"
        for wave in ("baseline", "endline", "follow_up")
        for ending in (".csv", ".xlsx", ".sav", ".dta", "_kobo.csv")
    )
    assert names == expected
    assert sorted(path.name for path in (written / "truth").iterdir()) == [
        "effects.csv", "faults.csv", "settings.json",
    ]  # fmt: skip
    assert (written / "forms" / "endline_kobo.xlsform.xlsx").is_file()


def test_csv_xlsx_sav_and_dta_read_back_to_the_same_values(
    written: Path, small_simulation: SimulatedStudy
) -> None:
    frame = small_simulation.waves["endline"].frame
    inbox = written / "inbox"
    from_csv = pd.read_csv(inbox / "endline.csv", parse_dates=["start", "end"])
    from_xlsx = pd.read_excel(inbox / "endline.xlsx", sheet_name="data", engine="calamine")
    from_sav, _ = pyreadstat.read_sav(inbox / "endline.sav", user_missing=True)
    from_dta, _ = pyreadstat.read_dta(inbox / "endline.dta")
    columns = [
        "respondent_id",
        "trust_eu",
        "risk_death",
        "preparations__saved_money",
        "expected_cost",
    ]
    for read in (from_csv, from_xlsx, from_sav, from_dta):
        assert len(read) == len(frame)
        pd.testing.assert_frame_equal(
            read[columns].astype({c: float for c in columns[1:]}),
            frame[columns].astype({c: float for c in columns[1:]}),
            check_dtype=False,
        )
        assert (pd.to_datetime(read["start"]) == frame["start"]).all()
    assert (from_sav["uuid"] == frame["_uuid"]).all()
    assert (from_dta["_uuid"] == frame["_uuid"]).all()
    # Identifying columns stay in the raw files.
    for read in (from_csv, from_xlsx, from_sav, from_dta):
        assert {"respondent_name", "phone", "gps_latitude", "gps_longitude"} <= set(read.columns)


def test_sav_carries_question_labels_value_labels_and_user_missing_codes(written: Path) -> None:
    data, meta = pyreadstat.read_sav(written / "inbox" / "baseline.sav", user_missing=True)
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["trust_eu"].startswith("How much do you trust information about migration")
    assert meta.variable_value_labels["trust_eu"][-88.0] == "Don't know"
    assert meta.variable_value_labels["trust_eu"][-66.0] == "Never heard of this source"
    assert meta.variable_value_labels["trust_eu"][5.0] == "Completely"
    assert meta.missing_ranges["trust_eu"] == [{"lo": -99.0, "hi": -66.0}]
    default, _ = pyreadstat.read_sav(written / "inbox" / "baseline.sav")
    assert default["trust_eu"].isna().sum() == (data["trust_eu"] < 0).sum()


def test_dta_carries_value_labels(written: Path) -> None:
    _, meta = pyreadstat.read_dta(written / "inbox" / "baseline.dta")
    assert meta.variable_value_labels["decision_who"][2] == "My parents"
    assert meta.variable_value_labels["plan_12_months"][-77] == "Not applicable"
    assert all(len(name) <= 32 for name in meta.column_names)


def test_kobo_export_uses_group_paths_labels_and_kobo_metadata(
    written: Path, small_simulation: SimulatedStudy
) -> None:
    frame = small_simulation.waves["endline"].frame
    kobo = pd.read_csv(
        written / "inbox" / "endline_kobo.csv", sep=KOBO_DELIMITER, dtype=str, keep_default_na=False
    )
    for column in (
        "trust/trust_iom_un", "risk/risk_death", "intention/preparations",
        "intention/preparations/saved_money", "start", "end", "_uuid", "_submission_time",
        "_id", "_index", "__version__",
    ):  # fmt: skip
        assert column in kobo.columns
    assert kobo["start"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+00:00").all()
    likert = {"1": "Not at all", "2": "A little", "3": "Somewhat", "4": "Mostly", "5": "Completely"}
    expected = (
        frame["trust_iom_un"]
        .astype(str)
        .map(
            {
                **likert,
                "-88": "Don't know",
                "-99": "Refused to answer",
                "-66": "Never heard of this source",
            }
        )
    )
    expected = expected.fillna(frame["trust_iom_un"].astype(str))
    assert (kobo["trust/trust_iom_un"] == expected.to_numpy()).all()
    prepared = (frame["preparations_made"] == 1).to_numpy()
    combined = kobo.loc[prepared, "intention/preparations"]
    assert combined.str.fullmatch(r"[a-z_]+( [a-z_]+)*").all()
    not_asked = (frame["preparations__saved_money"] == -77).to_numpy()
    assert not_asked.any()
    assert (kobo.loc[not_asked, "intention/preparations"] == "Not applicable").all()
    assert (kobo.loc[not_asked, "intention/preparations/saved_money"] == "Not applicable").all()
    assert (kobo["_uuid"] == frame["_uuid"].to_numpy()).all()


def test_xlsform_has_survey_choices_and_settings(written: Path) -> None:
    workbook = load_workbook(written / "forms" / "endline_kobo.xlsform.xlsx", read_only=True)
    assert workbook.sheetnames == ["survey", "choices", "settings"]
    survey = pd.DataFrame(
        list(workbook["survey"].values)[1:], columns=list(next(workbook["survey"].values))
    )
    row = survey[survey["name"] == "plan_12_months"].iloc[0]
    assert row["type"] == "select_one plan_12_months_list"
    assert row["relevant"] == "${wish_to_leave} = '1'"
    assert "begin_group" in set(survey["type"])
    choices = pd.DataFrame(
        list(workbook["choices"].values)[1:], columns=["list_name", "name", "label"]
    )
    assert {"saved_money", "contacted_agent"} <= set(
        choices.loc[choices["list_name"] == "preparations_list", "name"]
    )


def test_truth_files_hold_effects_faults_and_settings(
    written: Path, small_simulation: SimulatedStudy
) -> None:
    effects = pd.read_csv(written / "truth" / "effects.csv")
    faults = pd.read_csv(written / "truth" / "faults.csv", keep_default_na=False)
    assert tuple(effects.columns) == EFFECT_COLUMNS
    assert tuple(faults.columns) == FAULT_COLUMNS
    assert len(faults) == len(small_simulation.faults)
    meta = json.loads((written / "truth" / "settings.json").read_text(encoding="utf-8"))
    assert meta["settings"]["seed"] == small_simulation.settings.seed
    assert meta["waves"] == {name: len(w.frame) for name, w in small_simulation.waves.items()}


def test_write_wave_rejects_an_unknown_format(
    small_simulation: SimulatedStudy, tmp_path: Path
) -> None:
    with pytest.raises(
        ValueError, match=r"write_wave: unknown format 'parquet'; choose one of \['csv'"
    ):
        write_wave(
            small_simulation.waves["baseline"].frame,
            tmp_path / "w.parquet",
            "parquet",
            small_simulation.study,
        )


def test_write_simulated_study_rejects_an_unknown_format(
    small_simulation: SimulatedStudy, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="write_simulated_study: unknown format 'json'"):
        write_simulated_study(small_simulation, tmp_path, formats={"baseline": "json"})
    assert not any(tmp_path.iterdir())


def test_write_wave_rejects_names_too_long_for_stata(
    small_simulation: SimulatedStudy, tmp_path: Path
) -> None:
    frame = small_simulation.waves["baseline"].frame.rename(columns={"trust_eu": "t" * 33})
    with pytest.raises(ValueError, match="Stata names have at most 32 characters"):
        write_wave(frame, tmp_path / "w.dta", "dta", small_simulation.study)


def test_write_simulated_study_writes_one_format_per_wave_from_a_mapping(
    small_simulation: SimulatedStudy, tmp_path: Path
) -> None:
    written = write_simulated_study(
        small_simulation,
        tmp_path / "inbox",
        formats={"baseline": "sav", "endline": "kobo", "follow_up": "xlsx"},
    )
    names = {wave: [p.name for p in paths] for wave, paths in written.items()}
    assert names == {
        "baseline": ["baseline.sav"],
        "endline": ["endline_kobo.csv"],
        "follow_up": ["follow_up.xlsx"],
    }
