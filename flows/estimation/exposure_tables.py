"""Exposure effects of quasi-experimental studies: propensity-weighted estimates and balance."""

from __future__ import annotations

import pandas as pd

from flows.estimation.analysis_data import AnalysisData
from flows.estimation.caveats import caveat_warnings
from flows.estimation.results import RESULT_TABLES
from flows.study import Study
from measurement.errors import DesignError, FewClustersWarning
from measurement.multiple_testing import benjamini_hochberg, sharpened_q_values
from measurement.propensity import (
    PoorOverlapWarning,
    estimate_exposure_effect,
    estimate_propensity,
    weighted_balance,
)

EXPOSURE_BACKGROUND = ("age", "education", "employed", "household_size", "relatives_abroad")
"""Background items used as pre-exposure covariates when the study fielded them."""

BASELINE_SUFFIX = "__baseline"


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES[table]])


def _wave_frame(
    study: Study, data: AnalysisData, wave: str, exposure: str, outcomes: list[str]
) -> tuple[pd.DataFrame, list[str], bool]:
    """Rows of one later wave; in panels background and outcomes at baseline joined by person.

    Returns the frame, the covariates that vary in it, and whether baseline outcomes exist.
    """
    frame = data.responses
    later = frame[frame["wave"] == wave]
    background = [name for name in EXPOSURE_BACKGROUND if name in frame.columns]
    roles = ["respondent", "cluster", "stratum"]
    panel = study.design.sampling == "panel"
    if panel:
        later = later.drop_duplicates("respondent")
        working = later[[*roles, exposure, *outcomes]]
        before = frame[frame["wave"] == data.baseline_wave].drop_duplicates("respondent")
        before = before[["respondent", *background, *outcomes]].rename(
            columns={name: f"{name}{BASELINE_SUFFIX}" for name in outcomes}
        )
        # Background measured before the campaign: never something exposure could move.
        working = working.merge(before, on="respondent", how="inner")
    else:
        working = later[[*roles, exposure, *background, *outcomes]]
    covariates = [name for name in background if working[name].dropna().nunique() > 1]
    return working.reset_index(drop=True), covariates, panel


