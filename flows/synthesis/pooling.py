"""Pool the harmonized estimates per outcome: random effects, three levels, moderators, bias."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import pandas as pd
from scipy import stats

from flows.estimation.caveats import record_caveats
from measurement.errors import DesignError
from measurement.meta_analysis import PooledEffect, meta_analysis, meta_regression
from measurement.meta_bias import EGGER_COLUMNS, egger_test, funnel_data
from measurement.meta_multilevel import MULTILEVEL_COLUMNS, multilevel_meta_analysis

POOLED_TABLE_COLUMNS = [
    "outcome",
    "label",
    "model",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "p_value",
    "df",
    "tau2",
    "tau",
    "i_squared",
    "h_squared",
    "q",
    "q_df",
    "q_p_value",
    "prediction_low",
    "prediction_high",
    "sigma2_study",
    "sigma2_estimate",
    "fixed_estimate",
    "fixed_conf_low",
    "fixed_conf_high",
    "equivalence_low",
    "equivalence_high",
    "sesoi",
    "conclusion",
    "n_studies",
    "n_estimates",
    "n_respondents",
    "std_error_sources",
]
"""One row per pooled outcome. Estimates are in standard deviations of the comparison arm at
baseline. ``equivalence_low``/``equivalence_high`` are the (1 - 2 alpha) interval of the two
one-sided tests against ``sesoi``; ``conclusion`` is "effect shown", "effect larger than the
SESOI ruled out" or "inconclusive"; ``n_respondents`` adds each study's largest ``n_obs``."""

# The pooled table's statistics that each model's result carries under the same name (the
# counts are the synthesis's own, computed from the harmonized rows).
_RANDOM_EFFECTS_STATISTICS = tuple(
    name
    for name in POOLED_TABLE_COLUMNS
    if name in {item.name for item in fields(PooledEffect)} and not name.startswith("n_")
)
_MULTILEVEL_STATISTICS = tuple(
    name
    for name in POOLED_TABLE_COLUMNS
    if name in MULTILEVEL_COLUMNS and not name.startswith("n_")
)

MODERATOR_COLUMNS = [
    "outcome",
    "moderator",
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "df",
    "tau2",
    "r_squared",
    "qm",
    "qm_p_value",
    "n_studies",
]
BIAS_COLUMNS = ["outcome", *EGGER_COLUMNS]
FUNNEL_TABLE_COLUMNS = [
    "outcome",
    "study",
    "estimate",
    "std_error",
    "expected_low",
    "expected_high",
    "pooled",
]


@dataclass(slots=True)
class PooledOutcomes:
    """Every table of a synthesis's pooling, and the caveats it raised."""

    pooled: pd.DataFrame
    moderators: pd.DataFrame
    bias: pd.DataFrame
    funnel: pd.DataFrame
    caveats: list[tuple[str, str]] = field(default_factory=list)


def respondents(rows: pd.DataFrame) -> int:
    """Respondents behind a set of estimates: each study's largest sample, added up."""
    if rows.empty:
        return 0
    return int(pd.to_numeric(rows["n_obs"], errors="coerce").groupby(rows["study"]).max().sum())


def conclusion(
    estimate: float, p_value: float, equivalence: tuple[float, float], sesoi: float | None
) -> str:
    """Effect shown, effect beyond the SESOI ruled out, or inconclusive."""
    if not math.isfinite(estimate) or not math.isfinite(p_value):
        return "not estimated"
    if p_value < 0.05:
        return "effect shown"
    if sesoi is not None and -sesoi < equivalence[0] and equivalence[1] < sesoi:
        return "effect larger than the SESOI ruled out"
    return "inconclusive"


def pool_outcome(
    rows: pd.DataFrame,
    *,
    method: str,
    test: str,
    confidence: float,
    sesoi: float | None,
) -> dict[str, object]:
    """The pooled row of one outcome (columns :data:`POOLED_TABLE_COLUMNS` but the labels)."""
    n_studies = int(rows["study"].nunique())
    nested = n_studies < len(rows)
    equivalence_level = 1 - 2 * (1 - confidence)
    row: dict[str, object] = dict.fromkeys(POOLED_TABLE_COLUMNS, math.nan)
    row.update(
        n_studies=n_studies,
        n_estimates=len(rows),
        n_respondents=respondents(rows),
        sesoi=sesoi if sesoi is not None else math.nan,
        std_error_sources=", ".join(sorted(set(rows["std_error_source"].astype(str)))),
    )
    if n_studies == 1:
        # One study is reported, not pooled: its primary (first) wave.
        estimate, se = float(rows["estimate"].iloc[0]), float(rows["std_error"].iloc[0])
        z = float(stats.norm.ppf(0.5 + confidence / 2))
        z_equivalence = float(stats.norm.ppf(0.5 + equivalence_level / 2))
        p_value = float(2 * stats.norm.sf(abs(estimate / se)))
        row.update(
            model="one study (not pooled)",
            estimate=estimate,
            std_error=se,
            conf_low=estimate - z * se,
            conf_high=estimate + z * se,
            p_value=p_value,
            equivalence_low=estimate - z_equivalence * se,
            equivalence_high=estimate + z_equivalence * se,
        )
    elif nested:
        fit = multilevel_meta_analysis(rows, confidence=confidence).tidy().iloc[0]
        narrow = multilevel_meta_analysis(rows, confidence=equivalence_level).tidy().iloc[0]
        row.update(
            model="three-level random effects (REML, t)",
            **{name: fit[name] for name in _MULTILEVEL_STATISTICS},
            tau=math.sqrt(float(fit["tau2"])),
            equivalence_low=narrow["conf_low"],
            equivalence_high=narrow["conf_high"],
        )
    else:
        random = meta_analysis(rows, method=method, test=test, confidence=confidence)  # type: ignore[arg-type]
        tost = meta_analysis(rows, method=method, test=test, confidence=equivalence_level)  # type: ignore[arg-type]
        label = "HKSJ" if test == "knha" else "Wald"
        row.update(
            model=f"random effects ({method}, {label})",
            **{name: getattr(random, name) for name in _RANDOM_EFFECTS_STATISTICS},
            equivalence_low=tost.conf_low,
            equivalence_high=tost.conf_high,
        )
    row["conclusion"] = conclusion(
        float(row["estimate"]),  # type: ignore[arg-type]
        float(row["p_value"]),  # type: ignore[arg-type]
        (float(row["equivalence_low"]), float(row["equivalence_high"])),  # type: ignore[arg-type]
        sesoi,
    )
    return row


