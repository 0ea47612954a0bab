"""read_raw and read_wave: every format, encoding and delimiter gives the same coded wave."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.reading import code_wave, read_raw, read_wave
from flows.study import Study
from tests.flows.reading.sample_wave import (
    NAMES,
    PHONES,
    assert_standard_items,
    assert_standard_roles,
    csv_text,
    wave_frame,
    write_csv,
    write_dta,
    write_sav,
    write_xlsx,
)


def test_read_wave_codes_a_plain_csv_into_roles_and_items(tmp_path: Path, study: Study) -> None:
    coded = read_wave(write_csv(wave_frame(), tmp_path / "baseline.csv"), study=study)
    assert coded.wave == "baseline"
    assert coded.source_format == "csv"
    assert coded.row_count == 4
    assert_standard_roles(coded.frame)
    assert_standard_items(coded.frame)
    assert coded.frame["wave"].tolist() == ["baseline"] * 4
    assert list(coded.frame.columns[:13]) == [
        "row_number",
        "respondent",
        "submission",
        "cluster",
        "stratum",
        "arm",
        "treated",
        "wave",
        "weight",
        "enumerator",
        "interview_start",
        "interview_end",
        "consent",
    ]
    stored = [n for item in study.resolved_instrument().items for n in item.stored_names()]
    assert list(coded.frame.columns[13:]) == stored
    assert "trust_own_government" in coded.missing_items
    assert "trust_eu" not in coded.missing_items
    assert coded.frame["trust_own_government"].isna().all()
    assert set(coded.dropped_columns) == {"respondent_name", "phone"}


def test_identifying_values_appear_nowhere_in_the_coded_wave(tmp_path: Path, study: Study) -> None:
    coded = read_wave(write_csv(wave_frame(), tmp_path / "baseline.csv"), study=study)
    dumped = coded.frame.to_csv(index=False) + repr(coded)
    for value in (*NAMES, *PHONES):
        assert value not in dumped


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("cp1252", "cp1252"),
    ],
)
def test_read_raw_detects_the_text_encoding(
    tmp_path: Path, study: Study, encoding: str, detected: str
) -> None:
    frame = wave_frame()
    frame["region"] = ["Thiès", "Thiès", "Ségou", "Ségou"]
    path = write_csv(frame, tmp_path / "baseline.csv", encoding=encoding)
    raw = read_raw(path, study=study)
    assert raw.format == "csv"
    assert raw.encoding == detected
    assert raw.frame["region"].tolist() == ["Thiès", "Thiès", "Ségou", "Ségou"]
    coded = code_wave(raw, study=study)
    assert_standard_roles(coded.frame)
    assert_standard_items(coded.frame)
    assert coded.frame["stratum"].tolist() == ["Thiès", "Thiès", "Ségou", "Ségou"]


def test_read_raw_falls_back_to_latin_1_for_bytes_cp1252_leaves_undefined(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["region"] = ["a\x81b", "north", "south", "south"]
    path = write_csv(frame, tmp_path / "baseline.csv", encoding="latin-1")
    raw = read_raw(path, study=study)
    assert raw.encoding == "latin-1"
    assert raw.frame["region"].iloc[0] == "a\x81b"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_read_raw_detects_the_delimiter(tmp_path: Path, study: Study, delimiter: str) -> None:
    frame = wave_frame()
    # An answer holding the other delimiters inside quotes must not confuse the detection.
    frame["enumerator_id"] = ["E1, team; a|b", "E2", "E1", "E2"]
    path = write_csv(frame, tmp_path / "baseline.txt", delimiter=delimiter)
    raw = read_raw(path, study=study)
    assert raw.delimiter == delimiter
    coded = code_wave(raw, study=study)
    assert_standard_items(coded.frame)
    assert coded.frame["enumerator"].iloc[0] == "E1, team; a|b"


def test_read_raw_keeps_codes_as_text_so_leading_zeros_survive(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["respondent_id"] = ["007", "008", "010", "011"]
    raw = read_raw(write_csv(frame, tmp_path / "baseline.csv"), study=study)
    assert raw.frame["respondent_id"].tolist() == ["007", "008", "010", "011"]
    assert code_wave(raw, study=study).frame["respondent"].tolist() == ["007", "008", "010", "011"]


def test_read_wave_reads_xlsx_with_calamine(tmp_path: Path, study: Study) -> None:
    path = write_xlsx({"baseline": wave_frame()}, tmp_path / "baseline.xlsx")
    raw = read_raw(path, study=study)
    assert (raw.format, raw.sheet) == ("xlsx", "baseline")
    coded = code_wave(raw, study=study)
    assert_standard_roles(coded.frame)
    assert_standard_items(coded.frame)


def test_a_csv_file_that_is_really_xlsx_is_read_as_xlsx(tmp_path: Path, study: Study) -> None:
    path = write_xlsx({"data": wave_frame()}, tmp_path / "xlsx_export.xlsx")
    disguised = tmp_path / "baseline.csv"
    disguised.write_bytes(path.read_bytes())
    coded = read_wave(disguised, study=study)
    assert coded.source_format == "xlsx"
    assert_standard_items(coded.frame)


def test_excel_whole_numbers_in_id_columns_lose_their_decimal_point(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["respondent_id"] = [12.0, 13.0, 14.0, 1234567.0]
    frame["community"] = [1.0, 1.0, 2.0, 2.0]
    coded = read_wave(write_xlsx({"data": frame}, tmp_path / "baseline.xlsx"), study=study)
    assert coded.frame["respondent"].tolist() == ["12", "13", "14", "1234567"]
    assert coded.frame["cluster"].tolist() == ["1", "1", "2", "2"]


def test_xlsx_picks_the_data_sheet_beside_xlsform_sheets(tmp_path: Path, study: Study) -> None:
    survey = pd.DataFrame({"type": ["integer"], "name": ["age"]})
    choices = pd.DataFrame({"list_name": ["yes_no"], "name": ["1"]})
    path = write_xlsx(
        {"survey": survey, "Baseline export": wave_frame(), "choices": choices},
        tmp_path / "baseline.xlsx",
    )
    raw = read_raw(path, study=study)
    assert raw.sheet == "Baseline export"


def test_xlsx_takes_the_sheet_named_in_the_study(
    tmp_path: Path, make_study: Callable[..., Study]
) -> None:
    study = make_study(extra='[reading]\nsheet = "Interviews"')
    other = wave_frame().assign(trust_eu=[9.0, 9.0, 9.0, 9.0])
    path = write_xlsx({"Summary": other, "Interviews": wave_frame()}, tmp_path / "baseline.xlsx")
    coded = read_wave(path, study=study)
    assert_standard_items(coded.frame)


def test_spss_user_missing_codes_are_kept_not_turned_into_nan(tmp_path: Path, study: Study) -> None:
    path = write_sav(
        wave_frame(),
        tmp_path / "baseline.sav",
        value_labels={"trust_eu": {1.0: "Not at all", 5.0: "Completely", -88.0: "Don't know"}},
        missing_ranges={"trust_eu": [-88.0, -66.0], "risk_death": [{"lo": -99.0, "hi": -90.0}]},
    )
    raw = read_raw(path, study=study)
    assert raw.format == "sav"
    assert "uuid" in raw.frame.columns
    assert raw.user_missing["trust_eu"] == [-88.0, -66.0]
    assert raw.user_missing["risk_death"] == [-99.0]
    assert raw.value_labels["trust_eu"][-88.0] == "Don't know"
    coded = code_wave(raw, study=study)
    assert_standard_roles(coded.frame)
    assert_standard_items(coded.frame)


def test_spss_codes_are_recoded_through_their_value_labels(tmp_path: Path, study: Study) -> None:
    frame = wave_frame()
    # The firm coded Yes = 1, No = 2; the instrument codes No = 0.
    frame["wish_to_leave"] = [1.0, 2.0, 1.0, float("nan")]
    frame["arm"] = [1.0, 1.0, 2.0, 2.0]
    path = write_sav(
        frame,
        tmp_path / "baseline.sav",
        value_labels={
            "wish_to_leave": {1.0: "Yes", 2.0: "No"},
            "arm": {1.0: "campaign", 2.0: "comparison"},
        },
    )
    coded = read_wave(path, study=study)
    assert_standard_items(coded.frame)
    assert coded.frame["arm"].tolist() == ["campaign", "campaign", "comparison", "comparison"]


def test_stata_files_keep_codes_and_use_value_labels(tmp_path: Path, study: Study) -> None:
    frame = wave_frame()
    frame["arm"] = [1.0, 1.0, 0.0, 0.0]
    frame["consent"] = [1.0, 1.0, 1.0, 2.0]
    path = write_dta(
        frame,
        tmp_path / "baseline.dta",
        value_labels={
            "arm": {1: "campaign", 0: "comparison"},
            "consent": {1: "Yes", 2: "No"},
            "trust_eu": {-88: "Don't know", 1: "Not at all"},
        },
    )
    raw = read_raw(path, study=study)
    assert raw.format == "dta"
    assert raw.value_labels["arm"] == {1: "campaign", 0: "comparison"}
    coded = code_wave(raw, study=study)
    assert_standard_roles(coded.frame)
    assert_standard_items(coded.frame)


def test_stata_names_cut_at_32_characters_still_match_their_item(
    tmp_path: Path, make_study: Callable[..., Study]
) -> None:
    study = make_study(
        instrument="""
