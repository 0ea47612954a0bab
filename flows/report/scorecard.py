"""The assumption scorecard: what the declared estimates say about each assumption, and why.

The rule (printed in the report as :data:`RULE_TEXT`) reads the evidence columns of the
estimates table (the primary p-value and interval, ``p_value_equivalence``, ``mde``,
``sesoi``), which the estimation computed; it computes no statistic itself. Which outcomes
bear on which assumption is declared in the study file (``[[assumptions]]``, or the
instrument's defaults in ``data/assumptions/``); nothing here names an outcome.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from flows.assumptions import AssumptionDeclaration, Bearing
from flows.estimation.conclusions import primary_evidence
from flows.report.findings import inference_words

SIGNIFICANCE = 0.05
"""Level of the moderator's difference test."""

READING_LEVEL = 0.025
"""Level at which one declared outcome counts as moved or as ruled out: a verdict rests on
two tests (headline and premise), and 5% is split between them (Bonferroni), so that over
studies where nothing moved at most about 5% of verdicts are wrong in either direction
(bench/scorecard_simulation.py)."""

RULE_TEXT = (
    "Each declared outcome is read at the study's primary wave with the design's main "
    "estimator and its primary inference, as one of: an effect shown (p < 0.025) in the "
    "predicted or the opposite direction; an effect larger than the smallest effect size of "
    "interest (SESOI) ruled out (two one-sided tests, p < 0.025); or inconclusive, with the "
    "smallest effect the study could detect with 80% power. The 5% level is split between "
    "the two tests a verdict rests on (headline and premise). An assumption is supported when "
    "its headline outcome, declared in advance, shows the predicted effect and no premise "
    "moved the opposite way; the verdict names what it rests on and is not a mediation "
    "estimate (premise and headline are separate intention-to-treat effects). It is "
    "contradicted only by evidence: the headline moved opposite to the prediction, or an "
    "effect on the headline beyond its SESOI is ruled out while the premise moved as "
    "predicted (or no premise is declared). Without a SESOI, no effect cannot be shown, and "
    "a non-significant headline is inconclusive, never a contradiction. Supporting outcomes "
    "are listed but do not change the verdict. No other outcome is read in place of a "
    "headline that was not estimated: the assumption is then not assessed, as is one the "
    "study did not declare. An assumption read from a difference of effects between groups "
    "rests on a non-randomised moderator: a difference contradicts it at most suggestively, "
    "and no detectable difference is inconclusive. Verdicts are never stronger than the "
    "design: quasi-experimental verdicts are marked suggestive, and a pre/post study without "
    "a comparison group is always inconclusive."
)


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _interval(row: pd.Series, evidence: pd.Series) -> str:
    return (
        f"{_number(row.get('estimate')):.3g} (95% CI {_number(evidence['conf_low']):.3g} to "
        f"{_number(evidence['conf_high']):.3g}; p = {_number(evidence['p_value']):.3f}, "
        f"{inference_words(evidence['inference']) or evidence['inference']})"
    )


def read_bearing(row: pd.Series, evidence: pd.Series, bearing: Bearing) -> dict[str, object]:
    """One declared outcome's reading: agrees, opposite, ruled out or inconclusive."""
    estimate = _number(row.get("estimate"))
    p_value = _number(evidence["p_value"])
    equivalence = _number(row.get("p_value_equivalence"))
    if not math.isfinite(estimate) or not math.isfinite(p_value):
        reading = "not estimated"
    elif p_value < READING_LEVEL:
        reading = "agrees" if (estimate > 0) == (bearing.sign > 0) else "opposite"
    elif math.isfinite(equivalence) and equivalence < READING_LEVEL:
        reading = "ruled out"
    else:
        reading = "inconclusive"
    mde = _number(row.get("mde"))
    mde_sd = _number(row.get("mde_standardized"))
    sesoi = _number(row.get("sesoi"))
    label = row.get("label")
    return {
        "outcome": str(label) if isinstance(label, str) and label else bearing.outcome,
        "expected": bearing.direction,
        "reading": reading,
        "estimate": estimate,
        "evidence": p_value,
        "numbers": _interval(row, evidence),
        "mde": (
            f"{mde:.3g}" + (f" ({mde_sd:.2f} SD)" if math.isfinite(mde_sd) else "")
            if math.isfinite(mde)
            else "unknown"
        ),
        "sesoi": f"±{sesoi:.3g}" if math.isfinite(sesoi) else "",
    }