def pool_outcomes(
    harmonized: pd.DataFrame,
    *,
    outcomes: dict[str, tuple[str, float | None]],
    moderators: list[str],
    method: str,
    test: str,
    confidence: float,
    diagnostics: bool = True,
) -> PooledOutcomes:
    """Pool each outcome (``outcomes``: name -> (label, SESOI)); moderators and, with
    ``diagnostics``, Egger's test and the funnel points."""
    caveats: list[tuple[str, str]] = []
    pooled, regressions, bias, funnels = [], [], [], []
    for name, (label, sesoi) in outcomes.items():
        rows = harmonized[harmonized["outcome"] == name]
        if rows.empty:
            continue
        with record_caveats(f"pooling {name}", caveats):
            row = pool_outcome(rows, method=method, test=test, confidence=confidence, sesoi=sesoi)
        row.update(outcome=name, label=label)
        pooled.append(row)
        if not diagnostics:
            continue
        ordered = rows.sort_values("std_error", kind="stable")
        points = funnel_data(ordered, pooled=float(row["estimate"]), confidence=confidence)  # type: ignore[arg-type]
        points = points.assign(
            outcome=name,
            study=ordered["study"].to_numpy(),
            pooled=float(row["estimate"]),  # type: ignore[arg-type]
        )
        funnels.append(points[FUNNEL_TABLE_COLUMNS])
        nested = int(rows["study"].nunique()) < len(rows)
        # Egger's test assumes independent estimates: one per study (its primary wave, the
        # first row of each study).
        first = rows.drop_duplicates("study")
        if len(first) >= 3:
            try:
                with record_caveats(f"Egger's test {name}", caveats):
                    bias.append(
                        egger_test(first, method=method, test=test)  # type: ignore[arg-type]
                        .tidy()
                        .assign(outcome=name)[BIAS_COLUMNS]
                    )
            except DesignError as error:
                caveats.append((f"Egger's test {name}", str(error)))
        for moderator in moderators:
            usable = rows.dropna(subset=[moderator])
            if usable[moderator].nunique() < 2:
                continue
            step = f"meta-regression {name} on {moderator}"
            try:
                with record_caveats(step, caveats):
                    table = _moderator_fit(
                        usable, moderator, nested=nested, method=method, test=test,
                        confidence=confidence,
                    )  # fmt: skip
            except DesignError as error:
                caveats.append((step, str(error)))
                continue
            regressions.append(table.assign(outcome=name, moderator=moderator)[MODERATOR_COLUMNS])
    return PooledOutcomes(
        pooled=pd.DataFrame(pooled, columns=POOLED_TABLE_COLUMNS),
        moderators=_stack(regressions, MODERATOR_COLUMNS),
        bias=_stack(bias, BIAS_COLUMNS),
        funnel=_stack(funnels, FUNNEL_TABLE_COLUMNS),
        caveats=caveats,
    )


def _moderator_fit(
    rows: pd.DataFrame, moderator: str, *, nested: bool, method: str, test: str,
    confidence: float,
) -> pd.DataFrame:  # fmt: skip
    """One moderator's meta-regression: mixed effects, or three levels when nested."""
    if nested:
        multilevel = multilevel_meta_analysis(rows, moderators=[moderator], confidence=confidence)
        return multilevel.coefficients.assign(
            tau2=multilevel.sigma2_study + multilevel.sigma2_estimate,
            r_squared=math.nan,
            qm=math.nan,
            qm_p_value=math.nan,
            n_studies=multilevel.n_studies,
        )
    fit = meta_regression(
        rows,
        moderators=[moderator],
        method=method,  # type: ignore[arg-type]
        test=test,  # type: ignore[arg-type]
        confidence=confidence,
    )
    return fit.tidy().assign(
        tau2=fit.tau2,
        r_squared=fit.r_squared,
        qm=fit.qm,
        qm_p_value=fit.qm_p_value,
        n_studies=fit.n_studies,
    )


def _stack(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
