"""The five-assumption scorecard: what the pre-declared estimates say about each assumption.

The rule, printed in the report:

* Each bearing estimate is read at the study's primary wave (``outcomes.primary_wave``; the
  latest wave when none is declared) with the design's main estimator (ANCOVA
  for panels, difference-in-differences otherwise). It *agrees* with the assumption when its
  within-family q-value (Benjamini-Hochberg; the p-value when no q-value exists) is below 0.05
  and its sign is the one the assumption predicts; it *disagrees* when the q-value is below
  0.05 with the opposite sign; otherwise it shows *no clear effect*.
* An assumption is **supported** when its headline estimate agrees and no bearing estimate
  disagrees; **contradicted** when a bearing estimate disagrees, or when the premise moved
  (agrees) while the headline consequence shows no clear effect; **inconclusive** otherwise;
  **not assessed** when the study declared none of its outcomes.
* Assumption 4 (decision-making) is read from the difference between the effect on irregular
  intention among respondents who decided alone at baseline and among the others, at the
  primary wave: **contradicted** when the difference has p < 0.05 (the effect depends on who
  decides), **inconclusive** otherwise (no evidence of a difference is not evidence that the
  individual decides), **not assessed** when the study has no such estimate.
* Never stronger than the design: a quasi-experimental study's verdicts are marked
  "suggestive"; a pre/post study without a comparison group is always inconclusive, because
  change over time is not an effect of the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

SIGNIFICANCE = 0.05
DECISION_OUTCOME = "irregular_intention"

RULE_TEXT = (
    "Each bearing estimate is read at the study's primary wave (the latest wave when the "
    "study file declares none) with the design's main estimator "
    "(ANCOVA for panels, difference-in-differences otherwise). It agrees with the assumption "
    "when its within-family Benjamini-Hochberg q-value (or p-value when there is none) is "
    "below 0.05 with the predicted sign, disagrees when it is below 0.05 with the opposite "
    "sign, and otherwise shows no clear effect. An assumption is supported when its headline "
    "estimate agrees and no bearing estimate disagrees; contradicted when a bearing estimate "
    "disagrees, or when the premise moved while the headline consequence did not; "
    "inconclusive otherwise; not assessed when the study declared none of its outcomes. "
    "Assumption 4 is read from the difference between the effect on irregular intention among "
    "respondents who decided alone at baseline and among the others, at the primary wave: "
    "contradicted when the difference has p < 0.05 (the effect depends on who decides), "
    "inconclusive otherwise (no evidence of a difference is not evidence that the individual "
    "decides), not assessed when the study has no such estimate. "
    "Verdicts are never stronger than the design: quasi-experimental verdicts are marked "
    "suggestive, and a pre/post study without a comparison group is always inconclusive."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bearing:
    """One outcome that bears on an assumption, the sign it predicts, and its role."""

    outcomes: tuple[str, ...]  # the first present one is used
    sign: int
    role: str  # headline, premise, supporting


@dataclass(frozen=True, slots=True, kw_only=True)
class Assumption:
    """One of the review's five assumptions and the estimates that bear on it."""

    number: int
    name: str
    claim: str
    bearings: tuple[Bearing, ...]
    note: str = ""
    by_decision: bool = False
    """Read from the difference of effects by who decides instead of the bearings."""


ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        number=1,
        name="Risk information",
        claim="informed people will not leave: raising perceived risk lowers irregular intention",
        bearings=(
            Bearing(outcomes=("irregular_intention",), sign=-1, role="headline"),
            Bearing(outcomes=("index_risk", "risk_perception"), sign=+1, role="premise"),
            Bearing(outcomes=("knowledge", "index_knowledge"), sign=+1, role="supporting"),
        ),
    ),
    Assumption(
        number=2,
        name="Credibility",
        claim="people believe official messages: the campaign raises trust in official sources",
        bearings=(
            Bearing(outcomes=("trust_official",), sign=+1, role="headline"),
            Bearing(outcomes=("index_trust",), sign=+1, role="supporting"),
        ),
        note="The trust-shift section shows the baseline gap between official and informal "
        "sources, which the review expects to be negative.",
    ),
    Assumption(
        number=3,
        name="Deterrence",
        claim="frightening messages discourage migration: intention and preparations fall",
        bearings=(
            Bearing(outcomes=("index_intention", "irregular_intention"), sign=-1, role="headline"),
            Bearing(outcomes=("plan_12_months",), sign=-1, role="supporting"),
            Bearing(outcomes=("preparations_made",), sign=-1, role="supporting"),
            Bearing(outcomes=("risk_self_death",), sign=+1, role="premise"),
        ),
    ),
    Assumption(
        number=4,
        name="Decision-making",
        claim="the individual decides: effects do not depend on who takes part in the decision",
        bearings=(),
        note="Read from the effect on irregular intention among respondents who decided alone "
        "at baseline minus the effect among those whose family takes part (the table 'Effects "
        "by who decides' shows both). A difference says the campaign works through the "
        "decision structure; no detectable difference does not show that the individual "
        "decides.",
        by_decision=True,
    ),
    Assumption(
        number=5,
        name="Staying home",
        claim="there is an alternative: the campaign raises perceived local and legal options",
        bearings=(
            Bearing(
                outcomes=("index_alternatives", "local_opportunities"), sign=+1, role="headline"
            ),
            Bearing(outcomes=("knows_legal_pathway",), sign=+1, role="supporting"),
            Bearing(outcomes=("legal_intention",), sign=+1, role="supporting"),
        ),
    ),
)


