"""Every result table of the example study's estimation equals the stored reference run."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.reference.estimation.make_example_estimates import reference_rows

ROOT = Path(__file__).resolve().parents[3]
STORED = Path(__file__).with_name("example_estimates.parquet")
# Numbers may differ in the last bits when a sum is taken in another order (a frame built one
# wave at a time, draws weighted instead of copied); anything larger is a changed estimate.
RELATIVE = 1e-10


def _same(found: str, expected: str) -> bool:
    if found == expected:
        return True
    try:
        a, b = float(found), float(expected)
    except ValueError:
        return _same_text(found, expected)
    return math.isclose(a, b, rel_tol=RELATIVE, abs_tol=1e-12)


# The ordered logit's note prints the size of Newton's last gradient ("largest score 3e-14").
# That number is round-off: it moves between 3e-14 and 3e-13 with the CPU and BLAS threads,
# so the text is compared with it masked, and the gradient must still show convergence.
_SCORE = re.compile(r"largest score ([0-9.e+-]+)")


def _same_text(found: str, expected: str) -> bool:
    scores = [float(value) for value in _SCORE.findall(found)]
    if not scores or max(abs(score) for score in scores) > 1e-8:
        return False
    return _SCORE.sub("largest score ~0", found) == _SCORE.sub("largest score ~0", expected)


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    target = tmp_path_factory.mktemp("reference") / "example"
    shutil.copytree(
        ROOT / "data" / "studies" / "example",
        target,
        ignore=shutil.ignore_patterns("warehouse", "results", "raw", "report"),
    )
    return reference_rows(target / "study.toml")


def test_the_example_study_gives_the_stored_result_tables(rows: pd.DataFrame) -> None:
    stored = pd.read_parquet(STORED)
    assert sorted(rows["table"].unique()) == sorted(stored["table"].unique())
    for table, expected in stored.groupby("table", sort=True):
        found = rows[rows["table"] == table]
        assert len(found) == len(expected), table
        merged = expected.merge(
            found, on=["table", "row", "column"], how="left", suffixes=("_stored", "_found")
        )
        differing = [
            (row.row, row.column, row.value_stored, row.value_found)
            for row in merged.itertuples(index=False)
            if not isinstance(row.value_found, str) or not _same(row.value_found, row.value_stored)
        ]
        assert not differing, (table, differing[:5])
