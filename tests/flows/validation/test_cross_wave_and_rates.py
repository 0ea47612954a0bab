"""Cross-wave checks and warning-level rates: later waves against earlier ones."""

from __future__ import annotations

import pandas as pd

from flows.study import Study
from flows.validation import FOLLOW_UP_COLUMNS, validate_wave
from tests.flows.validation.coded_waves import clean_coded_wave


def test_a_respondent_whose_arm_or_cluster_changed_is_quarantined(
    example_study: Study, clean_baseline: pd.DataFrame
) -> None:
    endline = clean_coded_wave(example_study, wave="endline", n_rows=600, seed=12)
    endline["respondent"] = clean_baseline["respondent"].to_numpy()
    for role in ("arm", "cluster", "stratum"):
        endline[role] = clean_baseline[role].to_numpy()
    endline["treated"] = clean_baseline["treated"].to_numpy()
    endline = endline.iloc[:500].copy()
    before = clean_baseline.loc[4, "arm"]
    other = "comparison" if before == "campaign" else "campaign"
    endline.loc[4, "arm"] = other
    endline.loc[4, "treated"] = 1 if other == "campaign" else 0
    endline.loc[8, "cluster"] = "community_99"
    validation = validate_wave(
        endline, study=example_study, wave="endline", earlier_waves=clean_baseline
    )
    flags = validation.row_flags.set_index("check")
    assert flags.loc["arm_changed", "row_number"] == 5
    assert flags.loc["arm_changed", "reason"] == (
        f"arm {before!r} in wave 'baseline', {other!r} now"
    )
    assert flags.loc["cluster_changed", "row_number"] == 9
    assert validation.quarantined == (5, 9)
    follow_up = validation.follow_up
    assert list(follow_up.columns) == list(FOLLOW_UP_COLUMNS)
    assert follow_up["n_baseline"].sum() == 600
    assert follow_up["n_followed"].sum() == 500
    summary = validation.summary.set_index("check")
    assert summary.loc["found_at_baseline", "success"]


def test_later_respondents_missing_at_baseline_give_a_warning_not_a_quarantine(
    example_study: Study, clean_baseline: pd.DataFrame
) -> None:
    endline = clean_coded_wave(
        example_study, wave="endline", n_rows=300, seed=13, respondent_prefix="NEW"
    )
    validation = validate_wave(
        endline, study=example_study, wave="endline", earlier_waves=clean_baseline
    )
    row = validation.summary.set_index("check").loc["found_at_baseline"]
    assert (row["severity"], bool(row["success"])) == ("warning", False)
    assert validation.quarantined == ()
    differential = validation.summary.set_index("check").loc["differential_follow_up"]
    assert differential["severity"] == "warning"


def test_a_high_dont_know_rate_is_a_warning_per_item_and_per_enumerator(
    example_study: Study, clean_baseline: pd.DataFrame
) -> None:
    coded = clean_baseline.copy()
    coded.loc[coded.index[:240], "risk_death"] = -88.0
    enumerator = coded["enumerator"].iloc[0]
    coded.loc[coded["enumerator"] == enumerator, "trust_eu"] = -99.0
    validation = validate_wave(coded, study=example_study, wave="baseline")
    rates = validation.item_rates.set_index("item")
    assert rates.loc["risk_death", "dont_know_rate"] == 0.4
    failed = validation.summary[~validation.summary["success"]]
    assert set(failed["severity"]) == {"warning"}
    assert set(failed["check"]) == {"dont_know_rate"}
    assert failed.loc[failed["suite"] == "example_item_rates", "unexpected_count"].item() == 1
    assert validation.quarantined == ()
    table = validation.enumerators.set_index("enumerator")
    assert table.loc[enumerator, "refused_rate"] > table["refused_rate"].drop(enumerator).max()
