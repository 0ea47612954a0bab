"""Validating one coded wave: structure, row quarantine, summary and Data Docs."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.errors import DataQualityError
from flows.study import Study
from flows.validation import (
    RECHECK_COLUMNS,
    ROW_FLAG_COLUMNS,
    SUMMARY_COLUMNS,
    WaveValidation,
    validate_wave,
)


def test_a_clean_wave_passes_every_suite(clean_validation: WaveValidation) -> None:
    summary = clean_validation.summary
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert summary["success"].all(), summary[~summary["success"]]
    assert clean_validation.quarantined == ()
    assert clean_validation.row_flags.empty
    assert clean_validation.structural_failures == ()
    assert set(summary["suite"]) == {
        "example_structure",
        "example_design",
        "example_items",
        "example_fieldwork_baseline",
        "example_field_quality",
        "example_item_rates",
        "example_enumerators",
    }


def test_validate_wave_quarantines_every_planted_fault_and_nothing_else(
    faulty_baseline: tuple[pd.DataFrame, pd.DataFrame], faulty_validation: WaveValidation
) -> None:
    _, truth = faulty_baseline
    flags = faulty_validation.row_flags
    assert list(flags.columns) == list(ROW_FLAG_COLUMNS)
    found = set(zip(flags["row_number"], flags["check"], strict=True))
    for row_number, check in truth.itertuples(index=False):
        assert (row_number, check) in found, (row_number, check)
    assert set(faulty_validation.quarantined) == set(truth["row_number"])


def test_every_reason_of_a_flagged_row_is_kept(
    example_study: Study, clean_baseline: pd.DataFrame
) -> None:
    coded = clean_baseline.head(120).copy()
    coded.loc[3, "trust_eu"] = 9.0
    coded.loc[3, "consent"] = 0
    coded.loc[3, "interview_end"] = coded.loc[3, "interview_start"] + pd.Timedelta(minutes=2)
    validation = validate_wave(coded, study=example_study, wave="baseline")
    row = validation.row_flags[validation.row_flags["row_number"] == 4]
    assert set(row["check"]) == {"out_of_range", "missing_consent", "speeder"}
    assert "trust_eu = 9" in set(row["reason"])
    recheck = validation.recheck
    assert list(recheck.columns) == list(RECHECK_COLUMNS)
    text = recheck.loc[recheck["row_number"] == 4, "reasons"].item()
    assert "out_of_range: trust_eu = 9" in text and "speeder: 2.0 minutes" in text


def test_the_recheck_list_holds_submission_ids_never_identifying_columns(
    faulty_validation: WaveValidation,
) -> None:
    recheck = faulty_validation.recheck
    assert list(recheck.columns) == ["submission", "row_number", "enumerator", "reasons"]
    assert recheck["submission"].str.startswith("uuid-").all()
    assert len(recheck) == len(faulty_validation.quarantined)


def test_the_summary_counts_failing_rows_per_expectation(
    faulty_validation: WaveValidation,
) -> None:
    summary = faulty_validation.summary.set_index(["suite", "column"])
    assert summary.loc[("example_items", "trust_eu"), "unexpected_count"] == 6
    assert not summary.loc[("example_items", "trust_eu"), "success"]
    assert summary.loc[("example_field_quality", "flag_speeder"), "unexpected_count"] == 6
    assert summary.loc[("example_design", "consent"), "severity"].tolist() == ["row", "row"]
    passed = summary.loc[("example_items", "risk_death")]
    assert passed["success"] and passed["unexpected_count"] == 0


def test_own_counts_agree_with_great_expectations_summary_counts(
    example_study: Study, faulty_baseline: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    coded, _ = faulty_baseline
    coded = coded.copy()
    coded.loc[coded.index[:4], "risk_death"] = 140.0
    ours = validate_wave(coded, study=example_study, wave="baseline")
    theirs = validate_wave(coded, study=example_study, wave="baseline", result_format="SUMMARY")
    columns = ["suite", "column", "success", "unexpected_count"]
    rows = ours.summary["unexpected_count"].notna() & theirs.summary["unexpected_count"].notna()
    pd.testing.assert_frame_equal(
        ours.summary.loc[rows, columns], theirs.summary.loc[rows, columns]
    )
    assert (
        ours.summary.set_index(["suite", "column"]).loc[
            ("example_items", "risk_death"), "unexpected_count"
        ]
        == 4
    )
    percent = ours.summary["unexpected_percent"].to_numpy()
    np.testing.assert_allclose(percent[rows], theirs.summary["unexpected_percent"][rows])


def test_revalidating_the_same_wave_gives_the_identical_summary(
    example_study: Study,
    faulty_baseline: tuple[pd.DataFrame, pd.DataFrame],
    faulty_validation: WaveValidation,
) -> None:
    coded, _ = faulty_baseline
    again = validate_wave(coded, study=example_study, wave="baseline")
    pd.testing.assert_frame_equal(again.summary, faulty_validation.summary)
    pd.testing.assert_frame_equal(again.row_flags, faulty_validation.row_flags)


def test_a_missing_column_stops_the_wave_naming_the_column_and_the_fix(
    example_study: Study, clean_baseline: pd.DataFrame
) -> None:
    coded = clean_baseline.drop(columns=["arm"])
    with pytest.raises(
        DataQualityError,
        match=r"wave 'baseline' of study 'example': required column 'arm' is missing .*"
        r"Map the export's column to 'arm' in the study file",
    ):
        validate_wave(coded, study=example_study, wave="baseline")


def test_an_unknown_arm_label_stops_the_wave(
    example_study: Study, clean_baseline: pd.DataFrame
) -> None:
    coded = clean_baseline.copy()
    coded.loc[[5, 9], "arm"] = "placebo"
    with pytest.raises(
        DataQualityError,
        match=r"column 'arm' holds unknown labels \['placebo'\] in 2 rows \(first rows \[6, 10\]\)"
        r"; the study allows \['campaign', 'comparison'\]. Declare the label",
    ):
        validate_wave(coded, study=example_study, wave="baseline")


def test_a_respondent_id_repeated_with_different_answers_stops_the_wave(
    example_study: Study, clean_baseline: pd.DataFrame
) -> None:
    coded = clean_baseline.copy()
    coded.loc[7, "respondent"] = coded.loc[2, "respondent"]
    with pytest.raises(
        DataQualityError,
        match=r"column 'respondent' repeats 1 respondent ids with different answers "
        r"\('R000002' in rows \[3, 8\]\). Give each person one id",
    ):
        validate_wave(coded, study=example_study, wave="baseline")


def test_a_structural_failure_can_be_returned_instead_of_raised(
    example_study: Study, clean_baseline: pd.DataFrame
) -> None:
    coded = clean_baseline.drop(columns=["trust_eu"])
    validation = validate_wave(coded, study=example_study, wave="baseline", on_structural="return")
    assert not validation.success
    assert "required column 'trust_eu' is missing" in validation.structural_failures[0]
    failed = validation.summary[~validation.summary["success"]]
    assert failed[["column", "severity"]].values.tolist() == [["trust_eu", "structural"]]
    assert validation.quarantined == ()


def test_validate_wave_rejects_a_wave_the_study_does_not_declare(
    example_study: Study, clean_baseline: pd.DataFrame
) -> None:
    with pytest.raises(DataQualityError, match=r"wave 'midline' is not a wave of study"):
        validate_wave(clean_baseline, study=example_study, wave="midline")


class _ExternalReferences(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for attribute in ("src", "href"):
            value = values.get(attribute) or ""
            loads = tag in ("script", "img") or (tag == "link" and attribute == "href")
            if loads and re.match(r"https?://", value):
                self.external.append(f"<{tag} {attribute}={value}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_data_docs_are_written_and_open_without_a_network(
    faulty_validation: WaveValidation,
) -> None:
    index = faulty_validation.data_docs_path
    assert index is not None and index.name == "index.html"
    pages = sorted(Path(index).parent.rglob("*.html"))
    assert len(pages) >= 2 * 7
    for page in pages:
        parser = _ExternalReferences()
        parser.feed(page.read_text(encoding="utf-8"))
        assert parser.external == [], page
    parser = _ExternalReferences()
    parser.feed(index.read_text(encoding="utf-8"))
    text = " ".join(parser.text)
    for suite in ("example_items", "example_field_quality", "example_enumerators"):
        assert suite in text
    validation_page = next(p for p in pages if "validations/example_items" in p.as_posix())
    assert "trust_eu" in validation_page.read_text(encoding="utf-8")
