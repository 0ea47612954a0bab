"""What each estimate shows: MDE, equivalence test against the SESOI, and its conclusion.

Adds the evidence columns to the estimates table (the report and the scorecard read them,
never recompute them). Every row reads the design's primary inference through
:func:`primary_evidence`, the one place that chooses which p-value and interval that is.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from flows.plan.lock import main_estimator
from flows.study import Study
from measurement.equivalence import read_evidence

EVIDENCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("evidence_inference", "VARCHAR"),
    ("evidence_df", "DOUBLE"),
    ("mde", "DOUBLE"),
    ("mde_standardized", "DOUBLE"),
    ("sesoi", "DOUBLE"),
    ("sesoi_standardized", "DOUBLE"),
    ("p_value_equivalence", "DOUBLE"),
    ("conclusion", "VARCHAR"),
    ("conclusion_text", "VARCHAR"),
    ("conf_low_standardized", "DOUBLE"),
    ("conf_high_standardized", "DOUBLE"),
    ("is_main_estimator", "BOOLEAN"),
)
"""Columns added to ``estimates``: the inference read (``primary_inference``, or
:data:`CR1_FALLBACK`), the
df of its reference distribution, the MDE at 80% power in outcome units and in SD, the
declared SESOI in outcome units and in SD, the TOST p-value, the conclusion ("effect shown",
"effect larger than the SESOI ruled out", "inconclusive") and the sentence saying it; the
primary interval in SD (over the same standard deviation as ``standardized_effect``); and
whether the row is the pre-specified main estimator's (:func:`flows.plan.main_estimator`, or
the difference in means of an outcome measured only after the campaign): the rows the report
leads with and the scorecard reads."""

LINEAR_ESTIMATORS = ("ancova", "did", "ipw", "post_only_difference")

CR1_FALLBACK = "cr1 (no primary inference in the run)"
"""The ``evidence_inference`` of a row read from its CR1 columns for want of primary ones."""
"""Estimators whose estimate is a difference in the outcome's units (SESOI applies)."""


def primary_evidence(estimates: pd.DataFrame) -> pd.DataFrame:
    """Per row: the p-value, interval and name of the design's primary inference.

    Reads ``p_value_primary``, ``conf_low_primary``, ``conf_high_primary`` and
    ``primary_inference`` where a row has them, else the CR1 ``p_value`` and interval.
    """
    index = estimates.index

    def numeric(name: str) -> pd.Series:
        if name not in estimates.columns:
            return pd.Series(np.nan, index=index, dtype=float)
        return pd.to_numeric(estimates[name], errors="coerce").astype(float)

    chosen = pd.DataFrame(
        {
            "p_value": numeric("p_value"),
            "conf_low": numeric("conf_low"),
            "conf_high": numeric("conf_high"),
            "inference": pd.Series(CR1_FALLBACK, index=index, dtype=object),
        },
        index=index,
    )
    if "p_value_primary" in estimates.columns:
        primary = pd.DataFrame(
            {
                "p_value": numeric("p_value_primary"),
                "conf_low": numeric("conf_low_primary"),
                "conf_high": numeric("conf_high_primary"),
            },
            index=index,
        )
        usable = primary.notna().all(axis=1)
        for column in ("p_value", "conf_low", "conf_high"):
            chosen.loc[usable, column] = primary.loc[usable, column]
        labels = (
            estimates["primary_inference"]
            if "primary_inference" in estimates.columns
            else pd.Series(None, index=index, dtype=object)
        )
        chosen.loc[usable, "inference"] = (
            labels[usable].astype(object).fillna("primary").astype(str)
        )
    return chosen


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _reference_df(row: pd.Series, inference: str) -> float:
    """Degrees of freedom of the primary inference's reference distribution."""
    if inference == "cr2_satterthwaite" and math.isfinite(_number(row.get("df_cr2"))):
        return _number(row.get("df_cr2"))
    if math.isfinite(_number(row.get("df"))) and _number(row.get("df")) > 0:
        return _number(row.get("df"))
    clusters = _number(row.get("n_clusters"))
    if math.isfinite(clusters) and clusters > 1:
        return clusters - 1.0
    observations = _number(row.get("n_obs"))
    return observations - 2.0 if math.isfinite(observations) and observations > 2 else math.inf


