"""Harmonized outcomes and the pooled verdict rule, on partner exports and by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from flows.synthesis.build import run_synthesis
from flows.synthesis.file import AssumptionEntry, Bearing, load_synthesis, vocabulary_labels
from flows.synthesis.harmonize import harmonize
from flows.synthesis.verdicts import score_pooled


def test_estimates_map_to_the_shared_outcomes_on_the_standardized_scale(
    partner_synthesis: Callable[..., Path],
) -> None:
    synthesis = load_synthesis(partner_synthesis())
    harmonized, _ = harmonize(synthesis, set(vocabulary_labels(synthesis.vocabulary)))
    by_key = harmonized.set_index(["study", "outcome", "wave"])
    dakar = by_key.loc[("dakar", "irregular_intention", "endline")]
    # CR1 standard error 0.03 on a raw effect of -0.08, standardized -0.16: SD 0.5.
    assert dakar["estimate"] == pytest.approx(-0.16)
    assert dakar["std_error"] == pytest.approx(0.06)
    assert dakar["std_error_source"] == "cr1"
    # The ordered-logit robustness row (log-odds) is never pooled.
    assert (harmonized["estimator"] != "ordered_logit").all()
    # Banjul's own outcome name is mapped onto the vocabulary by the synthesis file.
    assert ("banjul", "trust_official", "endline") in by_key.index


def test_the_standard_error_comes_from_the_primary_inference_where_present(
    partner_synthesis: Callable[..., Path],
) -> None:
    synthesis = load_synthesis(partner_synthesis())
    harmonized, _ = harmonize(synthesis, set(vocabulary_labels(synthesis.vocabulary)))
    row = harmonized.set_index(["study", "outcome", "wave"]).loc[
        ("conakry", "trust_official", "endline")
    ]
    implied = (0.14 - -0.10) / (2 * stats.t.ppf(0.975, 39))  # interval over 2 t(G-1)
    assert row["raw_std_error"] == pytest.approx(implied)
    assert row["std_error"] == pytest.approx(implied * 0.03 / 0.02)
    assert row["std_error_source"] == "primary interval (wild_bootstrap)"


def test_a_study_with_several_waves_is_pooled_on_three_levels(
    partner_synthesis: Callable[..., Path],
) -> None:
    result = run_synthesis(load_synthesis(partner_synthesis()))
    pooled = result.pooled.set_index("outcome")
    assert pooled.loc["irregular_intention", "model"].startswith("three-level")
    assert pooled.loc["irregular_intention", "n_studies"] == 3
    assert pooled.loc["irregular_intention", "n_estimates"] == 4
    # Respondents: each study's largest sample once (800 + 600 + 500), not per wave.
    assert pooled.loc["irregular_intention", "n_respondents"] == 1900
    assert pooled.loc["trust_official", "model"] == "random effects (REML, HKSJ)"
    assert any("only 3 studies" in message for _, message in result.caveats)


def test_a_pre_post_study_is_not_pooled(partner_synthesis: Callable[..., Path]) -> None:
    text = (
        Path(partner_synthesis())
        .read_text()
        .replace('design = "quasi_experimental"', 'design = "pre_post"')
    )
    synthesis = load_synthesis(partner_synthesis(text))
    harmonized, notes = harmonize(synthesis, set(vocabulary_labels(synthesis.vocabulary)))
    assert "banjul" not in set(harmonized["study"])
    assert any("pre/post" in note for note in notes)


def test_a_verdict_resting_on_a_quasi_experimental_study_is_suggestive(
    partner_synthesis: Callable[..., Path],
) -> None:
    result = run_synthesis(load_synthesis(partner_synthesis()))
    card = result.cards[0]
    pooled = result.pooled.set_index("outcome").loc["trust_official"]
    assert card["n_studies"] == 3 and card["n_respondents"] == 1900
    # Three small effects, HKSJ 90% interval inside +/-0.2 and no premise declared: an effect
    # beyond the SESOI is ruled out, which contradicts the assumption, suggestively because
    # banjul is quasi-experimental.
    assert pooled["conclusion"] == "effect larger than the SESOI ruled out"
    assert card["verdict"] == "contradicted (suggestive)"
    assert "quasi-experimental" in str(card["rests_on"])


def pooled_row(outcome: str, estimate: float, low: float, high: float, p: float, conclusion: str,
               sesoi: float = math.nan) -> dict[str, object]:  # fmt: skip
    return {
        "outcome": outcome, "estimate": estimate, "conf_low": low, "conf_high": high,
        "p_value": p, "conclusion": conclusion, "sesoi": sesoi, "n_studies": 6,
        "n_respondents": 4000,
    }  # fmt: skip


ASSUMPTION = AssumptionEntry(
    number=1,
    name="Risk information",
    claim="informed people will not leave",
    headline=Bearing(outcome="intention", direction="lower"),
    premise=[Bearing(outcome="risk", direction="higher")],
)
HARMONIZED = pd.DataFrame({"outcome": ["intention"], "design": ["cluster_randomised"]})


@pytest.mark.parametrize(
    ("headline", "premise", "verdict"),
    [
        (("effect shown", -0.2), ("effect shown", 0.3), "supported"),
        (("effect shown", -0.2), ("effect shown", -0.3), "inconclusive"),
        (("effect shown", 0.2), ("inconclusive", 0.0), "contradicted"),
        (("effect larger than the SESOI ruled out", 0.01), ("effect shown", 0.3), "contradicted"),
        (("effect larger than the SESOI ruled out", 0.01), ("inconclusive", 0.0), "inconclusive"),
        (("inconclusive", -0.05), ("effect shown", 0.3), "inconclusive"),
    ],
)
def test_the_pooled_verdict_follows_the_scorecard_rule(
    headline: tuple[str, float], premise: tuple[str, float], verdict: str
) -> None:
    pooled = pd.DataFrame(
        [
            pooled_row("intention", headline[1], headline[1] - 0.1, headline[1] + 0.1, 0.01,
                       headline[0], sesoi=0.1),
            pooled_row("risk", premise[1], premise[1] - 0.1, premise[1] + 0.1, 0.01, premise[0]),
        ]
    )  # fmt: skip
    card = score_pooled([ASSUMPTION], pooled, HARMONIZED)[0]
    assert card["verdict"] == verdict
    assert "intention" in str(card["rests_on"])


def test_no_sesoi_means_no_effect_cannot_be_shown() -> None:
    pooled = pd.DataFrame([pooled_row("intention", -0.01, -0.05, 0.04, 0.6, "inconclusive")])
    card = score_pooled([ASSUMPTION], pooled, HARMONIZED)[0]
    assert card["verdict"] == "inconclusive"
    assert "no SESOI is declared" in str(card["rests_on"])


def test_an_assumption_without_a_pooled_headline_is_not_assessed() -> None:
    card = score_pooled([ASSUMPTION], pd.DataFrame(columns=["outcome"]), HARMONIZED)[0]
    assert card["verdict"] == "not assessed"
    assert card["n_studies"] == 0
