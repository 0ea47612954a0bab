"""The one-way ANOVA ICC and its Searle F interval against R (psych::ICC and stats::aov).

``make_icc_reference.R`` wrote the data and the numbers, with the R and psych versions.
Tolerance: 1e-10 relative on the estimate and both interval ends (both sides compute the
same closed forms from sums of squares; they agree to about 1e-15, the margin covers the F
quantiles of different libraries, scipy against R's qf).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from measurement.icc import IntraclusterCorrelation, intracluster_correlation

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "icc_reference.json").read_text(encoding="utf-8"))
RELATIVE = 1e-10


DATA = pd.read_csv(HERE / "icc_reference_data.csv")


def _estimate(case: str) -> IntraclusterCorrelation:
    rows = DATA[DATA["case"] == case]
    return intracluster_correlation(
        rows, outcome="outcome", cluster="cluster", confidence=REFERENCE["confidence"]
    )


@pytest.mark.parametrize("case", ["balanced", "unbalanced"])
def test_the_anova_icc_and_its_interval_agree_with_r_aov(case: str) -> None:
    expected = REFERENCE["cases"][case]["aov"]
    found = _estimate(case)
    assert found.estimate == pytest.approx(expected["estimate"], rel=RELATIVE)
    assert found.conf_low == pytest.approx(expected["conf_low"], rel=RELATIVE)
    assert found.conf_high == pytest.approx(expected["conf_high"], rel=RELATIVE)
    assert found.n_clusters == expected["df1"] + 1
    assert found.n_obs == expected["df1"] + expected["df2"] + 1


def test_the_balanced_icc_agrees_with_psych_icc1() -> None:
    expected = REFERENCE["cases"]["balanced"]["psych"]
    found = _estimate("balanced")
    assert found.estimate == pytest.approx(expected["estimate"], rel=RELATIVE)
    assert found.conf_low == pytest.approx(expected["conf_low"], rel=RELATIVE)
    assert found.conf_high == pytest.approx(expected["conf_high"], rel=RELATIVE)
