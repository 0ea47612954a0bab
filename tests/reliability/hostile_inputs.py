"""The corpus of hostile inputs: malformed survey files, study files and command lines.

Each case changes a copy of the study (baseline stored) and names the command to run; the
command must exit 1 (data) or 2 (usage) with one clear message line that matches the case's
pattern, and leave the warehouse and the raw archive byte-identical.
"""

from __future__ import annotations

import re
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat

from tests.reliability.conftest import (
    COLUMNS,
    LONGITUDE,
    NAME,
    PHONE,
    csv_bytes,
    endline_with,
    wave_table,
)


@dataclass(frozen=True, slots=True)
class Case:
    """One hostile input: how to make it, the exit code and the message it must give."""

    make: Callable[[Path], list[str]]  # study file -> CLI arguments
    exit_code: int
    message: str  # a regex the error line must match


def _incoming(study_file: Path, name: str, data: bytes) -> Path:
    folder = study_file.parent / "incoming"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def ingest_bytes(name: str, data: bytes, *extra: str) -> Callable[[Path], list[str]]:
    def make(study_file: Path) -> list[str]:
        return ["ingest", str(study_file), str(_incoming(study_file, name, data)), *extra]

    return make


def _endline_rows() -> list[dict[str, str]]:
    return wave_table("endline", trust_shift=1)


def _xlsx(rows: list[list[object]], *, edit: Callable[[str], str] | None = None) -> bytes:
    import io

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    if edit is None:
        return buffer.getvalue()
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode("utf-8")).encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


def _endline_grid() -> list[list[object]]:
    return [COLUMNS, *([row[c] for c in COLUMNS] for row in _endline_rows())]


def _error_cell(xml: str) -> str:
    # Column L is trust_iom_un; row 3 the second interview. Excel stores the failed formula
    # with its cached error value.
    return re.sub(r'<c r="L3"[^>]*>.*?</c>', '<c r="L3" t="e"><f>1/0</f><v>#DIV/0!</v></c>', xml)


def _sparse(xml: str) -> str:
    return xml.replace(
        "</sheetData>",
        '<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>',
    )


def _two_sheets() -> bytes:
    import io

    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "wave"
    second = book.create_sheet("copy")
    for row in _endline_grid():
        first.append(row)
        second.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sav(labels: dict[int | float, str]) -> Callable[[Path], list[str]]:
    def make(study_file: Path) -> list[str]:
        frame = pd.DataFrame(wave_table("endline")).rename(columns={"_uuid": "uuid"})
        text = study_file.read_text(encoding="utf-8")
        study_file.write_text(text.replace('"_uuid"', '"uuid"'), encoding="utf-8")
        for column in ("trust_iom_un", "risk_death", "wish_to_leave", "weight"):
            frame[column] = pd.to_numeric(frame[column])
        folder = study_file.parent / "incoming"
        folder.mkdir(exist_ok=True)
        path = folder / "endline.sav"
        pyreadstat.write_sav(frame, str(path), variable_value_labels={"trust_iom_un": labels})
        return ["ingest", str(study_file), str(path)]

    return make


def _study_edit(
    edit: Callable[[str], str], *command: str, inbox: bytes | None = None
) -> Callable[[Path], list[str]]:
    def make(study_file: Path) -> list[str]:
        study_file.write_text(edit(study_file.read_text(encoding="utf-8")), encoding="utf-8")
        if inbox is not None:
            (study_file.parent / "inbox" / "endline.csv").write_bytes(inbox)
        return [command[0], str(study_file), *command[1:]]

    return make


def _warehouse_is(kind: str) -> Callable[[Path], list[str]]:
    def make(study_file: Path) -> list[str]:
        target = study_file.parent / "elsewhere" / "trustshift.duckdb"
        target.parent.mkdir()
        if kind == "text":
            target.write_text("these are my notes, not a database\n", encoding="utf-8")
        elif kind == "sqlite":
            connection = sqlite3.connect(target)
            connection.execute("CREATE TABLE notes (text)")
            connection.commit()
            connection.close()
        else:
            target.mkdir()
        text = study_file.read_text(encoding="utf-8")
        study_file.write_text(
            text + '\n[locations]\nwarehouse = "elsewhere/trustshift.duckdb"\n', encoding="utf-8"
        )
        endline = _incoming(study_file, "endline.csv", csv_bytes(_endline_rows()))
        return ["ingest", str(study_file), str(endline)]

    return make