def decision_difference(
    by_group: pd.DataFrame,
    *,
    outcome: str,
    grouping: str | None,
    primary_wave: str | None,
    wave_names: list[str],
) -> pd.Series | None:
    """The ``difference`` row of ``outcome`` by ``grouping`` at the primary wave, or None.

    ``by_group`` holds the publishable rows of the ``effects_by_group`` table; the wave is
    ``primary_wave`` when it has the row, else the latest wave that has it.
    """
    if by_group.empty:
        return None
    rows = by_group[(by_group["outcome"] == outcome) & (by_group["term"] == "difference")]
    if grouping is not None and "grouping" in rows.columns:
        rows = rows[rows["grouping"] == grouping]
    rows = rows.dropna(subset=["p_value"])
    if rows.empty:
        return None
    waves = [wave for wave in wave_names if wave in set(rows["wave"])]
    chosen = primary_wave if primary_wave in waves else waves[-1] if waves else None
    chosen_rows = rows[rows["wave"] == chosen] if chosen is not None else rows.iloc[-1:]
    return chosen_rows.iloc[0] if not chosen_rows.empty else None


def _moderator_card(
    declaration: AssumptionDeclaration,
    difference: pd.Series | None,
    labels: Mapping[str, str] | None = None,
) -> tuple[str, str, list[dict[str, object]]]:
    moderator = declaration.moderator
    outcome = (labels or {}).get(moderator.outcome, moderator.outcome) if moderator else ""
    grouping = str(moderator.grouping or "group").replace("_", " ") if moderator else ""
    subject = f"{outcome} by {grouping}" if moderator else "a moderator"
    if difference is None:
        return (
            "not assessed",
            f"No difference of effects on {subject} was estimated at a publishable size.",
            [],
        )
    p_value = float(difference["p_value"])
    numbers = (
        f"{_number(difference['estimate']):.3g} (95% CI {_number(difference.get('conf_low')):.3g}"
        f" to {_number(difference.get('conf_high')):.3g}; p = {p_value:.3f}) at "
        f"{difference['wave']}"
    )
    reading = {
        "outcome": f"{outcome}: {difference.get('group', '')}",
        "role": f"difference of effects at {difference['wave']}",
        "expected": "no difference",
        "reading": "differs" if p_value < SIGNIFICANCE else "no clear difference",
        "estimate": difference["estimate"],
        "evidence": p_value,
        "numbers": numbers,
        "mde": "",
        "sesoi": "",
    }
    if p_value < SIGNIFICANCE:
        return (
            "contradicted (non-randomised moderator)",
            f"The effect on {subject} differs between the groups by {numbers}; the groups "
            "were not randomised, so the difference may reflect what goes with them.",
            [reading],
        )
    return (
        "inconclusive",
        f"No detectable difference of effects on {subject}: {numbers}; this is not "
        "evidence that the individual decides.",
        [reading],
    )


def _headline_verdict(
    declaration: AssumptionDeclaration,
    headline: dict[str, object],
    premises: list[dict[str, object]],
    supporting: list[dict[str, object]],
) -> tuple[str, str]:
    name = headline["outcome"]
    numbers = headline["numbers"]
    moved = [p for p in premises if p["reading"] == "agrees"]
    against = [p for p in premises if p["reading"] == "opposite"]
    weak = [s for s in supporting if s["reading"] == "opposite"]
    if headline["reading"] == "agrees":
        if against:
            first = against[0]
            return (
                "inconclusive",
                f"The headline {name} moved as predicted, {numbers}, but the premise "
                f"{first['outcome']} moved the other way, {first['numbers']}.",
            )
        rest = (
            f"; the premise {moved[0]['outcome']} also moved as predicted, {moved[0]['numbers']}"
            if moved
            else ""
        )
        caveat = (
            f"; supporting outcome {weak[0]['outcome']} moved the other way, {weak[0]['numbers']}"
            if weak
            else ""
        )
        return (
            "supported",
            f"Rests on the headline {name}, which moved as predicted, {numbers}{rest}{caveat}; "
            "these are intention-to-treat effects, not a mediation estimate.",
        )
    if headline["reading"] == "opposite":
        return (
            "contradicted",
            f"The headline {name} moved opposite to the prediction, {numbers}.",
        )
    if headline["reading"] == "ruled out":
        if moved:
            return (
                "contradicted",
                f"The premise {moved[0]['outcome']} moved as predicted, {moved[0]['numbers']}, "
                f"but an effect on {name} larger than the SESOI {headline['sesoi']} is ruled "
                f"out, {numbers}.",
            )
        if not declaration.premise:
            return (
                "contradicted",
                f"An effect on {name} larger than the SESOI {headline['sesoi']} is ruled out, "
                f"{numbers}.",
            )
        still = premises[0] if premises else None
        return (
            "inconclusive",
            f"An effect on {name} beyond the SESOI {headline['sesoi']} is ruled out, {numbers}, "
            f"but the premise {still['outcome'] if still else ''} did not move"
            + (f", {still['numbers']}" if still else "")
            + ", so the campaign did not put the assumption to the test.",
        )
    sesoi = (
        f"an effect of {headline['sesoi']} is not ruled out"
        if headline["sesoi"]
        else "no SESOI is declared, so no effect cannot be shown"
    )
    return (
        "inconclusive",
        f"The headline {name} shows no clear effect, {numbers}; the study could detect only "
        f"effects of {headline['mde']} or more with 80% power, and {sesoi}.",
    )


