"""The first screen of the report: the design in one sentence and one line per primary outcome.

Every number is a column of the estimates table (the effect, its standardized effect, the
primary interval and its standardized ends, the conclusion, the MDE and SESOI in SD); this
module only puts them into words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from flows.estimation.analysis_data import PERCENTAGE_POINTS, STANDARD_DEVIATIONS
from flows.report.suppression import passes

INFERENCE_WORDS = {
    "wild_bootstrap": "wild cluster bootstrap",
    "cr2_satterthwaite": "small-sample corrected cluster-robust errors",
    "cr1": "cluster-robust errors",
    "hc2": "heteroskedasticity-robust errors",
}
"""The primary inference of an estimate (``primary_inference``) in words."""

ESTIMATOR_WORDS = {
    "ancova": "later wave compared, adjusted for the baseline value",
    "did": "difference in differences",
    "post_only_difference": "difference after the campaign (no baseline)",
    "ordered_logit": "ordered logit, log-odds (robustness)",
    "logit_ame": "logit marginal effect (robustness)",
    "probit_ame": "probit marginal effect (robustness)",
    "ipw": "propensity-weighted comparison of the exposed",
}
"""The estimators of the estimates table in words (the methods appendix gives the models)."""


def inference_words(code: object) -> str:
    """The words for a ``primary_inference`` code ("" for none)."""
    if not isinstance(code, str) or not code:
        return ""
    return INFERENCE_WORDS.get(code, INFERENCE_WORDS.get(code.split(" ")[0], code))


def estimator_words(code: object) -> str:
    """The words for an ``estimator`` code."""
    return ESTIMATOR_WORDS.get(str(code), str(code).replace("_", " "))


def design_sentence(assignment: str, sampling: str, settings: Mapping[str, str]) -> str:
    """How the study was designed, in one sentence worded for its assignment."""
    panel = (
        "the same respondents were interviewed before and after the campaign"
        if sampling == "panel"
        else "new respondents were interviewed before and after the campaign"
    )
    if assignment == "individually_randomised":
        return (
            f"Respondents were randomly assigned to the campaign or to a comparison group; "
            f"{panel}. Effects are intention-to-treat effects of being assigned."
        )
    if assignment == "cluster_randomised":
        return (
            f"Communities were randomly assigned to the campaign or to a comparison group; "
            f"{panel}. Effects are intention-to-treat effects of living in a campaign "
            "community."
        )
    if assignment == "quasi_experimental":
        return (
            f"The campaign and comparison groups were not randomly assigned; {panel}. "
            "Effects are adjusted comparisons and may reflect who was reached."
        )
    return (
        f"There is no comparison group: {panel}. Changes over time are not effects of the campaign."
    )


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _format(number: float) -> str:
    if not math.isfinite(number):
        return "–"
    size = abs(number)
    if size >= 100:
        return f"{number:,.0f}"
    if size >= 10:
        return f"{number:.1f}"
    return f"{number:.2f}" if size >= 0.1 else f"{number:.3f}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One primary outcome's line: its label, the sentence, and whether it holds a number."""

    outcome: str
    label: str
    sentence: str
    conclusion: str
    has_number: bool


def _in_units(row: pd.Series, value: float) -> str:
    unit = str(row.get("unit") or "")
    if unit == PERCENTAGE_POINTS:
        return f"{_format(100 * value)} {unit}"
    if unit == STANDARD_DEVIATIONS:
        return f"{_format(value)} SD"
    return f"{_format(value)} {unit}".strip()


