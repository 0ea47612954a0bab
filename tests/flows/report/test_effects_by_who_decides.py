"""The report's effects by who decides and the scorecard's reading of assumption 4."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from flows.estimation import read_result
from flows.report import build_report
from flows.report.scorecard import decision_difference, score_assumptions
from flows.report.suppression import SUPPRESSED
from tests.flows.estimation.conftest import ingest_and_estimate
from tests.flows.estimation.survey import SurveySettings

ESTIMATES = pd.DataFrame(
    {
        "outcome": ["irregular_intention", "risk_perception", "trust_official"],
        "estimate": [-0.4, 5.0, 0.5],
        "adjusted_p_value": [0.001, 0.001, 0.001],
        "p_value": [0.001, 0.001, 0.001],
    }
)


def by_group(p_endline: float, p_follow_up: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "wave": ["endline", "endline", "follow_up"],
            "outcome": ["irregular_intention", "trust_official", "irregular_intention"],
            "group": ["decides alone minus others take part"] * 3,
            "term": ["difference"] * 3,
            "estimate": [-0.3, 0.2, -0.5],
            "p_value": [p_endline, 0.001, p_follow_up],
        }
    )


def verdicts(decision: pd.Series | None) -> dict[str, object]:
    return {
        str(card["name"]): card["verdict"]
        for card in score_assumptions(ESTIMATES, assignment="cluster_randomised", decision=decision)
    }


def test_the_scorecard_calls_a_difference_by_who_decides_a_contradiction_of_assumption_four():
    waves = ["baseline", "endline", "follow_up"]
    row = decision_difference(by_group(0.01, 0.5), primary_wave="endline", wave_names=waves)
    assert row is not None and row["wave"] == "endline"
    found = verdicts(row)
    assert found["Decision-making"] == "contradicted"
    # Every other verdict is read as before.
    assert found["Risk information"] == "supported"
    assert found == {**verdicts(None), "Decision-making": "contradicted"}


def test_the_scorecard_reads_no_clear_difference_as_inconclusive_at_the_latest_wave_by_default():
    waves = ["baseline", "endline", "follow_up"]
    row = decision_difference(by_group(0.01, 0.5), primary_wave=None, wave_names=waves)
    assert row is not None and row["wave"] == "follow_up"
    assert verdicts(row)["Decision-making"] == "inconclusive"
    cards = score_assumptions(ESTIMATES, assignment="cluster_randomised", decision=row)
    reading = next(card for card in cards if card["name"] == "Decision-making")["readings"]
    assert reading[0]["reading"] == "no clear difference (p = 0.500)"


def test_the_scorecard_leaves_assumption_four_not_assessed_without_a_difference_by_who_decides():
    empty = by_group(0.01, 0.01).iloc[0:0]
    assert decision_difference(empty, primary_wave=None, wave_names=["baseline"]) is None
    other = by_group(0.01, 0.01).assign(outcome="trust_official")
    assert decision_difference(other, primary_wave=None, wave_names=["baseline"]) is None
    assert verdicts(None)["Decision-making"] == "not assessed"


def _decision_verdict(text: str) -> str:
    found = re.search(r"4\. Decision-making:.*?verdict-(\w+)", text, re.S)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("minimum_cell_size", [10, 40])
def test_the_report_shows_effects_by_who_decides_under_the_minimum_cell_rule(
    tmp_path: Path, minimum_cell_size: int
) -> None:
    settings = SurveySettings(
        study_id="decides", n_clusters=12, per_cluster=14, minimum_cell_size=minimum_cell_size
    )
    study, run = ingest_and_estimate(tmp_path / "study", settings)
    report = build_report(study, run_id=run.run_id, out_dir=tmp_path / "report")
    text = report.read_text(encoding="utf-8")
    assert '<h3 id="effects-by-who-decides">Effects by who decides</h3>' in text
    stored = read_result(study, "effects_by_group", run.run_id)
    difference = stored[
        (stored["outcome"] == "irregular_intention") & (stored["term"] == "difference")
    ].iloc[0]
    section = text[text.index('id="effects-by-who-decides"') : text.index('id="forest"')]
    publishable = bool(difference["n_smallest_cell"] >= minimum_cell_size)
    assert publishable == (minimum_cell_size == 10), "the test study's cells changed size"
    if publishable:
        assert f"{difference['estimate']:.3f}" in section
        expected = "contradicted" if difference["p_value"] < 0.05 else "inconclusive"
        assert _decision_verdict(text) == expected
    else:
        # Under the minimum the numbers are withheld and the verdict does not use them.
        assert SUPPRESSED in section
        assert f"{difference['estimate']:.3f}" not in section
        assert _decision_verdict(text) == "not"
