"""Artifacts: keys Prefect accepts, and no cell under the study's minimum."""

from __future__ import annotations

import pandas as pd

from flows.orchestration.artifacts import (
    artifact_key,
    estimates_table,
    markdown_table,
    mask_small_counts,
    masked_count,
    summary_markdown,
    suppress_small_cells,
)


def test_artifact_key_keeps_only_lowercase_letters_digits_and_dashes() -> None:
    assert artifact_key("Follow_Up study", "summary") == "follow-up-study-summary"
    assert artifact_key("example", "estimates") == "example-estimates"
    assert artifact_key("__a..b__") == "a-b"


def test_masked_count_hides_counts_under_the_minimum_but_not_zero() -> None:
    assert masked_count(3, 10) == "<10"
    assert masked_count(0, 10) == "0"
    assert masked_count(10, 10) == "10"
    assert masked_count(float("nan"), 10) == ""
    assert masked_count(None, 10) == ""


def test_suppress_small_cells_withholds_the_numbers_of_a_small_row() -> None:
    frame = pd.DataFrame(
        {"outcome": ["a", "b"], "estimate": [0.5, 0.7], "n_obs": [4, 40], "n_clusters": [2, 8]}
    )
    shown = suppress_small_cells(frame, minimum=10)
    assert shown.loc[0, "outcome"] == "a"
    assert shown.loc[0, "estimate"] is None
    assert shown.loc[0, "n_obs"] == "<10"
    assert shown.loc[0, "n_clusters"] == 2
    assert shown.loc[1, "estimate"] == 0.7
    assert shown.loc[1, "n_obs"] == "40"


def test_estimates_table_uses_the_smallest_cell_even_when_it_is_not_shown() -> None:
    estimates = pd.DataFrame(
        {
            "outcome": ["trust", "risk"],
            "term": ["treated", "treated"],
            "estimate": [0.25, -0.1],
            "p_value": [0.03, 0.5],
            "n_obs": [120, 120],
            "n_clusters": [12, 12],
            "n_smallest_cell": [6, 30],
            "specification": ["x", "y"],
        }
    )
    records = estimates_table(estimates, minimum=10)
    assert list(records[0]) == [
        "outcome",
        "term",
        "estimate",
        "p_value",
        "n_obs",
        "n_clusters",
    ]
    assert records[0]["estimate"] is None and records[0]["p_value"] is None
    assert records[1]["estimate"] == -0.1


def test_markdown_table_escapes_pipes_and_rounds_floats() -> None:
    table = markdown_table([{"a": "x|y", "b": 1.23456}], ["a", "b"], digits=2)
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | 1.23 |"]


def test_summary_markdown_masks_small_waves_and_lists_primary_estimates() -> None:
    files = pd.DataFrame(
        {
            "file_name": ["baseline.csv"],
            "wave": ["baseline"],
            "status": ["stored"],
            "rows_stored": [8],
        }
    )
    quality = pd.DataFrame(
        {
            "wave": ["baseline"],
            "status": ["validated"],
            "n_rows": [8],
            "n_quarantined": [2],
            "failed_checks": [1],
        }
    )
    estimates = pd.DataFrame(
        {"outcome": ["trust"], "term": ["treated"], "estimate": [0.3], "n_obs": [400]}
    )
    text = summary_markdown(
        title="Small",
        run_id="r1",
        minimum=10,
        files=files,
        quality=quality,
        primary_estimates=estimates,
        notes=["few clusters"],
    )
    assert "| baseline.csv | baseline | stored | <10 |" in text
    assert "| baseline | validated | <10 | <10 |  |" in text
    assert "| trust | treated | 0.300 | 400 |" in text
    assert "- few clusters" in text
    assert " 8 " not in text


def test_summary_markdown_says_when_there_is_nothing_yet() -> None:
    text = summary_markdown(
        title="Small", run_id="r1", minimum=10, files=pd.DataFrame(columns=["file_name"])
    )
    assert "No new file in the inbox." in text
    assert "No validation result for this run." in text
    assert "two or more stored waves are needed" in text


def test_mask_small_counts_hides_small_counts_of_people_in_messages() -> None:
    message = (
        "column 'x' in a.csv holds 7 in 3 row(s) (first at row 12); "
        "every one of the 8 complete rows holds 1.0; 12 rows; 0 rows; only 5 clusters"
    )
    assert mask_small_counts(message, 10) == (
        "column 'x' in a.csv holds 7 in <10 row(s) (first at row 12); "
        "every one of the <10 complete rows holds 1.0; 12 rows; 0 rows; only 5 clusters"
    )
