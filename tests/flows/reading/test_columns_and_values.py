"""code_wave: Kobo/ODK column paths, select-multiple layouts, labels, waves, times, consent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.errors import IngestError
from flows.reading import read_raw, read_wave
from flows.study import Study
from tests.flows.reading.sample_wave import (
    assert_standard_items,
    assert_standard_roles,
    wave_frame,
    write_csv,
    write_sav,
    write_xlsx,
)


def kobo_frame() -> pd.DataFrame:
    """The standard wave as a KoboToolbox export with labels and group paths."""
    standard = wave_frame()
    return pd.DataFrame(
        {
            "start": standard["start"],
            "end": standard["end"],
            "respondent_id": standard["respondent_id"],
            "community": standard["community"],
            "region": standard["region"],
            "arm": standard["arm"],
            "enumerator_id": standard["enumerator_id"],
            "consent": ["Yes", "yes", " YES ", "No"],
            "weight": standard["weight"],
            "respondent_name": standard["respondent_name"],
            "phone": standard["phone"],
            "trust/trust_eu": [
                "Not at all",
                "Don't know",
                "completely",
                "Never heard of this source",
            ],
            "risk/risk_death": ["10", "20", "Refused to answer", "100"],
            "intention/wish_to_leave": ["Yes", "No", "yes", ""],
            "source/most_important_source": [
                "your own government",
                "IOM and the United Nations",
                "social media (Facebook, WhatsApp, TikTok)",
                "returnees who came back from the journey",
            ],
            "intention/preparations": ["saved_money asked_family", "asked_family", "", ""],
            "intention/preparations/saved_money": ["1", "0", "0", ""],
            "intention/preparations/asked_family": ["1", "1", "0", ""],
            "meta/instanceID": ["uuid:1", "uuid:2", "uuid:3", "uuid:4"],
            "_id": ["101", "102", "103", "104"],
            "_uuid": standard["_uuid"],
            "_submission_time": ["2025-01-20T10:00:00"] * 4,
            "_validation_status": [""] * 4,
            "__version__": ["v1"] * 4,
            "_index": ["1", "2", "3", "4"],
        }
    )


def test_a_kobo_export_with_labels_and_group_paths_codes_like_the_plain_file(
    tmp_path: Path, study: Study
) -> None:
    path = write_csv(kobo_frame(), tmp_path / "2025_baseline_kobo.csv", delimiter=";")
    coded = read_wave(path, study=study)
    assert coded.source_format == "kobo"
    assert coded.wave == "baseline"
    assert_standard_roles(coded.frame)
    assert_standard_items(coded.frame)
    assert {"_id", "_index", "__version__", "meta/instanceID", "_submission_time"} <= set(
        coded.dropped_columns
    )
    assert "intention/preparations" not in coded.dropped_columns


def test_a_kobo_xlsx_export_codes_like_the_plain_file(tmp_path: Path, study: Study) -> None:
    path = write_xlsx({"Baseline survey": kobo_frame()}, tmp_path / "baseline.xlsx")
    coded = read_wave(path, study=study)
    assert coded.source_format == "kobo"
    assert_standard_items(coded.frame)


def test_odk_central_dash_paths_and_select_multiple_columns_are_mapped(
    tmp_path: Path, study: Study
) -> None:
    frame = kobo_frame().drop(columns=["intention/preparations"])
    frame.columns = [name.replace("/", "-") for name in frame.columns]
    frame = frame.rename(columns={"meta-instanceID": "meta-instanceID", "_id": "KEY"})
    frame["SubmissionDate"] = "2025-01-20T10:00:00.000Z"
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study)
    assert coded.source_format == "kobo"
    assert_standard_items(coded.frame)


@pytest.mark.parametrize(
    "template",
    [
        "preparations/{choice}",
        "intention/preparations/{choice}",
        "preparations-{choice}",
        "preparations_{choice}",
        "preparations__{choice}",
        "Preparations_{choice} ",
    ],
)
def test_select_multiple_choice_columns_are_accepted_in_every_layout(
    tmp_path: Path, study: Study, template: str
) -> None:
    frame = wave_frame()
    for choice in ("saved_money", "asked_family"):
        values = frame.pop(f"preparations__{choice}")
        frame[template.format(choice=choice)] = values.map({1.0: "True", 0.0: "False"}).fillna("")
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study)
    assert_standard_items(coded.frame)
    assert "preparations__sold_assets" in coded.missing_items


def test_kobo_combined_select_multiple_column_alone_is_split_into_choices(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame().drop(columns=["preparations__saved_money", "preparations__asked_family"])
    frame["group/preparations"] = [
        "saved_money asked_family",
        "Asked family for money",
        "learned_language",
        "",
    ]
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study).frame
    assert coded["preparations__saved_money"].tolist()[:3] == [1.0, 0.0, 0.0]
    assert coded["preparations__asked_family"].tolist()[:3] == [1.0, 1.0, 0.0]
    assert coded["preparations__learned_language"].tolist()[:3] == [0.0, 0.0, 1.0]
    assert coded.loc[3, [c for c in coded if c.startswith("preparations__")]].isna().all()


def test_a_special_code_in_the_combined_column_fills_every_choice(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame().drop(columns=["preparations__saved_money", "preparations__asked_family"])
    frame["preparations"] = ["saved_money", "-99", "Not applicable", ""]
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study).frame
    assert coded.loc[1, "preparations__sold_assets"] == -99.0
    assert coded.loc[2, "preparations__saved_money"] == -77.0


def test_answer_labels_map_to_codes_ignoring_case_and_spaces(tmp_path: Path, study: Study) -> None:
    frame = wave_frame()
    frame["local_opportunities"] = ["Strongly agree", "  strongly   DISAGREE ", "Agree", "4"]
    frame["intended_destination"] = ["Italy", "don't know", "Not applicable", "REFUSED TO ANSWER"]
    frame["knowledge_visa"] = ["Yes", "No", "1", "2"]
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study).frame
    assert coded["local_opportunities"].tolist() == [5.0, 1.0, 4.0, 4.0]
    assert coded["intended_destination"].tolist() == [1.0, -88.0, -77.0, -99.0]
    assert coded["knowledge_visa"].tolist() == [1.0, 2.0, 1.0, 2.0]


def test_study_wide_missing_codes_are_accepted_on_every_item(
    tmp_path: Path, make_study: Callable[..., Study]
) -> None:
    study = make_study(extra="[missing_codes]\ndont_know = [-88, 888]")
    frame = wave_frame()
    frame["gender"] = [1.0, 888.0, -88.0, 2.0]
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study).frame
    assert coded["gender"].tolist() == [1.0, 888.0, -88.0, 2.0]


def test_out_of_range_values_are_kept_under_quarantine(
    tmp_path: Path, make_study: Callable[..., Study]
) -> None:
    study = make_study(out_of_range="quarantine")
    frame = wave_frame()
    frame["trust_eu"] = [7.0, 1.0, -66.0, 2.5]
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study).frame
    assert coded["trust_eu"].tolist() == [7.0, 1.0, -66.0, 2.5]


def test_reading_rename_maps_a_raw_column_to_an_item_or_role(
    tmp_path: Path, make_study: Callable[..., Study]
) -> None:
    study = make_study(
        extra='[reading.rename]\n"Q12 Trust EU" = "trust_eu"\n"ID" = "respondent"\n'
        '"village" = "community"'
    )
    frame = wave_frame().rename(
        columns={"trust_eu": "Q12 Trust EU", "respondent_id": "ID", "community": "village"}
    )
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study)
    assert_standard_roles(coded.frame)
    assert_standard_items(coded.frame)


def test_spss_names_without_the_leading_underscore_match_their_role(
    tmp_path: Path, study: Study
) -> None:
    raw = read_raw(write_sav(wave_frame(), tmp_path / "baseline.sav"), study=study)
    assert "_uuid" not in raw.frame.columns
    assert read_wave(raw.source, study=study).frame["submission"].tolist()[0] == "u-1"


@pytest.mark.parametrize(
    ("file_name", "wave"),
    [
        ("baseline.csv", "baseline"),
        ("2025_endline_kobo.csv", "endline"),
        ("Follow-up round.csv", "follow_up"),
        ("followup-2026.csv", "follow_up"),
    ],
)
def test_the_wave_comes_from_the_file_name(
    tmp_path: Path, study: Study, file_name: str, wave: str
) -> None:
    assert read_wave(write_csv(wave_frame(), tmp_path / file_name), study=study).wave == wave


def test_the_wave_argument_names_the_wave_of_an_unnamed_file(tmp_path: Path, study: Study) -> None:
    coded = read_wave(write_csv(wave_frame(), tmp_path / "export.csv"), study=study, wave="endline")
    assert coded.wave == "endline"
    assert coded.frame["wave"].unique().tolist() == ["endline"]


def test_a_wave_column_names_the_wave(tmp_path: Path, make_study: Callable[..., Study]) -> None:
    study = make_study(columns='wave = "round"')
    frame = wave_frame().assign(round=["Endline", "endline", "", "ENDLINE"])
    coded = read_wave(write_csv(frame, tmp_path / "export.csv"), study=study)
    assert coded.wave == "endline"
    assert coded.frame["wave"].tolist() == ["endline"] * 4


def test_interview_times_are_converted_to_utc_and_stripped_of_their_zone(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["start"] = ["2025-01-20 09:12:33", "2025-01-20T10:00:00+01:00", "", "2025-01-21"]
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study).frame
    assert coded["interview_start"].dt.tz is None
    assert coded["interview_start"].tolist()[:2] == [
        pd.Timestamp("2025-01-20 09:12:33"),
        pd.Timestamp("2025-01-20 09:00:00"),
    ]
    assert pd.isna(coded["interview_start"].iloc[2])
    assert coded["interview_start"].iloc[3] == pd.Timestamp("2025-01-21")


def test_consent_is_one_for_the_consent_value_and_its_yes_labels(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["consent"] = ["1", "yes", "", "0"]
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study).frame
    assert coded["consent"].tolist() == [1, 1, pd.NA, 0]


def test_an_arm_label_in_another_case_is_stored_as_the_study_spells_it(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["arm"] = ["Campaign", "campaign ", "COMPARISON", "comparison"]
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study).frame
    assert coded["arm"].tolist() == ["campaign", "campaign", "comparison", "comparison"]


def test_weights_and_numbers_are_float64(tmp_path: Path, study: Study) -> None:
    coded = read_wave(write_csv(wave_frame(), tmp_path / "baseline.csv"), study=study).frame
    assert coded["weight"].dtype == "float64"
    assert np.isnan(coded["expected_cost"]).all()


def test_xlsx_date_cells_and_excel_serial_numbers_become_times(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["start"] = pd.to_datetime(
        ["2025-01-20 09:12:33", "2025-01-20 09:00:00", "2025-01-21 08:30:00", None]
    )
    # 45677.5 days after 1899-12-30 is 2025-01-20 12:00.
    frame["end"] = [45677.5, 45677.5, 45678.25, float("nan")]
    coded = read_wave(write_xlsx({"data": frame}, tmp_path / "baseline.xlsx"), study=study).frame
    assert coded["interview_start"].iloc[0] == pd.Timestamp("2025-01-20 09:12:33")
    assert pd.isna(coded["interview_start"].iloc[3])
    assert coded["interview_end"].tolist()[:3] == [
        pd.Timestamp("2025-01-20 12:00"),
        pd.Timestamp("2025-01-20 12:00"),
        pd.Timestamp("2025-01-21 06:00"),
    ]


def test_a_number_that_cannot_be_a_date_in_a_time_column_is_refused(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["end"] = [1.0, 2.0, 3.0, 4.0]
    path = write_xlsx({"data": frame}, tmp_path / "baseline.xlsx")
    with pytest.raises(IngestError, match=r"column 'end' \(interview_end\) .*holds the number 1 "):
        read_wave(path, study=study)


def test_an_unreadable_combined_column_is_ignored_when_every_choice_column_is_there(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    for choice in ("contacted_agent", "obtained_documents", "sold_assets", "learned_language"):
        frame[f"preparations__{choice}"] = [0.0, 0.0, 0.0, float("nan")]
    frame["preparations"] = ["Saved money Asked family for money", "Asked family for money", "", ""]
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study)
    assert_standard_items(coded.frame)


def test_none_is_an_answer_label_where_the_instrument_uses_it_and_blank_elsewhere(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["education"] = ["None", "Primary", "none", ""]
    frame["feel_informed"] = ["None", "NULL", ".", "3"]
    coded = read_wave(write_csv(frame, tmp_path / "baseline.csv"), study=study).frame
    assert coded["education"].tolist()[:3] == [1.0, 2.0, 1.0]
    assert coded["feel_informed"].isna().tolist() == [True, True, True, False]