def score_assumptions(
    estimates: pd.DataFrame,
    *,
    assignment: str,
    assumptions: Sequence[AssumptionDeclaration],
    primary: Sequence[str] = (),
    by_group: pd.DataFrame | None = None,
    primary_wave: str | None = None,
    wave_names: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, object]]:
    """One card per declared assumption: verdict, its one-sentence reason, the readings.

    ``estimates`` holds the publishable rows of the main estimator at the primary wave (with
    the evidence columns of :mod:`flows.estimation.conclusions`); ``assumptions`` the study's
    declarations (or the locked plan's); ``primary`` the pre-specified primary outcomes;
    ``by_group`` the publishable ``effects_by_group`` rows for moderator assumptions;
    ``labels`` the readers' name of each outcome (the reasons name outcomes by it).
    """
    named = dict(labels or {})

    def name(outcome: str) -> str:
        return named.get(outcome, outcome)

    by_outcome = {str(row["outcome"]): row for _, row in estimates.iterrows()}
    evidence = primary_evidence(estimates) if not estimates.empty else estimates
    positions = {str(name): i for i, name in enumerate(estimates.get("outcome", []))}
    cards: list[dict[str, object]] = []
    for declaration in sorted(assumptions, key=lambda a: a.number):
        qualifier_parts: list[str] = []
        readings: list[dict[str, object]] = []
        if declaration.moderator is not None:
            difference = decision_difference(
                by_group if by_group is not None else pd.DataFrame(),
                outcome=declaration.moderator.outcome,
                grouping=declaration.moderator.grouping,
                primary_wave=primary_wave,
                wave_names=list(wave_names),
            )
            verdict, reason, readings = _moderator_card(declaration, difference, named)
            qualifier_parts.append("rests on a non-randomised moderator")
        else:
            bearings: dict[str, list[dict[str, object]]] = {}
            for role, declared in (
                ("headline", [declaration.headline] if declaration.headline else []),
                ("premise", declaration.premise),
                ("supporting", declaration.supporting),
            ):
                bearings[role] = []
                for bearing in declared:
                    if bearing.outcome not in by_outcome:
                        reading: dict[str, object] = {
                            "outcome": name(bearing.outcome),
                            "expected": bearing.direction,
                            "reading": "not estimated",
                            "numbers": "",
                        }
                    else:
                        reading = read_bearing(
                            by_outcome[bearing.outcome],
                            evidence.iloc[positions[bearing.outcome]],
                            bearing,
                        )
                    reading["role"] = role
                    bearings[role].append(reading)
                    readings.append(reading)
            headline = bearings["headline"][0] if bearings["headline"] else None
            if headline is None or headline["reading"] == "not estimated":
                verdict = "not assessed"
                missing = name(declaration.headline.outcome) if declaration.headline else ""
                reason = (
                    f"Its headline outcome {missing} has no publishable estimate at the primary "
                    "wave, and no other outcome is read in its place."
                )
            else:
                verdict, reason = _headline_verdict(
                    declaration,
                    headline,
                    [r for r in bearings["premise"] if r["reading"] != "not estimated"],
                    [r for r in bearings["supporting"] if r["reading"] != "not estimated"],
                )
            if declaration.headline and primary and declaration.headline.outcome not in primary:
                qualifier_parts.append(
                    f"the headline {name(declaration.headline.outcome)} is not a pre-specified "
                    "primary outcome"
                )
        if assignment == "pre_post" and verdict != "not assessed":
            verdict = "inconclusive"
            qualifier_parts.insert(
                0, "no comparison group: change over time is not an effect of the campaign"
            )
        elif assignment == "quasi_experimental" and verdict.startswith(
            ("supported", "contradicted")
        ):
            verdict = f"{verdict} (suggestive)"
            qualifier_parts.insert(0, "exposure was not randomised; adjusted comparisons only")
        cards.append(
            {
                "number": declaration.number,
                "name": declaration.name,
                "claim": declaration.claim,
                "verdict": verdict,
                "reason": reason,
                "readings": readings,
                "note": declaration.note,
                "qualifier": "; ".join(qualifier_parts),
            }
        )
    return cards


def not_declared_card(source: str) -> list[dict[str, object]]:
    """The scorecard of a study that declares no assumption: one card saying so."""
    return [
        {
            "number": 0,
            "name": "Assumptions",
            "claim": "none declared",
            "verdict": "not assessed",
            "reason": f"The study declares no assumption ({source}); add [[assumptions]] to "
            "its study file to have them scored.",
            "readings": [],
            "note": "",
            "qualifier": "",
        }
    ]