def finding_sentence(row: pd.Series, confidence: float = 0.95) -> str:
    """The verdict on one estimate in words, with its numbers."""
    estimate = _number(row.get("estimate"))
    standardized = _number(row.get("standardized_effect"))
    scale = 100.0 if str(row.get("unit") or "") == PERCENTAGE_POINTS else 1.0
    low, high = _number(row.get("conf_low_primary")), _number(row.get("conf_high_primary"))
    inference = inference_words(row.get("primary_inference"))
    interval = f"{100 * confidence:.0f}% CI {_format(scale * low)} to {_format(scale * high)}" + (
        f", {inference}" if inference else ""
    )
    in_sd = (
        f"{standardized:+.2f} SD; "
        if math.isfinite(standardized) and row.get("unit") != "SD"
        else ""
    )
    numbers = f"({in_sd}{interval})"
    conclusion = str(row.get("conclusion") or "")
    label = str(row["label"])
    if conclusion == "effect shown":
        verb = "raised" if estimate > 0 else "lowered"
        return f"{label}: the campaign {verb} it by {_in_units(row, abs(estimate))} {numbers}."
    change = f"{_in_units(row, estimate)} {numbers}"
    sesoi = _number(row.get("sesoi_standardized"))
    if conclusion.startswith("effect larger than"):
        return (
            f"{label}: no detectable change, {change}; effects larger than "
            f"{abs(sesoi):.2f} SD can be ruled out."
        )
    mde = _number(row.get("mde_standardized"))
    limit = (
        f"; the study could not detect effects smaller than {mde:.2f} SD (80% power)"
        if math.isfinite(mde)
        else ""
    )
    return f"{label}: no clear change, {change}{limit}."


def primary_findings(
    effects: pd.DataFrame,
    main: pd.DataFrame,
    primary: Sequence[str],
    *,
    labels: Mapping[str, str],
    minimum: int,
    wave: str,
    assignment: str,
    change: pd.DataFrame | None = None,
    units: Mapping[str, str] | None = None,
) -> list[Finding]:
    """One line per pre-specified primary outcome, in the order the study lists them.

    ``main`` holds the publishable main-estimator rows at ``wave``; ``effects`` all labelled
    estimates (to tell an outcome under the minimum cell size from one not estimated). A
    pre/post study has no effect: its line gives the change within the study group from
    ``change`` (the within-arm change table), said not to be an effect.
    """
    findings = []
    by_outcome = {str(row["outcome"]): row for _, row in main.iterrows()}
    for outcome in primary:
        label = labels.get(outcome, outcome.replace("_", " "))
        if outcome in by_outcome:
            row = by_outcome[outcome]
            findings.append(
                Finding(
                    outcome=outcome,
                    label=label,
                    sentence=finding_sentence(row),
                    conclusion=str(row.get("conclusion") or ""),
                    has_number=True,
                )
            )
            continue
        rows = effects[effects["outcome"] == outcome] if not effects.empty else effects
        before_after = _change_row(change, outcome, wave, minimum)
        if assignment == "pre_post" and before_after is not None:
            row = before_after.copy()
            row["unit"] = (units or {}).get(outcome, "")
            low, high = _number(row.get("conf_low")), _number(row.get("conf_high"))
            scale = 100.0 if row["unit"] == PERCENTAGE_POINTS else 1.0
            findings.append(
                Finding(
                    outcome=outcome,
                    label=label,
                    sentence=(
                        f"{label}: changed by {_in_units(row, _number(row.get('estimate')))} "
                        f"from baseline to the {str(wave).replace('_', ' ')} wave (95% CI "
                        f"{_format(scale * low)} to {_format(scale * high)}); a change over "
                        "time, not an effect of the campaign."
                    ),
                    conclusion="change",
                    has_number=True,
                )
            )
            continue
        if assignment == "pre_post":
            text = f"{label}: no effect is estimated without a comparison group."
        elif (
            not rows.empty
            and not passes(rows, ["n_smallest_cell"], minimum).any()
            and (pd.to_numeric(rows["n_smallest_cell"], errors="coerce").fillna(0) > 0).any()
        ):
            text = f"{label}: suppressed: fewer than {minimum} respondents in an arm."
        else:
            text = f"{label}: not estimable at the {wave} wave."
        findings.append(
            Finding(outcome=outcome, label=label, sentence=text, conclusion="", has_number=False)
        )
    return findings


def _change_row(
    change: pd.DataFrame | None, outcome: str, wave: str, minimum: int
) -> pd.Series | None:
    """The publishable within-arm change of ``outcome`` to ``wave`` (a t test's row)."""
    if change is None or change.empty:
        return None
    rows = change[
        (change["outcome"] == outcome)
        & (change["wave_after"] == wave)
        & (change["test"] != "wilcoxon")
    ]
    rows = rows[passes(rows, ["n_before", "n_after"], minimum)]
    return rows.iloc[0] if not rows.empty else None
