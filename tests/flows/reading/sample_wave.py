"""The small test wave, written the way each tool exports it, and what it codes to."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

# Identifying values: they must never reach a coded wave.
NAMES = ["Aminata Zulu-Quartz", "Moussa Quill", "Awa Xylo", "Ibrahima Vex"]
PHONES = ["+221 77 901 23 45", "+221 77 000 11 22", "+221 70 555 66 77", "+221 76 123 98 76"]


def wave_frame() -> pd.DataFrame:
    """Four interviews with raw columns as a survey firm would name them."""
    return pd.DataFrame(
        {
            "respondent_id": ["R1", "R2", "R3", "R4"],
            "_uuid": ["u-1", "u-2", "u-3", "u-4"],
            "community": ["C1", "C1", "C2", "C2"],
            "region": ["north", "north", "south", "south"],
            "arm": ["campaign", "campaign", "comparison", "comparison"],
            "enumerator_id": ["E1", "E2", "E1", "E2"],
            "start": [
                "2025-01-20T09:12:33.000+00:00",
                "2025-01-20T10:00:00.000+01:00",
                "2025-01-21T08:30:00.000+00:00",
                "2025-01-21T11:45:10.500+00:00",
            ],
            "end": [
                "2025-01-20T09:52:33.000+00:00",
                "2025-01-20T10:40:00.000+01:00",
                "2025-01-21T09:10:00.000+00:00",
                "2025-01-21T12:30:00.000+00:00",
            ],
            "consent": [1, 1, 1, 0],
            "weight": [1.5, 0.5, 1.0, 2.0],
            "respondent_name": NAMES,
            "phone": PHONES,
            "trust_eu": [1.0, -88.0, 5.0, -66.0],
            "risk_death": [10.0, 20.0, -99.0, 100.0],
            "wish_to_leave": [1.0, 0.0, 1.0, float("nan")],
            "most_important_source": [1.0, 4.0, 14.0, 11.0],
            "preparations__saved_money": [1.0, 0.0, 0.0, float("nan")],
            "preparations__asked_family": [1.0, 1.0, 0.0, float("nan")],
        }
    )


EXPECTED_ITEMS = {
    "trust_eu": [1.0, -88.0, 5.0, -66.0],
    "risk_death": [10.0, 20.0, -99.0, 100.0],
    "wish_to_leave": [1.0, 0.0, 1.0, float("nan")],
    "most_important_source": [1.0, 4.0, 14.0, 11.0],
    "preparations__saved_money": [1.0, 0.0, 0.0, float("nan")],
    "preparations__asked_family": [1.0, 1.0, 0.0, float("nan")],
}


def csv_text(frame: pd.DataFrame, *, delimiter: str = ",") -> str:
    """The frame as CSV text; whole numbers written without '.0' as Kobo and firms do."""
    text = frame.copy()
    for column in text.columns:
        if pd.api.types.is_float_dtype(text[column]):
            values = text[column]
            text[column] = [
                "" if np.isnan(v) else (str(int(v)) if float(v).is_integer() else str(v))
                for v in values
            ]
    return text.to_csv(index=False, sep=delimiter, lineterminator="\n")


def write_csv(
    frame: pd.DataFrame, path: Path, *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    path.write_bytes(csv_text(frame, delimiter=delimiter).encode(encoding))
    return path


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def spss_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """SPSS names cannot start with '_' (``_uuid`` becomes ``uuid``); times as datetimes."""
    ready = frame.rename(columns=lambda name: name.lstrip("_"))
    for column in ("start", "end"):
        if column in ready:
            ready[column] = (
                pd.to_datetime(ready[column], format="ISO8601", utc=True)
                .dt.tz_localize(None)
                .astype("datetime64[ns]")
            )
    return ready


def write_sav(
    frame: pd.DataFrame,
    path: Path,
    *,
    value_labels: dict[str, dict[float, str]] | None = None,
    missing_ranges: dict[str, list[object]] | None = None,
) -> Path:
    pyreadstat.write_sav(
        spss_ready(frame),
        str(path),
        variable_value_labels=value_labels or {},
        missing_ranges=missing_ranges or {},
    )
    return path


def write_dta(
    frame: pd.DataFrame,
    path: Path,
    *,
    value_labels: dict[str, dict[object, str]] | None = None,
    missing_user_values: dict[str, list[str]] | None = None,
) -> Path:
    ready = frame.copy()
    for column in ("start", "end"):
        if column in ready:
            ready[column] = (
                pd.to_datetime(ready[column], format="ISO8601", utc=True)
                .dt.tz_localize(None)
                .astype("datetime64[ns]")
            )
    pyreadstat.write_dta(
        ready,
        str(path),
        variable_value_labels=value_labels or {},
        missing_user_values=missing_user_values or {},
    )
    return path


def assert_standard_items(frame: pd.DataFrame) -> None:
    """The coded items of the standard wave, whatever the format it came in."""
    for name, values in EXPECTED_ITEMS.items():
        assert frame[name].dtype == "float64", name
        np.testing.assert_array_equal(frame[name].to_numpy(), np.asarray(values), err_msg=name)


def assert_standard_roles(frame: pd.DataFrame) -> None:
    """The role columns of the standard wave, whatever the format it came in."""
    assert frame["row_number"].tolist() == [1, 2, 3, 4]
    assert frame["respondent"].tolist() == ["R1", "R2", "R3", "R4"]
    assert frame["submission"].tolist() == ["u-1", "u-2", "u-3", "u-4"]
    assert frame["cluster"].tolist() == ["C1", "C1", "C2", "C2"]
    assert frame["arm"].tolist() == ["campaign", "campaign", "comparison", "comparison"]
    assert frame["treated"].dtype == "Int8"
    assert frame["treated"].tolist() == [1, 1, 0, 0]
    assert frame["consent"].tolist() == [1, 1, 1, 0]
    assert frame["weight"].tolist() == [1.5, 0.5, 1.0, 2.0]
    assert str(frame["interview_start"].dtype) == "datetime64[us]"
    assert frame["interview_start"].tolist() == [
        pd.Timestamp("2025-01-20 09:12:33"),
        pd.Timestamp("2025-01-20 09:00:00"),
        pd.Timestamp("2025-01-21 08:30:00"),
        pd.Timestamp("2025-01-21 11:45:10.500"),
    ]
    assert not {"respondent_name", "phone"} & set(frame.columns)
