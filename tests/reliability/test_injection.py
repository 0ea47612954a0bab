"""Injection: exports withhold small cells like the report, CSV cells cannot run as
spreadsheet formulas, and text cells only are touched."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from flows.exports import neutralise_formulas, withhold_small_cells, write_csv


def test_every_formula_start_is_neutralised_in_text_cells_only(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "submission": [
                '=HYPERLINK("http://x.example","click")',
                "+1",
                "-2",
                "@SUM(A1)",
                "\tTAB",
                "\rCR",
                "plain",
                "a=b",
            ],
            "estimate": [-0.5, 1.0, -2.0, 0.0, 3.0, -1.0, 2.0, 4.0],
        }
    )
    path = write_csv(frame, tmp_path / "out.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert back["submission"].tolist()[:6] == [
        '\'=HYPERLINK("http://x.example","click")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tTAB",
        "'\rCR",
    ]
    assert back["submission"].tolist()[6:] == ["plain", "a=b"]
    assert back["estimate"].tolist() == frame["estimate"].tolist()


def test_a_formula_in_a_column_name_is_neutralised_too() -> None:
    frame = pd.DataFrame({"=cmd|'/c calc'!A0": ["x"]})
    assert list(neutralise_formulas(frame).columns) == ["'=cmd|'/c calc'!A0"]


def test_rows_under_the_minimum_cell_keep_their_labels_and_lose_their_numbers() -> None:
    estimates = pd.DataFrame(
        {
            "outcome": ["trust", "risk", "intention"],
            "estimate": [0.3, -0.2, 0.1],
            "p_value": [0.01, 0.2, 0.5],
            "n_obs": [400, 40, 300],
            "n_smallest_cell": [120, 8, None],
            "is_primary": [True, False, False],
        }
    )
    published = withhold_small_cells(estimates, minimum=10)
    assert published["suppressed"].tolist() == [False, True, True]
    assert published["outcome"].tolist() == ["trust", "risk", "intention"]
    assert published.loc[0, "estimate"] == 0.3
    assert published.loc[1:, ["estimate", "p_value", "n_obs", "n_smallest_cell"]].isna().all().all()
    assert published["is_primary"].tolist() == [True, False, False]