def read_estimate(row: pd.Series, sign: int) -> str:
    """agrees, disagrees or no clear effect, for one estimate row."""
    evidence = row.get("adjusted_p_value")
    if evidence is None or pd.isna(evidence):
        evidence = row.get("p_value")
    estimate = row.get("estimate")
    if evidence is None or pd.isna(evidence) or estimate is None or pd.isna(estimate):
        return "not estimated"
    if float(evidence) >= SIGNIFICANCE or float(estimate) == 0:
        return "no clear effect"
    return "agrees" if (float(estimate) > 0) == (sign > 0) else "disagrees"


def decision_difference(
    by_group: pd.DataFrame, *, primary_wave: str | None, wave_names: list[str]
) -> pd.Series | None:
    """The "difference" row of irregular intention by who decides at the primary wave.

    ``by_group`` holds the publishable rows of the ``effects_by_group`` table; the wave is
    ``primary_wave`` when it has the row, else the latest wave that has it. None when absent.
    """
    if by_group.empty:
        return None
    rows = by_group[
        (by_group["outcome"] == DECISION_OUTCOME) & (by_group["term"] == "difference")
    ].dropna(subset=["p_value"])
    if rows.empty:
        return None
    waves = [wave for wave in wave_names if wave in set(rows["wave"])]
    chosen = primary_wave if primary_wave in waves else waves[-1] if waves else None
    chosen_rows = rows[rows["wave"] == chosen] if chosen is not None else rows.iloc[-1:]
    return chosen_rows.iloc[0] if not chosen_rows.empty else None


def _decision_readings(difference: pd.Series | None) -> list[dict[str, object]]:
    if difference is None:
        return []
    differs = float(difference["p_value"]) < SIGNIFICANCE
    return [
        {
            "outcome": f"{DECISION_OUTCOME}: {difference['group']}",
            "role": f"difference by who decides at {difference['wave']}",
            "expected": "no difference",
            "reading": ("differs" if differs else "no clear difference")
            + f" (p = {float(difference['p_value']):.3f})",
            "estimate": difference["estimate"],
            "evidence": difference["p_value"],
        }
    ]


def score_assumptions(
    estimates: pd.DataFrame, *, assignment: str, decision: pd.Series | None = None
) -> list[dict[str, object]]:
    """One entry per assumption: verdict, the reading of each bearing estimate, the claim.

    ``estimates`` holds the publishable rows of the main estimator at the primary wave;
    ``decision`` the difference row of :func:`decision_difference` (None when absent).
    """
    by_outcome = {str(row["outcome"]): row for _, row in estimates.iterrows()}
    cards: list[dict[str, object]] = []
    for assumption in ASSUMPTIONS:
        readings = _decision_readings(decision) if assumption.by_decision else []
        for bearing in assumption.bearings:
            name = next((o for o in bearing.outcomes if o in by_outcome), None)
            if name is None:
                continue
            row = by_outcome[name]
            readings.append(
                {
                    "outcome": name,
                    "role": bearing.role,
                    "expected": "higher" if bearing.sign > 0 else "lower",
                    "reading": read_estimate(row, bearing.sign),
                    "estimate": row.get("estimate"),
                    "evidence": row.get("adjusted_p_value"),
                }
            )
        verdict = _decision_verdict(decision) if assumption.by_decision else _verdict(readings)
        if assignment == "pre_post":
            verdict = "inconclusive" if verdict != "not assessed" else verdict
            qualifier = "no comparison group: change over time is not an effect of the campaign"
        elif assignment == "quasi_experimental" and verdict in ("supported", "contradicted"):
            verdict = f"{verdict} (suggestive)"
            qualifier = "exposure was not randomised; adjusted comparisons only"
        else:
            qualifier = ""
        cards.append(
            {
                "number": assumption.number,
                "name": assumption.name,
                "claim": assumption.claim,
                "verdict": verdict,
                "readings": readings,
                "note": assumption.note,
                "qualifier": qualifier,
            }
        )
    return cards


def _verdict(readings: list[dict[str, object]]) -> str:
    if not readings:
        return "not assessed"
    if any(reading["reading"] == "disagrees" for reading in readings):
        return "contradicted"
    headline = next((r for r in readings if r["role"] == "headline"), None)
    premise_moved = any(r["role"] == "premise" and r["reading"] == "agrees" for r in readings)
    if headline is not None and headline["reading"] == "agrees":
        return "supported"
    if headline is not None and headline["reading"] == "no clear effect" and premise_moved:
        return "contradicted"
    return "inconclusive"


def _decision_verdict(difference: pd.Series | None) -> str:
    if difference is None:
        return "not assessed"
    return "contradicted" if float(difference["p_value"]) < SIGNIFICANCE else "inconclusive"
