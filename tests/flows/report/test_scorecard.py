"""The scorecard's rule: evidence of absence, named support, declared outcomes only."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from flows.assumptions import AssumptionDeclaration, default_assumptions
from flows.report.scorecard import score_assumptions
from measurement.equivalence import read_evidence

DF = 39


def estimate_row(outcome: str, estimate: float, std_error: float, sesoi: float | None = None):
    critical = stats.t.ppf(0.975, DF)
    p_value = 2 * stats.t.sf(abs(estimate / std_error), DF)
    low, high = estimate - critical * std_error, estimate + critical * std_error
    reading = read_evidence(
        estimate=estimate, p_value=p_value, conf_low=low, conf_high=high, df=DF, sesoi=sesoi
    )
    return {
        "outcome": outcome,
        "estimate": estimate,
        "p_value": p_value,
        "conf_low": low,
        "conf_high": high,
        "n_clusters": DF + 1,
        "conclusion": reading.conclusion,
        "mde": reading.minimum_detectable_effect,
        "mde_standardized": reading.minimum_detectable_effect,
        "sesoi": math.nan if sesoi is None else sesoi,
    }


def declaration(**extra: object) -> AssumptionDeclaration:
    return AssumptionDeclaration.model_validate(
        {
            "number": 1,
            "name": "Risk information",
            "claim": "raising perceived risk lowers intention",
            "headline": {"outcome": "intention", "direction": "lower"},
            "premise": [{"outcome": "risk", "direction": "higher"}],
            "supporting": [{"outcome": "quiz", "direction": "higher"}],
            **extra,
        }
    )


def card(rows: list[dict[str, object]], **options: object) -> dict[str, object]:
    arguments: dict[str, object] = {
        "assignment": "cluster_randomised",
        "assumptions": [declaration()],
        "primary": ["intention", "risk"],
    }
    arguments.update(options)
    return score_assumptions(pd.DataFrame(rows), **arguments)[0]  # type: ignore[arg-type]


def test_a_non_significant_headline_after_a_moved_premise_is_inconclusive_not_contradicted():
    found = card(
        [estimate_row("intention", -0.05, 0.08, sesoi=0.1), estimate_row("risk", 0.5, 0.1)]
    )
    assert found["verdict"] == "inconclusive"
    assert "could detect only effects of" in str(found["reason"])
    assert "effects of 0.23 (0.23 SD) or more" in str(found["reason"])  # (2.023 + 0.851) * 0.08


def test_a_ruled_out_headline_after_a_moved_premise_is_a_contradiction_with_its_numbers():
    found = card(
        [estimate_row("intention", 0.01, 0.03, sesoi=0.15), estimate_row("risk", 0.5, 0.1)]
    )
    assert found["verdict"] == "contradicted"
    assert "larger than the SESOI ±0.15 is ruled out" in str(found["reason"])
    assert "premise risk moved as predicted" in str(found["reason"])


def test_a_ruled_out_headline_without_a_moved_premise_did_not_test_the_assumption():
    found = card(
        [estimate_row("intention", 0.01, 0.03, sesoi=0.15), estimate_row("risk", 0.0, 0.1)]
    )
    assert found["verdict"] == "inconclusive"
    assert "did not put the assumption to the test" in str(found["reason"])


def test_a_significant_opposite_headline_contradicts():
    found = card([estimate_row("intention", 0.4, 0.1), estimate_row("risk", 0.5, 0.1)])
    assert found["verdict"] == "contradicted"
    assert "opposite to the prediction" in str(found["reason"])


def test_support_names_what_it_rests_on_and_claims_no_mediation():
    found = card([estimate_row("intention", -0.4, 0.1), estimate_row("risk", 0.5, 0.1)])
    assert found["verdict"] == "supported"
    reason = str(found["reason"])
    assert reason.startswith("Rests on the headline intention")
    assert "not a mediation estimate" in reason
    assert reason.count(".") >= 1 and "p = " in reason


def test_one_weak_supporting_outcome_does_not_overturn_a_well_powered_headline():
    rows = [
        estimate_row("intention", -0.4, 0.05),
        estimate_row("risk", 0.5, 0.1),
        estimate_row("quiz", -0.25, 0.12),  # significant, opposite, weak
    ]
    found = card(rows)
    assert found["verdict"] == "supported"
    assert "supporting outcome quiz moved the other way" in str(found["reason"])


def test_a_headline_that_was_not_estimated_is_not_replaced_by_another_outcome():
    rows = [estimate_row("intention_index", -0.4, 0.05), estimate_row("risk", 0.5, 0.1)]
    found = card(rows)
    assert found["verdict"] == "not assessed"
    assert "no other outcome is read in its place" in str(found["reason"])


def test_a_headline_that_is_not_a_primary_outcome_is_said_so():
    found = card([estimate_row("intention", -0.4, 0.1)], primary=["risk"])
    assert "not a pre-specified primary outcome" in str(found["qualifier"])


def test_a_moderator_assumption_is_marked_as_resting_on_a_non_randomised_moderator():
    moderated = AssumptionDeclaration.model_validate(
        {
            "number": 4,
            "name": "Decision-making",
            "claim": "the individual decides",
            "moderator": {"outcome": "intention", "grouping": "alone"},
        }
    )
    by_group = pd.DataFrame(
        {
            "wave": ["endline"],
            "grouping": ["alone"],
            "outcome": ["intention"],
            "group": ["alone minus others"],
            "term": ["difference"],
            "estimate": [-0.3],
            "conf_low": [-0.5],
            "conf_high": [-0.1],
            "p_value": [0.004],
        }
    )
    found = card(
        [],
        assumptions=[moderated],
        by_group=by_group,
        primary_wave="endline",
        wave_names=["baseline", "endline"],
    )
    assert found["verdict"] == "contradicted (non-randomised moderator)"
    assert "rests on a non-randomised moderator" in str(found["qualifier"])
    none = card([], assumptions=[moderated], by_group=by_group.iloc[0:0])
    assert none["verdict"] == "not assessed"


@pytest.mark.parametrize(
    "assignment, verdict",
    [("pre_post", "inconclusive"), ("quasi_experimental", "supported (suggestive)")],
)
def test_the_scorecard_is_never_stronger_than_the_design(assignment: str, verdict: str) -> None:
    found = card([estimate_row("intention", -0.4, 0.1)], assignment=assignment)
    assert found["verdict"] == verdict


def test_the_bundled_defaults_declare_the_five_assumptions_for_the_bundled_instrument():
    defaults = default_assumptions("migration_campaign")
    assert [item.number for item in defaults] == [1, 2, 3, 4, 5]
    assert defaults[3].moderator is not None
    assert default_assumptions("another_instrument") == []


def test_a_declaration_needs_a_headline_or_a_moderator() -> None:
    with pytest.raises(ValueError, match="declare a headline outcome"):
        AssumptionDeclaration.model_validate({"number": 2, "name": "x", "claim": "y"})
