"""Malformed exports: each stops reading with one message naming the file, place and fix."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from flows.errors import IngestError, StudyFileError
from flows.reading import read_raw, read_wave
from flows.study import Study
from tests.flows.reading.sample_wave import csv_text, wave_frame, write_csv, write_sav, write_xlsx


def test_an_empty_file_is_refused(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.csv"
    path.write_bytes(b"")
    with pytest.raises(IngestError, match=r"read_raw: baseline\.csv is empty \(0 bytes"):
        read_raw(path, study=study)


def test_a_file_of_blank_lines_is_refused_as_empty(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.csv"
    path.write_bytes(b"\n\r\n  \n")
    with pytest.raises(IngestError, match=r"baseline\.csv is empty"):
        read_raw(path, study=study)


def test_a_header_without_rows_is_refused(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.csv"
    path.write_text(csv_text(wave_frame()).splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(
        IngestError, match=r"baseline\.csv holds a header of 18 columns but no data rows"
    ):
        read_raw(path, study=study)


def test_an_xlsx_sheet_with_only_a_header_is_refused(tmp_path: Path, study: Study) -> None:
    path = write_xlsx({"data": wave_frame().iloc[:0]}, tmp_path / "baseline.xlsx")
    with pytest.raises(IngestError, match=r"baseline\.xlsx \(sheet 'data'\) holds a header"):
        read_raw(path, study=study)


def test_binary_garbage_with_a_csv_extension_is_refused(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(IngestError, match=r"found binary content starting with bytes 00 01 02 03"):
        read_raw(path, study=study)


def test_an_unknown_extension_with_unknown_content_is_refused(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.bin"
    path.write_bytes(b"\x13\x37\xbe\xef" * 100)
    with pytest.raises(IngestError, match=r"baseline\.bin is not a survey export we can read"):
        read_raw(path, study=study)


def test_text_without_columns_under_an_unknown_extension_is_refused(
    tmp_path: Path, study: Study
) -> None:
    path = tmp_path / "baseline.dat"
    path.write_text("just some notes\nabout the fieldwork\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"cannot tell the format of baseline\.dat"):
        read_raw(path, study=study)


def test_a_corrupt_xlsx_is_refused(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(IngestError, match=r"baseline\.xlsx starts like an XLSX workbook"):
        read_raw(path, study=study)


def test_a_truncated_xlsx_is_refused(tmp_path: Path, study: Study) -> None:
    whole = write_xlsx({"data": wave_frame()}, tmp_path / "whole.xlsx").read_bytes()
    path = tmp_path / "baseline.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(IngestError, match=r"baseline\.xlsx .*corrupt or truncated"):
        read_raw(path, study=study)


def test_a_zip_that_is_no_workbook_is_refused(tmp_path: Path, study: Study) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("baseline.csv", "a,b\n1,2\n")
    path = tmp_path / "baseline.xlsx"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(IngestError, match=r"is a ZIP archive but not an XLSX workbook.*Unzip"):
        read_raw(path, study=study)


def test_an_old_xls_workbook_is_named_as_such(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(IngestError, match=r"found an old Excel 97-2003 \(\.xls\)"):
        read_raw(path, study=study)


def test_an_html_login_page_saved_as_the_export_is_refused(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.csv"
    path.write_text("<!DOCTYPE html><html><body>Please log in</body></html>", encoding="utf-8")
    with pytest.raises(IngestError, match=r"holds an HTML or XML document.*login"):
        read_raw(path, study=study)


def test_a_corrupt_spss_file_is_refused(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.sav"
    path.write_bytes(b"$FL2@(#) IBM SPSS STATISTICS" + b"\x00\x01" * 50)
    with pytest.raises(IngestError, match=r"baseline\.sav starts like a SPSS file but cannot"):
        read_raw(path, study=study)


def test_a_ragged_csv_is_refused(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.csv"
    path.write_text("respondent_id,arm\nR1,campaign\nR2,campaign,extra,cells\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"not a consistent comma-separated table"):
        read_raw(path, study=study)


def test_a_missing_respondent_column_names_the_closest_columns(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame().rename(columns={"respondent_id": "respondentid"})
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(
        IngestError,
        match=r"baseline\.csv has no column 'respondent_id' for the respondent role "
        r"\(columns\.respondent in the study file\); the closest columns are \['respondentid'",
    ):
        read_wave(path, study=study)


def test_a_missing_arm_column_is_refused(tmp_path: Path, study: Study) -> None:
    path = write_csv(wave_frame().drop(columns=["arm"]), tmp_path / "baseline.csv")
    with pytest.raises(
        IngestError, match=r"no column 'arm' for the arm role \(columns\.arm\.column.*rename"
    ):
        read_wave(path, study=study)


def test_an_unknown_arm_label_lists_the_valid_ones(tmp_path: Path, study: Study) -> None:
    frame = wave_frame()
    frame["arm"] = ["campaign", "control", "control", "comparison"]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(
        IngestError,
        match=r"column 'arm' in baseline\.csv holds 'control' in 2 row\(s\) \(first at "
        r"row 2\); the study's arm labels are \['campaign', 'comparison'\]",
    ):
        read_wave(path, study=study)


def test_a_blank_arm_is_refused(tmp_path: Path, study: Study) -> None:
    frame = wave_frame()
    frame["arm"] = ["campaign", "", "comparison", "comparison"]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(IngestError, match=r"holds no arm label in 1 row\(s\) \(first at row 2\)"):
        read_wave(path, study=study)


def test_a_file_name_naming_no_wave_is_refused(tmp_path: Path, study: Study) -> None:
    path = write_csv(wave_frame(), tmp_path / "midline.csv")
    with pytest.raises(
        IngestError,
        match=r"cannot tell which wave midline\.csv holds.*\['baseline', 'endline', 'follow_up'\]",
    ):
        read_wave(path, study=study)


def test_a_file_name_naming_two_waves_is_refused(tmp_path: Path, study: Study) -> None:
    path = write_csv(wave_frame(), tmp_path / "baseline_and_endline.csv")
    with pytest.raises(IngestError, match=r"contains several waves \(\['baseline', 'endline'\]\)"):
        read_wave(path, study=study)


def test_an_unknown_wave_argument_is_refused(tmp_path: Path, study: Study) -> None:
    path = write_csv(wave_frame(), tmp_path / "export.csv")
    with pytest.raises(IngestError, match=r"wave 'midline' is not a wave of study 'reading'"):
        read_wave(path, study=study, wave="midline")


def test_two_waves_in_one_file_are_refused(
    tmp_path: Path, make_study: Callable[..., Study]
) -> None:
    study = make_study(columns='wave = "round"')
    frame = wave_frame().assign(round=["baseline", "baseline", "baseline", "endline"])
    path = write_csv(frame, tmp_path / "export.csv")
    with pytest.raises(
        IngestError,
        match=r"holds 2 waves \(baseline: 3 rows, endline: 1 rows\); a file must hold one wave\. "
        r"Split the file",
    ):
        read_wave(path, study=study)


def test_an_unknown_wave_in_the_wave_column_is_refused(
    tmp_path: Path, make_study: Callable[..., Study]
) -> None:
    study = make_study(columns='wave = "round"')
    frame = wave_frame().assign(round=["midline"] * 4)
    path = write_csv(frame, tmp_path / "export.csv")
    with pytest.raises(IngestError, match=r"holds 'midline' in 4 row\(s\).*not a wave"):
        read_wave(path, study=study)


def test_an_out_of_range_value_is_refused_with_its_count_and_first_row(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["trust_eu"] = [1.0, 7.0, 7.0, 9.0]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(
        IngestError,
        match=r"code_wave: column 'trust_eu' \(item 'trust_eu'\) in baseline\.csv holds 7 in 2 "
        r"row\(s\) \(first at row 2\) and 1 other value\(s\) outside it \(9\); the instrument "
        r"allows 1-5 and the missing codes \[-99 \(refused\), -88 \(dont_know\), -66 "
        r"\(never_heard\)\]\. Declare 7 as a missing code",
    ):
        read_wave(path, study=study)


def test_a_missing_code_the_item_does_not_declare_is_out_of_range(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["age"] = [25.0, -66.0, 30.0, 41.0]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(IngestError, match=r"'age'\) in baseline\.csv holds -66 .*allows 15-99"):
        read_wave(path, study=study)


def test_an_spss_user_missing_code_the_study_does_not_know_is_explained(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["trust_eu"] = [1.0, 98.0, 5.0, 2.0]
    path = write_sav(
        frame,
        tmp_path / "baseline.sav",
        value_labels={"trust_eu": {98.0: "No answer"}},
        missing_ranges={"trust_eu": [98.0]},
    )
    with pytest.raises(
        IngestError,
        match=r"holds 98 \(baseline\.sav declares it user-missing labelled 'No answer'\)",
    ):
        read_wave(path, study=study)


def test_an_unknown_answer_label_lists_the_known_labels(tmp_path: Path, study: Study) -> None:
    frame = wave_frame().astype({"trust_eu": object})
    frame["trust_eu"] = ["Not at all", "Very much", "Very much", "2"]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(
        IngestError,
        match=r"holds a text value of 9 character\(s\) in 2 row\(s\) \(first at row 2\), which "
        r"is neither a number "
        r"nor a known answer label; the answer labels are 'Not at all', 'A little'",
    ):
        read_wave(path, study=study)


def test_text_in_a_numeric_item_is_refused(tmp_path: Path, study: Study) -> None:
    frame = wave_frame()
    frame["age"] = ["25", "twenty", "30", "41"]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(
        IngestError,
        match=r"'age'\) in baseline\.csv holds 'twenty' in 1 row\(s\) \(first at row 2\).*"
        r"item 'age' takes numbers \(15-99\)",
    ):
        read_wave(path, study=study)


def test_a_weight_that_is_not_a_number_is_refused(tmp_path: Path, study: Study) -> None:
    frame = wave_frame().astype({"weight": object})
    frame["weight"] = ["1.5", "1,5", "1", "2"]
    path = write_csv(frame, tmp_path / "baseline.csv", delimiter=";")
    with pytest.raises(
        IngestError,
        match=r"column 'weight' in baseline\.csv holds '1,5' in 1 row\(s\).*"
        r"a survey weight must be a number\. Correct the export: a decimal point",
    ):
        read_wave(path, study=study)


def test_a_time_stamp_that_is_no_date_is_refused(tmp_path: Path, study: Study) -> None:
    frame = wave_frame()
    frame["start"] = ["2025-01-20T09:12:33", "yesterday", "", ""]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(IngestError, match=r"holds 'yesterday' .*not a date and time"):
        read_wave(path, study=study)


def test_a_column_named_twice_is_refused(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.csv"
    path.write_text("respondent_id,trust_eu,trust_eu\nR1,1,2\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"names the column 'trust_eu' twice \(columns 2 and 3\)"):
        read_raw(path, study=study)


def test_columns_that_match_once_normalised_are_refused(tmp_path: Path, study: Study) -> None:
    frame = wave_frame()
    frame["trust/trust_eu"] = frame["trust_eu"]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(
        IngestError,
        match=r"columns 'trust_eu', 'trust/trust_eu' in baseline\.csv all map to 'trust_eu'",
    ):
        read_wave(path, study=study)


def test_several_candidate_sheets_without_reading_sheet_are_refused(
    tmp_path: Path, study: Study
) -> None:
    path = write_xlsx(
        {"Interviews": wave_frame(), "Households": wave_frame(), "choices": wave_frame()},
        tmp_path / "baseline.xlsx",
    )
    with pytest.raises(
        IngestError,
        match=r"several sheets that could hold the interviews: \['Interviews', 'Households'\]\. "
        r"Set reading\.sheet",
    ):
        read_raw(path, study=study)


def test_a_sheet_named_in_the_study_but_absent_is_refused(
    tmp_path: Path, make_study: Callable[..., Study]
) -> None:
    study = make_study(extra='[reading]\nsheet = "Data"')
    path = write_xlsx({"Interviews": wave_frame()}, tmp_path / "baseline.xlsx")
    with pytest.raises(IngestError, match=r"has no sheet 'Data'.*its sheets are \['Interviews'\]"):
        read_raw(path, study=study)


def test_select_multiple_columns_that_disagree_are_refused(tmp_path: Path, study: Study) -> None:
    frame = wave_frame()
    frame["preparations"] = ["saved_money", "asked_family", "", ""]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(
        IngestError,
        match=r"columns 'preparations' and 'preparations__asked_family' in baseline\.csv disagree "
        r"in 1 row\(s\) \(first at row 1",
    ):
        read_wave(path, study=study)


def test_an_unknown_choice_in_the_combined_column_is_refused(tmp_path: Path, study: Study) -> None:
    frame = wave_frame().drop(columns=["preparations__saved_money", "preparations__asked_family"])
    frame["preparations"] = ["saved_money bought_boat", "", "", ""]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(
        IngestError, match=r"holds a text value of 23 character\(s\) .*not a list of its choices"
    ):
        read_wave(path, study=study)


def test_a_rename_to_an_unknown_target_is_a_study_file_error(
    tmp_path: Path, make_study: Callable[..., Study]
) -> None:
    study = make_study(extra='[reading.rename]\n"Q1" = "trust_in_aliens"')
    path = write_csv(wave_frame(), tmp_path / "baseline.csv")
    with pytest.raises(
        StudyFileError, match=r"reading\.rename maps 'Q1' to 'trust_in_aliens', which is neither"
    ):
        read_wave(path, study=study)


def test_a_missing_file_is_refused(tmp_path: Path, study: Study) -> None:
    with pytest.raises(IngestError, match=r"read_raw: no file at .*nowhere\.csv"):
        read_raw(tmp_path / "nowhere.csv", study=study)


def test_nothing_half_read_leaks_from_a_refused_file(tmp_path: Path, study: Study) -> None:
    # A refused file raises before any coded frame exists: there is nothing to store.
    frame = wave_frame()
    frame["trust_eu"] = [1.0, 7.0, 1.0, 1.0]
    path = write_csv(frame, tmp_path / "baseline.csv")
    with pytest.raises(IngestError, match=r"holds 7"):
        read_wave(path, study=study)
    assert pd.read_csv(path)["trust_eu"].tolist() == [1, 7, 1, 1]
