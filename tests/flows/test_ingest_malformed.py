"""Malformed inputs: one clear message each, and the warehouse stays byte-identical."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from flows.errors import IngestError
from flows.ingest import ingest_wave
from flows.study import load_study
from flows.warehouse import warehouse_path
from tests.flows.conftest import HEADER, wave_rows

GOOD_ROWS = wave_rows("endline")


def csv_text(header: str = HEADER, rows: list[str] = GOOD_ROWS) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def replace_in_first_row(old: str, new: str) -> bytes:
    return csv_text(rows=[GOOD_ROWS[0].replace(old, new), *GOOD_ROWS[1:]])


# (file name, bytes, the message it must give)
MALFORMED: dict[str, tuple[str, bytes, str]] = {
    "an empty file": ("endline.csv", b"", r"endline\.csv is empty"),
    "a header without rows": (
        "endline.csv",
        csv_text(rows=[]),
        r"endline\.csv holds a header of 13 columns but no data rows",
    ),
    "binary garbage": (
        "endline.csv",
        bytes(range(256)) * 4,
        r"endline\.csv",
    ),
    "a PDF sent as a wave": (
        "endline.pdf",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        r"endline\.pdf is not a survey export",
    ),
    "a corrupt workbook": (
        "endline.xlsx",
        b"PK\x03\x04" + b"\x00" * 60,
        r"endline\.xlsx",
    ),
    "a truncated SPSS file": ("endline.sav", b"$FL2@(#) IBM SPSS STATISTICS", r"endline\.sav"),
    "a truncated Stata file": ("endline.dta", b"<stata_dta><header><release>118", r"endline\.dta"),
    "an HTML login page": (
        "endline.csv",
        b"<!DOCTYPE html><html><body>Please log in</body></html>",
        r"holds an HTML or XML document",
    ),
    "no respondent column": (
        "endline.csv",
        csv_text(header=HEADER.replace("respondent_id", "resp")),
        r"respondent_id",
    ),
    "no arm column": (
        "endline.csv",
        csv_text(header=HEADER.replace(",arm,", ",group,")),
        r"'arm'",
    ),
    "an unknown arm label": (
        "endline.csv",
        replace_in_first_row(",campaign,", ",placebo,"),
        r"'placebo' in 1 row\(s\) \(first at row 1\); the study's arm labels are",
    ),
    "a file named for no wave": (
        "midline.csv",
        csv_text(),
        r"cannot tell which wave midline\.csv holds",
    ),
    "a file named for two waves": (
        "baseline_endline.csv",
        csv_text(),
        r"contains several waves",
    ),
    "a code outside the scale": (
        "endline.csv",
        replace_in_first_row(",2,10,", ",7,10,"),
        r"holds 7 in 1 row\(s\) \(first at row 1\).*the instrument allows",
    ),
    "an unknown answer label": (
        "endline.csv",
        replace_in_first_row(",2,10,", ",Very much,10,"),
        # Free text is never quoted (it may be a name in a shifted column): its length is.
        r"a text value of 9 character\(s\) in 1 row\(s\).*neither a number nor a known answer",
    ),
    "text in a percentage item": (
        "endline.csv",
        replace_in_first_row(",10,1", ",ten,1"),
        r"'ten' in 1 row\(s\)",
    ),
    "a repeated column": (
        "endline.csv",
        csv_text(header=HEADER.replace("risk_death", "trust_iom_un")),
        r"names the column 'trust_iom_un' twice",
    ),
    "a ragged row": (
        "endline.csv",
        csv_text(rows=[GOOD_ROWS[0] + ",1,2,3", *GOOD_ROWS[1:]]),
        r"endline\.csv",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_file_is_refused_and_leaves_the_warehouse_byte_identical(
    small_study: Callable[..., Path], case: str
) -> None:
    study = load_study(small_study())
    ingest_wave(study, study.inbox / "baseline.csv")
    database = warehouse_path(study)
    before = database.read_bytes()
    archived_before = sorted(p.name for p in study.archive.rglob("*") if p.is_file())

    file_name, contents, message = MALFORMED[case]
    bad = study.root / "incoming" / file_name
    bad.parent.mkdir()
    bad.write_bytes(contents)
    with pytest.raises(IngestError, match=message):
        ingest_wave(study, bad)

    assert database.read_bytes() == before
    assert sorted(p.name for p in study.archive.rglob("*") if p.is_file()) == archived_before
    assert bad.read_bytes() == contents