def _stale_suite(study_file: Path) -> list[str]:
    from flows.study import load_study
    from flows.validation import write_suites

    write_suites(load_study(study_file), study_file.parent / "expectations")
    text = study_file.read_text(encoding="utf-8")
    study_file.write_text(text.replace('title = "Small test study"', 'title = "Edited"'))
    return ["validate", str(study_file)]


def _changed_key(study_file: Path) -> list[str]:
    import os

    os.environ["TRUSTSHIFT_PSEUDONYM_KEY_SMALL"] = "another-key-0123456789abcdefghij"
    endline = _incoming(study_file, "endline.csv", csv_bytes(_endline_rows()))
    return ["ingest", str(study_file), str(endline)]


def _lost_zeros() -> bytes:
    rows = _endline_rows()
    for row in rows:
        row["respondent_id"] = row["respondent_id"].lstrip("0")
    return csv_bytes(rows)


def _other_ids() -> bytes:
    rows = _endline_rows()
    for position, row in enumerate(rows):
        row["respondent_id"] = f"X{position}"
    return csv_bytes(rows)


def _baseline_changed() -> bytes:
    rows = wave_table("baseline")
    rows[0]["trust_iom_un"] = "5"
    return csv_bytes(rows)


def _plain_zip() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("endline.csv", ENDLINE_TEXT)
    return buffer.getvalue()


def _latin1_study(study_file: Path) -> list[str]:
    text = study_file.read_text(encoding="utf-8").replace("Small test study", "Café")
    study_file.write_bytes(text.encode("latin-1"))
    return ["ingest", str(study_file)]


ENDLINE = csv_bytes(_endline_rows())
ENDLINE_TEXT = ENDLINE.decode("utf-8")