def exposure_results(
    study: Study, data: AnalysisData, messages: list[tuple[str, str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IPW estimates of self-reported exposure at each later wave, and their weighted balance.

    Only for ``design.assignment == "quasi_experimental"`` studies that name
    ``columns.exposure``; otherwise two empty tables. Each outcome is compared between those
    who recall the campaign and those who do not, weighted by the inverse probability of
    recall given the background items (and, in panels, the outcome's baseline value), with
    CR1 errors on the community. Rows carry estimator ``"ipw"`` and Benjamini-Hochberg and
    sharpened q-values within each family and wave; the balance table shows, for each
    outcome's weights, each covariate's standardized difference before and after weighting.
    """
    if study.design.assignment != "quasi_experimental":
        return _empty("estimates"), _empty("exposure_balance")
    exposure = study.columns.exposure
    frame = data.responses
    if exposure is None or exposure not in frame.columns:
        messages.append(
            (
                "exposure effects",
                f"the study is quasi-experimental but the exposure column {exposure!r} is not "
                "among the analysed items; no exposure effect was estimated. Name the recall "
                "item in columns.exposure (for example exposure_recall).",
            )
        )
        return _empty("estimates"), _empty("exposure_balance")
    specs = [spec for spec in data.outcomes if spec.name != exposure]
    names = [spec.name for spec in specs]
    stratum = "stratum" if frame["stratum"].notna().any() else None
    estimates: list[dict[str, object]] = []
    balances: list[pd.DataFrame] = []
    for wave in data.later_waves:
        working, covariates, panel = _wave_frame(study, data, wave, exposure, names)
        if not covariates:
            messages.append(
                (
                    f"exposure effects {wave}",
                    f"none of the background items {list(EXPOSURE_BACKGROUND)!r} varies at "
                    f"{wave}; exposure effects need pre-exposure covariates. Field them.",
                )
            )
            continue
        overlap: list[str] = []
        few_clusters = False
        for spec in specs:
            baseline = f"{spec.name}{BASELINE_SUFFIX}" if panel else None
            if baseline is not None and working[baseline].notna().sum() == 0:
                baseline = None
            used = [spec.name, exposure, "cluster", *covariates]
            used += [name for name in (baseline, stratum) if name is not None]
            rows = working[working[used].notna().all(axis=1)]
            row: dict[str, object] = {
                "outcome": spec.name,
                "construct": spec.family if spec.kind == "index" else spec.name,
                "family": "summary_indices" if spec.kind == "index" else spec.family,
                "waves_compared": f"{data.baseline_wave} -> {wave}" if panel else wave,
                "estimator": "ipw",
                "term": exposure,
                "wave": wave,
                "is_primary": spec.is_primary,
                "n_smallest_cell": int(
                    rows[exposure].value_counts().reindex([0.0, 1.0]).fillna(0).min()
                ),
            }
            try:
                with caveat_warnings() as caught:
                    effect = estimate_exposure_effect(
                        rows,
                        outcome=spec.name,
                        exposure=exposure,
                        covariates=covariates,
                        cluster="cluster",
                        stratum=stratum,
                        baseline=baseline,
                    )
                    propensity = estimate_propensity(
                        rows,
                        exposure=exposure,
                        covariates=[*covariates, *([baseline] if baseline else [])],
                        cluster="cluster",
                    )
            except DesignError as error:
                row["warnings"] = f"not estimated: {error}"
                estimates.append(row)
                continue
            overlap += [str(w.message) for w in caught if w.category is PoorOverlapWarning][:1]
            few_clusters |= any(issubclass(w.category, FewClustersWarning) for w in caught)
            row.update(
                {
                    "estimate": effect.estimate,
                    "std_error": effect.std_error,
                    "statistic": effect.statistic,
                    "conf_low": effect.conf_low,
                    "conf_high": effect.conf_high,
                    "p_value": effect.p_value,
                    "n_obs": effect.n_obs,
                    "n_clusters": effect.n_clusters,
                    "comparison_mean": effect.comparison_mean,
                    "standardized_effect": effect.standardized_effect,
                    "specification": effect.specification,
                    "inference": effect.inference,
                    "notes": "; ".join(effect.notes),
                    "warnings": "; ".join(effect.warnings),
                }
            )
            estimates.append(row)
            balance = weighted_balance(
                rows.assign(propensity_weight=propensity.weights),
                exposure=exposure,
                covariates=list(propensity.covariates),
                weight="propensity_weight",
            )
            balance.insert(0, "outcome", spec.name)
            balance.insert(0, "wave", wave)
            balances.append(balance)
        if overlap:
            messages.append(
                (
                    f"exposure effects {wave}",
                    f"poor overlap for {len(overlap)} of {len(specs)} outcomes; first: "
                    f"{overlap[0]}",
                )
            )
        if few_clusters:
            messages.append(
                (
                    f"exposure effects {wave}",
                    "few clusters: CR1 with a t(G-1) reference may over-reject for the "
                    "exposure effects (no wild bootstrap is run for weighted estimates).",
                )
            )
    if not estimates:
        return _empty("estimates"), _empty("exposure_balance")
    table = pd.DataFrame(estimates).reindex(columns=_empty("estimates").columns)
    for column in ("adjusted_p_value", "q_value"):
        table[column] = table[column].astype(float)
    for _key, group in table.groupby(["wave", "family"], sort=False):
        p = group["p_value"].astype(float)
        present = p.notna()
        if present.any():
            table.loc[p.index[present], "adjusted_p_value"] = benjamini_hochberg(
                p[present].to_numpy()
            )
            table.loc[p.index[present], "q_value"] = sharpened_q_values(p[present].to_numpy())
    balance_table = (
        pd.concat(balances, ignore_index=True) if balances else _empty("exposure_balance")
    )
    return table, balance_table