def _in_sd(value: object, scale: float) -> float:
    """``value`` in outcome units over ``scale`` (outcome units per SD; a positive SD)."""
    number = _number(value)
    if not (math.isfinite(number) and math.isfinite(scale)) or scale == 0:
        return math.nan
    return number / abs(scale)


def add_conclusions(
    study: Study, estimates: pd.DataFrame, messages: list[tuple[str, str]]
) -> pd.DataFrame:
    """The estimates with :data:`EVIDENCE_COLUMNS`; SESOI from ``[outcomes.sesoi]`` (SD units).

    A SESOI naming no estimated outcome is recorded as a caveat (it would otherwise be
    silently unused).
    """
    if estimates.empty:
        return estimates.assign(**{name: pd.Series(dtype=object) for name, _ in EVIDENCE_COLUMNS})
    declared = dict(study.outcomes.sesoi)
    unused = sorted(set(declared) - set(estimates["outcome"].astype(str)))
    if unused:
        messages.append(
            (
                "equivalence",
                f"outcomes.sesoi names {unused}, which no estimate has; fix the names in the "
                "study file (an outcome, or index_<family> for a family's summary index).",
            )
        )
    evidence = primary_evidence(estimates)
    main = {main_estimator(study), "post_only_difference"}
    rows = []
    for position, (_, row) in enumerate(estimates.iterrows()):
        chosen = evidence.iloc[position]
        estimate = _number(row.get("estimate"))
        standardized = _number(row.get("standardized_effect"))
        # outcome units per standard deviation, from the table's own standardized effect
        scale = (
            estimate / standardized
            if math.isfinite(standardized) and standardized != 0 and math.isfinite(estimate)
            else math.nan
        )
        linear = str(row.get("estimator")) in LINEAR_ESTIMATORS
        sesoi_sd = declared.get(str(row["outcome"])) if linear else None
        sesoi = sesoi_sd * scale if sesoi_sd is not None and math.isfinite(scale) else None
        df = _reference_df(row, str(chosen["inference"]))
        reading = read_evidence(
            estimate=estimate,
            p_value=float(chosen["p_value"]),
            conf_low=float(chosen["conf_low"]),
            conf_high=float(chosen["conf_high"]),
            df=df,
            sesoi=None if sesoi is None else abs(sesoi),
        )
        text = reading.sentence
        if sesoi_sd is not None and sesoi is None:
            text += "; the SESOI could not be put in outcome units (no standardized effect)"
        rows.append(
            {
                "evidence_inference": str(chosen["inference"]),
                "evidence_df": df,
                "mde": reading.minimum_detectable_effect,
                "mde_standardized": reading.minimum_detectable_effect / abs(scale)
                if math.isfinite(scale)
                else np.nan,
                "sesoi": np.nan if sesoi is None else abs(sesoi),
                "sesoi_standardized": np.nan if sesoi_sd is None else sesoi_sd,
                "p_value_equivalence": reading.p_value_equivalence,
                "conclusion": reading.conclusion if math.isfinite(estimate) else "not estimated",
                "conclusion_text": text,
                "conf_low_standardized": _in_sd(chosen["conf_low"], scale),
                "conf_high_standardized": _in_sd(chosen["conf_high"], scale),
                "is_main_estimator": str(row.get("estimator")) in main,
            }
        )
    added = pd.DataFrame(rows, index=estimates.index)
    return pd.concat([estimates.drop(columns=list(added.columns), errors="ignore"), added], axis=1)