CASES: dict[str, Case] = {
    # -- files that are no survey export ---------------------------------------------------
    "an empty file": Case(ingest_bytes("endline.csv", b""), 1, r"endline\.csv is empty"),
    "a header without rows": Case(
        ingest_bytes("endline.csv", csv_bytes([])), 1, r"endline\.csv holds a header"
    ),
    "binary garbage": Case(
        ingest_bytes("endline.csv", bytes(range(256)) * 8), 1, r"endline\.csv is not a survey"
    ),
    "a PDF": Case(ingest_bytes("endline.pdf", b"%PDF-1.7\n%\xe2\xe3\n"), 1, r"a PDF document"),
    "an old Excel file": Case(
        ingest_bytes("endline.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64),
        1,
        r"endline\.xls .*Excel 97-2003",
    ),
    "a gzip file": Case(ingest_bytes("endline.csv.gz", b"\x1f\x8b\x08" + b"\x00" * 32), 1, "gzip"),
    "a Parquet file": Case(ingest_bytes("endline.parquet", b"PAR1" + b"\x00" * 32), 1, "Parquet"),
    "a PNG image": Case(ingest_bytes("endline.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16), 1, "PNG"),
    "an SQLite file as a wave": Case(
        ingest_bytes("endline.db", b"SQLite format 3\x00" + b"\x00" * 84), 1, "SQLite"
    ),
    "a 7-Zip archive": Case(ingest_bytes("endline.7z", b"7z\xbc\xaf\x27\x1c\x00\x04"), 1, "7-Zip"),
    "a corrupt workbook": Case(
        ingest_bytes("endline.xlsx", b"PK\x03\x04" + b"\x00" * 60), 1, r"endline\.xlsx"
    ),
    "a ZIP that is no workbook": Case(
        ingest_bytes("endline.zip", _plain_zip()), 1, r"endline\.zip is a ZIP archive but not"
    ),
    "a truncated SPSS file": Case(
        ingest_bytes("endline.sav", b"$FL2@(#) IBM SPSS STATISTICS"), 1, r"endline\.sav"
    ),
    "a truncated Stata file": Case(
        ingest_bytes("endline.dta", b"<stata_dta><header><release>118"), 1, r"endline\.dta"
    ),
    "an HTML login page": Case(
        ingest_bytes("endline.csv", b"<!DOCTYPE html><html><body>Log in</body></html>"),
        1,
        r"HTML or XML document",
    ),
    "a JSON document": Case(
        ingest_bytes("endline.csv", b'[{"respondent_id": "00101"}]'), 1, r"holds JSON"
    ),
    "an XML document": Case(
        ingest_bytes("endline.csv", b'<?xml version="1.0"?><rows/>'), 1, r"HTML or XML"
    ),
    "NUL bytes in a CSV": Case(
        ingest_bytes("endline.csv", ENDLINE[:200] + b"\x00" * 50 + ENDLINE[200:]),
        1,
        r"endline\.csv",
    ),
    "a truncated UTF-16 file": Case(
        ingest_bytes("endline.csv", ENDLINE.decode().encode("utf-16")[:-1]),
        1,
        r"endline\.csv",
    ),
    "no such file": Case(
        lambda study_file: ["ingest", str(study_file), str(study_file.parent / "missing.csv")],
        1,
        r"no file at .*missing\.csv",
    ),
    "a folder given as a file": Case(
        lambda study_file: ["ingest", str(study_file), str(study_file.parent / "inbox")],
        1,
        r"no file at .*inbox",
    ),
    # -- broken tables -----------------------------------------------------------------------
    "a CSV cut mid-row": Case(
        ingest_bytes("endline.csv", ENDLINE[: ENDLINE.rstrip().rfind(b",C") + 2]),
        1,
        r"last row of endline\.csv has \d+ of 14 fields.*cut off",
    ),
    "a CSV cut mid-row with a line break": Case(
        ingest_bytes("endline.csv", ENDLINE[: ENDLINE.rstrip().rfind(b",C") + 2] + b"\n"),
        1,
        r"last row of endline\.csv has \d+ of 14 fields.*cut off",
    ),
    "a first row with an extra field": Case(
        ingest_bytes("endline.csv", ENDLINE.replace(b",0\n", b",0,extra\n", 1)),
        1,
        r"row 1 of endline\.csv has 15 fields but the header names 14 columns",
    ),
    "a later row with an extra field": Case(
        ingest_bytes("endline.csv", ENDLINE[::-1].replace(b"\n0,", b"\nartxe,0,", 1)[::-1]),
        1,
        r"endline\.csv is not a consistent comma-separated table",
    ),
    "an unterminated quote": Case(
        ingest_bytes("endline.csv", ENDLINE.replace(b"C1,", b'"C1,', 1)),
        1,
        r"endline\.csv",
    ),
    "a duplicated column": Case(
        ingest_bytes("endline.csv", ENDLINE.replace(b"risk_death", b"trust_iom_un", 1)),
        1,
        r"names the column 'trust_iom_un' twice",
    ),
    "no respondent column": Case(
        ingest_bytes("endline.csv", ENDLINE.replace(b"respondent_id", b"resp", 1)),
        1,
        r"endline\.csv has no column 'respondent_id'",
    ),
    "one column only": Case(
        ingest_bytes("endline.csv", b"respondent_id\n00101\n00102\n"), 1, r"endline\.csv"
    ),
    "a file naming no wave": Case(
        ingest_bytes("survey.csv", ENDLINE), 1, r"cannot tell which wave survey\.csv holds"
    ),
    "a file naming two waves": Case(
        ingest_bytes("baseline_endline.csv", ENDLINE), 1, r"contains several waves"
    ),
    "a different file for a stored wave": Case(
        ingest_bytes("baseline.csv", _baseline_changed()),
        1,
        r"wave 'baseline' .*already stored.*--replace",
    ),
    # -- values ------------------------------------------------------------------------------
    "an unknown arm label": Case(
        ingest_bytes("endline.csv", endline_with("arm", "control")),
        1,
        r"column 'arm' in endline\.csv holds 'control' in 1 row\(s\)",
    ),
    "a name in the arm column (a shifted export)": Case(
        ingest_bytes("endline.csv", endline_with("arm", NAME)),
        1,
        r"column 'arm' in endline\.csv holds a text value of 17 character\(s\)",
    ),
    "a formula in the arm column": Case(
        ingest_bytes("endline.csv", endline_with("arm", '=HYPERLINK("http://x.example")')),
        1,
        r"column 'arm' in endline\.csv holds a text value",
    ),
    "a script tag in the arm column": Case(
        ingest_bytes("endline.csv", endline_with("arm", "<script>alert(1)</script>")),
        1,
        r"column 'arm' in endline\.csv holds a text value",
    ),
    "a blank arm": Case(
        ingest_bytes("endline.csv", endline_with("arm", "")),
        1,
        r"column 'arm' in endline\.csv holds no arm label",
    ),
    "an out-of-range answer": Case(
        ingest_bytes("endline.csv", endline_with("trust_iom_un", "7", rows=3)),
        1,
        r"'trust_iom_un'.* in endline\.csv holds 7 in 3 row\(s\).*allows 1-5",
    ),
    "a GPS value in an item (a shifted export)": Case(
        ingest_bytes("endline.csv", endline_with("risk_death", LONGITUDE)),
        1,
        r"'risk_death'.* in endline\.csv holds a number of 10 characters",
    ),
    "a phone number in an item": Case(
        ingest_bytes("endline.csv", endline_with("risk_death", PHONE)),
        1,
        r"'risk_death'.* in endline\.csv holds a text value of 14 character\(s\)",
    ),
    "a negative percentage": Case(
        ingest_bytes("endline.csv", endline_with("risk_death", "-5")),
        1,
        r"'risk_death'.* in endline\.csv holds -5",
    ),
    "text in a numeric item": Case(
        ingest_bytes("endline.csv", endline_with("risk_death", "ten")),
        1,
        r"'risk_death'.* in endline\.csv holds 'ten'",
    ),
    "an unknown answer label": Case(
        ingest_bytes("endline.csv", endline_with("trust_iom_un", "Very much")),
        1,
        r"holds a text value of 9 character\(s\).*neither a number nor a known answer label",
    ),
    "an infinite answer": Case(
        ingest_bytes("endline.csv", endline_with("risk_death", "inf")),
        1,
        r"'risk_death'.* in endline\.csv holds an infinite number",
    ),
    "a spreadsheet error in a CSV": Case(
        ingest_bytes("endline.csv", endline_with("trust_iom_un", "#DIV/0!")),
        1,
        r"holds the spreadsheet error '#DIV/0!' in 1 row\(s\)",
    ),
    "a #N/A in a CSV": Case(
        ingest_bytes("endline.csv", endline_with("risk_death", "#N/A")),
        1,
        r"holds the spreadsheet error '#N/A'",
    ),
    "an infinite weight": Case(
        ingest_bytes("endline.csv", endline_with("weight", "inf")),
        1,
        r"column 'weight' in endline\.csv holds an infinite number",
    ),
    "a negative weight": Case(
        ingest_bytes("endline.csv", endline_with("weight", "-3")),
        1,
        r"column 'weight' in endline\.csv holds a negative weight in 1 row\(s\)",
    ),
    "a weight with a decimal comma": Case(
        ingest_bytes("endline.csv", endline_with("weight", '"1,5"')),
        1,
        r"column 'weight' in endline\.csv holds '1,5'",
    ),
    # -- workbooks and statistical files -----------------------------------------------------
    "an Excel error cell": Case(
        ingest_bytes("endline.xlsx", _xlsx(_endline_grid(), edit=_error_cell)),
        1,
        r"in endline\.xlsx holds the spreadsheet error '#DIV/0!' in 1 row\(s\) \(first at row 2\)",
    ),
    "a sparse workbook reaching XFD1048576": Case(
        ingest_bytes("endline.xlsx", _xlsx(_endline_grid(), edit=_sparse)),
        1,
        r"sheet 'Sheet' of endline\.xlsx reaches cell XFD1048576",
    ),
    "a workbook with two data sheets": Case(
        ingest_bytes("endline.xlsx", _two_sheets()), 1, r"several sheets .*reading\.sheet"
    ),
    "a workbook with a header only": Case(
        ingest_bytes("endline.xlsx", _xlsx([COLUMNS])), 1, r"endline\.xlsx .*no data rows"
    ),
    "SPSS labels that call a valid answer don't know": Case(
        _sav({1: "Don't know", 2: "A little", 3: "Somewhat", 4: "Mostly", 5: "Completely"}),
        1,
        r"in endline\.sav: the file labels the code 1 \"Don't know\", but 1 is a valid answer .*"
        r"4 row\(s\) hold it",
    ),
    # -- panel links ---------------------------------------------------------------------------
    "ids that lost their leading zeros": Case(
        ingest_bytes("endline.csv", _lost_zeros()),
        1,
        r"endline\.csv \(wave 'endline'\) links 0% .*lost their leading zeros \(padded to 5",
    ),
    "ids from another id column": Case(
        ingest_bytes("endline.csv", _other_ids()),
        1,
        r"endline\.csv \(wave 'endline'\) links 0% .*columns\.respondent",
    ),
    "a changed pseudonym key": Case(
        _changed_key, 1, r"pseudonym key in use for study 'small' is not the key"
    ),
    # -- study files ---------------------------------------------------------------------------
    "a study file that is no TOML": Case(
        _study_edit(lambda text: text + "\n[design\n", "ingest"), 2, r"study\.toml is not valid"
    ),
    "an unknown study-file key": Case(
        _study_edit(lambda text: text + "\nwhat = 1\n", "ingest"), 2, r"what: unknown key"
    ),
    "a wrong type in the study file": Case(
        _study_edit(
            lambda text: text.replace("minimum_cell_size = 2", "minimum_cell_size = 'x'"), "ingest"
        ),
        2,
        r"design\.minimum_cell_size",
    ),
    "a study file that is not UTF-8": Case(_latin1_study, 2, r"study\.toml is not UTF-8"),
    "an archive outside the study folder": Case(
        _study_edit(lambda text: text + '\n[locations]\narchive = "../outside-raw"\n', "ingest"),
        2,
        r"locations\.archive = '\.\./outside-raw' climbs out",
    ),
    "an absolute warehouse": Case(
        _study_edit(lambda text: text + '\n[locations]\nwarehouse = "/tmp/x.duckdb"\n', "ingest"),
        2,
        r"locations\.warehouse = '/tmp/x\.duckdb' is an absolute path.*allow_outside",
    ),
    "the inbox at /etc": Case(
        _study_edit(lambda text: text + '\n[locations]\ninbox = "/etc"\n', "run"),
        2,
        r"locations\.inbox = '/etc' is an absolute path",
    ),
    "an empty inbox location": Case(
        _study_edit(lambda text: text + '\n[locations]\ninbox = ""\n', "ingest"),
        2,
        r"locations\.inbox = '' is empty",
    ),
    "a warehouse path that is a text file": Case(
        _warehouse_is("text"), 2, r"trustshift\.duckdb' holds a file that is not a DuckDB"
    ),
    "a warehouse path that is an SQLite file": Case(
        _warehouse_is("sqlite"), 2, r"trustshift\.duckdb' holds an SQLite database"
    ),
    "a warehouse path that is a folder": Case(
        _warehouse_is("folder"), 2, r"trustshift\.duckdb' is a folder"
    ),
    "a repeated wave": Case(
        _study_edit(lambda text: text + '\n[[waves]]\nname = "endline"\n', "ingest"),
        2,
        r"a wave name is repeated",
    ),
    "an invalid study id": Case(
        _study_edit(lambda text: text.replace('id = "small"', 'id = "Small Study"'), "ingest"),
        2,
        r"id: 'Small Study' is not a valid name",
    ),
    "an unknown instrument file": Case(
        _study_edit(lambda text: text.replace("instrument.toml", "nowhere.toml"), "ingest"),
        2,
        r"nowhere\.toml",
    ),
    "an outcome the instrument lacks": Case(
        _study_edit(lambda text: text.replace('["trust_iom_un"]', '["trust_moon"]'), "ingest"),
        2,
        r"outcome 'trust_moon' is neither an item nor a construct",
    ),
    "a panel-link threshold above 1": Case(
        _study_edit(lambda text: text + "\n[quality]\nminimum_panel_link_share = 2\n", "ingest"),
        2,
        r"quality\.minimum_panel_link_share",
    ),
    "a suite generated from an older study file": Case(
        _stale_suite, 2, r"suite\(s\) in .*expectations.* another version of study\.toml"
    ),
    # -- command lines -------------------------------------------------------------------------
    "a run id that climbs out of results/": Case(
        lambda study_file: ["estimate", str(study_file), "--run-id", "../../../x"],
        2,
        r"run id '\.\./\.\./\.\./x' is not a plain name",
    ),
    "a report of a run id with a slash": Case(
        lambda study_file: ["report", str(study_file), "--run-id", "a/b"],
        2,
        r"run id 'a/b' is not a plain name",
    ),
    "negative bootstrap draws": Case(
        lambda study_file: ["estimate", str(study_file), "--bootstrap-draws", "-5"],
        2,
        r"--bootstrap-draws",
    ),
    "negative bootstrap draws for a run": Case(
        lambda study_file: ["run", str(study_file), "--bootstrap-draws", "-5"],
        2,
        r"--bootstrap-draws",
    ),
    "no study file": Case(
        lambda study_file: ["ingest", str(study_file.parent / "nothing.toml")],
        2,
        r"no study file at .*nothing\.toml",
    ),
}