[[instrument.items]]
name = "trust_in_international_organisations_abroad"
construct = "trust_official"
scale = "likert"
question = "How much do you trust international organisations?"
minimum = 1
maximum = 5
"""
    )
    long_name = "trust_in_international_organisations_abroad"
    frame = wave_frame().assign(**{long_name[:32]: [1.0, 2.0, 3.0, 4.0]})
    coded = read_wave(write_dta(frame, tmp_path / "baseline.dta"), study=study)
    assert coded.frame[long_name].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_every_format_codes_the_same_wave_identically(tmp_path: Path, study: Study) -> None:
    frame = wave_frame()
    files = [
        write_csv(frame, tmp_path / "baseline.csv"),
        write_xlsx({"data": frame}, tmp_path / "baseline.xlsx"),
        write_sav(frame, tmp_path / "baseline.sav"),
        write_dta(frame, tmp_path / "baseline.dta"),
    ]
    coded = [read_wave(path, study=study).frame for path in files]
    for other in coded[1:]:
        pd.testing.assert_frame_equal(coded[0], other)


def test_blank_rows_are_skipped_and_row_numbers_follow_the_file(
    tmp_path: Path, study: Study
) -> None:
    text = csv_text(wave_frame())
    lines = text.splitlines()
    blank = "," * (len(lines[0].split(",")) - 1)
    path = tmp_path / "baseline.csv"
    path.write_text("\n".join([lines[0], lines[1], blank, *lines[2:]]) + "\n", encoding="utf-8")
    coded = read_wave(path, study=study)
    assert coded.frame["row_number"].tolist() == [1, 3, 4, 5]
    assert coded.row_count == 4
    np.testing.assert_array_equal(coded.frame["trust_eu"], [1.0, -88.0, 5.0, -66.0])


def test_stata_extended_missing_values_take_the_code_of_their_label(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame().astype({"trust_eu": object})
    frame["trust_eu"] = [1.0, "a", 5.0, "b"]
    path = write_dta(
        frame,
        tmp_path / "baseline.dta",
        value_labels={"trust_eu": {"a": "Don't know", "b": "Never heard of this source"}},
        missing_user_values={"trust_eu": ["a", "b"]},
    )
    raw = read_raw(path, study=study)
    assert raw.user_missing["trust_eu"] == ["a", "b"]
    coded = code_wave(raw, study=study)
    assert coded.frame["trust_eu"].tolist() == [1.0, -88.0, 5.0, -66.0]


def test_an_spss_user_missing_code_takes_the_missing_code_its_label_names(
    tmp_path: Path, study: Study
) -> None:
    frame = wave_frame()
    frame["trust_eu"] = [1.0, 98.0, 5.0, 97.0]
    path = write_sav(
        frame,
        tmp_path / "baseline.sav",
        value_labels={"trust_eu": {98.0: "Don't know", 97.0: "Never heard of this source"}},
        missing_ranges={"trust_eu": [{"lo": 97.0, "hi": 99.0}]},
    )
    raw = read_raw(path, study=study)
    assert raw.user_missing["trust_eu"] == [97.0, 98.0]
    coded = code_wave(raw, study=study)
    assert coded.frame["trust_eu"].tolist() == [1.0, -88.0, 5.0, -66.0]


def test_excel_sep_hint_line_names_the_delimiter(tmp_path: Path, study: Study) -> None:
    path = tmp_path / "baseline.csv"
    path.write_text("sep=;\n" + csv_text(wave_frame(), delimiter=";"), encoding="utf-8")
    raw = read_raw(path, study=study)
    assert raw.delimiter == ";"
    assert_standard_items(code_wave(raw, study=study).frame)
