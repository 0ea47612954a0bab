"""Per-assumption verdicts from pooled estimates, and the evidence map of where they come from.

The rule (printed in the report as :data:`RULE_TEXT`) is the single-study scorecard's, read on
pooled estimates: it reads the ``conclusion`` of each pooled outcome and computes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd

from flows.synthesis.file import AssumptionEntry, Bearing

RULE_TEXT = (
    "Each declared outcome is read from its pooled estimate (random effects with the "
    "Hartung-Knapp-Sidik-Jonkman interval; three levels when a study contributes several "
    "waves): an effect shown (p < 0.05) in the predicted or the opposite direction; an effect "
    "larger than the outcome's smallest effect size of interest (SESOI, in standard "
    "deviations) ruled out (two one-sided tests: the 90% interval inside plus or minus the "
    "SESOI); or inconclusive. An assumption is supported when its headline outcome shows the "
    "predicted pooled effect and no premise moved the opposite way; the verdict names what it "
    "rests on. It is contradicted only by evidence: the headline moved opposite to the "
    "prediction, or an effect on the headline beyond its SESOI is ruled out while the premise "
    "moved as predicted (or no premise is declared). Without a SESOI no effect cannot be "
    "shown, and a non-significant headline is inconclusive. Supporting outcomes are listed "
    "but do not change the verdict. An assumption whose headline no study estimated is not "
    "assessed; one read from differences of effects between groups is not assessed here "
    "(exported estimates do not carry them). Verdicts resting on any quasi-experimental study "
    "are marked suggestive; pre/post studies are never pooled."
)

VERDICT_COLUMNS = [
    "number",
    "name",
    "claim",
    "verdict",
    "rests_on",
    "headline",
    "n_studies",
    "n_respondents",
]
EVIDENCE_MAP_COLUMNS = [
    "number",
    "assumption",
    "region",
    "campaign_type",
    "n_studies",
    "n_respondents",
    "verdict",
]


def _reading(pooled: dict[str, pd.Series], bearing: Bearing) -> dict[str, object]:
    row = pooled.get(bearing.outcome)
    if row is None:
        return {"outcome": bearing.outcome, "reading": "not estimated", "numbers": ""}
    estimate = float(row["estimate"])
    found = str(row["conclusion"])
    if found == "effect shown":
        reading = "agrees" if (estimate > 0) == (bearing.sign > 0) else "opposite"
    elif found == "effect larger than the SESOI ruled out":
        reading = "ruled out"
    elif found == "inconclusive":
        reading = "inconclusive"
    else:
        reading = "not estimated"
    sesoi = float(row["sesoi"])
    return {
        "outcome": bearing.outcome,
        "expected": bearing.direction,
        "reading": reading,
        "sesoi": f"±{sesoi:.3g} SD" if math.isfinite(sesoi) else "",
        "numbers": (
            f"{estimate:+.3f} SD (95% CI {float(row['conf_low']):+.3f} to "
            f"{float(row['conf_high']):+.3f}; p = {float(row['p_value']):.3f}; "
            f"{int(row['n_studies'])} studies)"
        ),
    }


def _verdict(
    assumption: AssumptionEntry, pooled: dict[str, pd.Series]
) -> tuple[str, str, list[dict[str, object]]]:
    """verdict, what it rests on, and every reading (headline first)."""
    if assumption.headline is None:
        return (
            "not assessed",
            "Read from a difference of effects between groups, which exported estimates do "
            "not carry.",
            [],
        )
    headline = _reading(pooled, assumption.headline)
    premises = [_reading(pooled, bearing) for bearing in assumption.premise]
    supporting = [_reading(pooled, bearing) for bearing in assumption.supporting]
    readings = [headline, *premises, *supporting]
    name, numbers = headline["outcome"], headline["numbers"]
    moved = [p for p in premises if p["reading"] == "agrees"]
    against = [p for p in premises if p["reading"] == "opposite"]
    if headline["reading"] == "not estimated":
        return "not assessed", f"No study estimated the headline {name}.", readings
    if headline["reading"] == "agrees":
        if against:
            return (
                "inconclusive",
                f"The headline {name} moved as predicted, {numbers}, but the premise "
                f"{against[0]['outcome']} moved the other way, {against[0]['numbers']}.",
                readings,
            )
        rest = (
            f"; the premise {moved[0]['outcome']} also moved as predicted, {moved[0]['numbers']}"
            if moved
            else ""
        )
        return (
            "supported",
            f"Rests on the pooled headline {name}, which moved as predicted, {numbers}{rest}.",
            readings,
        )
    if headline["reading"] == "opposite":
        return (
            "contradicted",
            f"The pooled headline {name} moved opposite to the prediction, {numbers}.",
            readings,
        )
    if headline["reading"] == "ruled out":
        if moved or not assumption.premise:
            because = (
                f"the premise {moved[0]['outcome']} moved as predicted, {moved[0]['numbers']}, "
                if moved
                else ""
            )
            return (
                "contradicted",
                f"Pooled, {because}an effect on {name} larger than {headline['sesoi']} is "
                f"ruled out, {numbers}.",
                readings,
            )
        return (
            "inconclusive",
            f"An effect on {name} beyond {headline['sesoi']} is ruled out, {numbers}, but "
            "no premise moved, so the campaigns did not put the assumption to the test.",
            readings,
        )
    sesoi = (
        f"an effect of {headline['sesoi']} is not ruled out"
        if headline.get("sesoi")
        else "no SESOI is declared, so no effect cannot be shown"
    )
    return (
        "inconclusive",
        f"The pooled headline {name} shows no clear effect, {numbers}; {sesoi}.",
        readings,
    )


def score_pooled(
    assumptions: Sequence[AssumptionEntry], pooled: pd.DataFrame, harmonized: pd.DataFrame
) -> list[dict[str, object]]:
    """One card per assumption: verdict, what it rests on, studies and respondents."""
    by_outcome = {str(row["outcome"]): row for _, row in pooled.iterrows()}
    cards: list[dict[str, object]] = []
    for assumption in assumptions:
        verdict, rests_on, readings = _verdict(assumption, by_outcome)
        headline = assumption.headline.outcome if assumption.headline else ""
        behind = harmonized[harmonized["outcome"] == headline]
        if (
            verdict in ("supported", "contradicted")
            and (behind["design"] == "quasi_experimental").any()
        ):
            verdict = f"{verdict} (suggestive)"
            rests_on += " Some studies are quasi-experimental (exposure not randomised)."
        row = by_outcome.get(headline)
        cards.append(
            {
                "number": assumption.number,
                "name": assumption.name,
                "claim": assumption.claim,
                "verdict": verdict,
                "rests_on": rests_on,
                "headline": headline,
                "n_studies": int(row["n_studies"]) if row is not None else 0,
                "n_respondents": int(row["n_respondents"]) if row is not None else 0,
                "readings": readings,
                "note": assumption.note,
            }
        )
    return cards


def verdict_table(cards: list[dict[str, object]]) -> pd.DataFrame:
    """The cards as a tidy table (columns :data:`VERDICT_COLUMNS`)."""
    return pd.DataFrame([{name: card[name] for name in VERDICT_COLUMNS} for card in cards])


def evidence_map(
    assumptions: Sequence[AssumptionEntry],
    harmonized: pd.DataFrame,
    studies: pd.DataFrame,
    pool: Callable[[pd.DataFrame], pd.DataFrame],
) -> pd.DataFrame:
    """Assumption x region x campaign type: studies, respondents and the pooled verdict.

    ``studies`` has one row per study with ``region`` and ``campaign_type``; every
    combination of a region and a campaign type among them is a cell, so a cell without
    studies shows the gap. ``pool`` pools a subset of ``harmonized`` into the pooled table.
    """
    regions = sorted(set(studies["region"].astype(str)))
    types = sorted(set(studies["campaign_type"].astype(str)))
    rows = []
    for assumption in assumptions:
        if assumption.headline is None:
            continue
        for region in regions:
            for kind in types:
                chosen = studies[
                    (studies["region"].astype(str) == region)
                    & (studies["campaign_type"].astype(str) == kind)
                ]["study"]
                subset = harmonized[harmonized["study"].isin(set(chosen))]
                headline = subset[subset["outcome"] == assumption.headline.outcome]
                if headline.empty:
                    verdict, n_studies, n_respondents = "no evidence", 0, 0
                else:
                    card = score_pooled([assumption], pool(subset), subset)[0]
                    verdict = str(card["verdict"])
                    n_studies = int(card["n_studies"])  # type: ignore[call-overload]
                    n_respondents = int(card["n_respondents"])  # type: ignore[call-overload]
                rows.append(
                    {
                        "number": assumption.number,
                        "assumption": assumption.name,
                        "region": region,
                        "campaign_type": kind,
                        "n_studies": n_studies,
                        "n_respondents": n_respondents,
                        "verdict": verdict,
                    }
                )
    return pd.DataFrame(rows, columns=EVIDENCE_MAP_COLUMNS)
