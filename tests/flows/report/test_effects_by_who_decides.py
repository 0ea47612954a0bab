"""The report's effects by who decides and the scorecard's reading of assumption 4."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from flows.assumptions import default_assumptions
from flows.estimation import read_result
from flows.report import build_report
from flows.report.scorecard import decision_difference, score_assumptions
from flows.report.suppression import SUPPRESSED
from tests.flows.estimation.conftest import ingest_and_estimate
from tests.flows.estimation.survey import SurveySettings

DEFAULTS = default_assumptions("migration_campaign")


def by_group(p_endline: float, p_follow_up: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "wave": ["endline", "endline", "follow_up"],
            "grouping": ["decides_alone"] * 3,
            "outcome": ["irregular_intention", "trust_official", "irregular_intention"],
            "group": ["decides alone minus others take part"] * 3,
            "term": ["difference"] * 3,
            "estimate": [-0.3, 0.2, -0.5],
            "conf_low": [-0.5, 0.0, -0.9],
            "conf_high": [-0.1, 0.4, -0.1],
            "p_value": [p_endline, 0.001, p_follow_up],
        }
    )


def decision_card(rows: pd.DataFrame, primary_wave: str | None) -> dict[str, object]:
    cards = score_assumptions(
        pd.DataFrame(columns=["outcome", "estimate", "p_value", "conf_low", "conf_high"]),
        assignment="cluster_randomised",
        assumptions=DEFAULTS,
        by_group=rows,
        primary_wave=primary_wave,
        wave_names=["baseline", "endline", "follow_up"],
    )
    return next(card for card in cards if card["name"] == "Decision-making")


def test_the_scorecard_calls_a_difference_by_who_decides_a_suggestive_contradiction():
    found = decision_card(by_group(0.01, 0.5), primary_wave="endline")
    assert found["verdict"] == "contradicted (non-randomised moderator)"
    assert "at endline" in str(found["reason"])


def test_the_scorecard_reads_no_clear_difference_as_inconclusive_at_the_latest_wave_by_default():
    found = decision_card(by_group(0.01, 0.5), primary_wave=None)
    assert found["verdict"] == "inconclusive"
    assert "at follow_up" in str(found["reason"])
    assert found["readings"][0]["reading"] == "no clear difference"  # type: ignore[index]


def test_the_scorecard_leaves_assumption_four_not_assessed_without_a_difference_by_who_decides():
    waves = ["baseline"]
    empty = by_group(0.01, 0.01).iloc[0:0]
    assert (
        decision_difference(
            empty, outcome="irregular_intention", grouping=None, primary_wave=None, wave_names=waves
        )
        is None
    )
    other = by_group(0.01, 0.01).assign(outcome="trust_official")
    assert decision_card(other, primary_wave=None)["verdict"] == "not assessed"


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
    section = text[text.index('id="effects-by-who-decides"') : text.index('id="design"')]
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
