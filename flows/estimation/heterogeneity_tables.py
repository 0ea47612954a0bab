"""Effects by declared subgroup: the ANCOVA effect in each group of a baseline answer."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from flows.estimation.analysis_data import AnalysisData
from flows.estimation.caveats import record_caveats
from flows.estimation.design_inference import cluster_words, inference_cluster, with_one_blas_thread
from flows.estimation.results import RESULT_TABLES
from flows.study import HeterogeneityDimension, Study
from measurement.errors import DesignError
from measurement.heterogeneity import estimate_effect_by_group

BASELINE_SUFFIX = "__baseline"


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["effects_by_group"]])


def in_group(values: pd.Series, codes: list[float]) -> pd.Series:
    """1.0 when the answer is one of ``codes``, 0.0 for any other answer, NaN when missing."""
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    return numeric.isin(codes).astype("float64").where(numeric.notna())


def _labeller(dimension: HeterogeneityDimension) -> Callable[[str], str]:
    names = {"0": dimension.others, "1": dimension.label}

    def label(group: str) -> str:
        if " - " in group:
            later, reference = group.split(" - ", 1)
            return f"{names.get(later, later)} minus {names.get(reference, reference)}"
        return names.get(group, group)

    return label


@with_one_blas_thread
def effects_by_group(
    study: Study, data: AnalysisData, messages: list[tuple[str, str]]
) -> pd.DataFrame:
    """ANCOVA effects in the groups of each declared heterogeneity dimension, per later wave.

    Dimensions come from the study file (``[[analysis.heterogeneity]]``; the bundled instrument
    declares "decides alone" on its decision item). Only for panels with a comparison group;
    otherwise, or with no dimension declared, an empty table ("not assessed" with the reason
    among the caveats). A respondent's group is defined at baseline (1 when the answer is one
    of the dimension's codes, 0 for any other answer, missing when not answered) and carried
    to the later waves by respondent. For the primary outcomes and the dimension's own
    ``outcomes`` the effect is estimated in each group with the baseline outcome and strata
    fixed effects (:func:`measurement.heterogeneity.estimate_effect_by_group`); the
    ``difference`` row is the effect in the group minus the effect among the others.
    ``n_smallest_cell`` is the smallest arm-by-group cell of complete rows.
    Below the study's ``inference.few_clusters_below`` clusters the errors are CR2 with
    Satterthwaite df (HTZ joint test).
    """
    frame = data.responses
    dimensions = list(study.analysis.heterogeneity)
    if not dimensions:
        messages.append(
            (
                "effects by group",
                "not assessed: the study file declares no analysis.heterogeneity dimension.",
            )
        )
        return _empty()
    if (
        not study.design.has_comparison
        or study.design.sampling != "panel"
        or "treated" not in frame.columns
    ):
        return _empty()
    tables: list[pd.DataFrame] = []
    for dimension in dimensions:
        if dimension.item not in frame.columns:
            messages.append(
                (
                    f"effects by {dimension.name}",
                    f"not assessed: the item {dimension.item!r} was not fielded.",
                )
            )
            continue
        tables.extend(_dimension_tables(study, data, dimension, messages))
    if not tables:
        return _empty()
    return pd.concat(tables, ignore_index=True).reindex(columns=_empty().columns)


def _dimension_tables(
    study: Study,
    data: AnalysisData,
    dimension: HeterogeneityDimension,
    messages: list[tuple[str, str]],
) -> list[pd.DataFrame]:
    frame = data.responses
    group = dimension.name
    outcomes = [spec.name for spec in data.outcomes if spec.is_primary]
    outcomes += [
        name for name in dimension.outcomes if name in frame.columns and name not in outcomes
    ]
    if not outcomes:
        return []
    stratum = "stratum" if frame["stratum"].notna().any() else None
    weight = "weight" if "weight" in frame and frame["weight"].notna().any() else None
    cluster = inference_cluster(study)
    roles = list(
        dict.fromkeys(["respondent", cluster, "treated", *[n for n in (stratum, weight) if n]])
    )
    before = frame[frame["wave"] == data.baseline_wave].drop_duplicates("respondent")
    before = before[["respondent", dimension.item, *outcomes]].assign(
        **{group: lambda rows: in_group(rows[dimension.item], list(dimension.codes))}
    )
    before = before.drop(columns=dimension.item).rename(
        columns={name: f"{name}{BASELINE_SUFFIX}" for name in outcomes}
    )
    primary = {spec.name for spec in data.outcomes if spec.is_primary}
    label = _labeller(dimension)
    tables: list[pd.DataFrame] = []
    for wave in data.later_waves:
        later = frame[frame["wave"] == wave].drop_duplicates("respondent")
        working = later[[*roles, *outcomes]].merge(before, on="respondent", how="inner")
        for outcome in outcomes:
            baseline: str | None = f"{outcome}{BASELINE_SUFFIX}"
            if working[baseline].notna().sum() == 0:
                baseline = None
            used = [outcome, group, *roles, *([baseline] if baseline else [])]
            rows = working[working[used].notna().all(axis=1)]
            step = f"effects by {group} {wave} {outcome}"
            vcov = (
                study.inference.vcov_for(int(rows[cluster].nunique())) if study.clustered else "CR1"
            )
            try:
                with record_caveats(step, messages):
                    table = estimate_effect_by_group(
                        rows,
                        outcome=outcome,
                        treated="treated",
                        group=group,
                        cluster=cluster,
                        baseline=baseline,
                        stratum=stratum,
                        weight=weight,
                        vcov=vcov,
                    )
            except DesignError as error:
                messages.append((step, str(error)))
                continue
            cells = rows.groupby(["treated", group]).size()
            cells = cells.reindex(
                pd.MultiIndex.from_product([[0.0, 1.0], [0.0, 1.0]]), fill_value=0
            )
            table["group"] = table["group"].map(label)
            table.insert(0, "grouping", group)
            table.insert(0, "wave", wave)
            table["is_primary"] = outcome in primary
            table["n_smallest_cell"] = int(cells.min())
            table["specification"] = (
                f"ANCOVA: {outcome} ~ treated x {group} (at {data.baseline_wave})"
                + (f" + baseline {outcome}" if baseline else "")
                + (" + stratum fixed effects" if stratum else "")
                + (", weighted" if weight else "")
                + (
                    f"; {cluster_words(study)}"
                    if vcov == "CR1"
                    else "; CR2 errors on the cluster, Satterthwaite df, HTZ joint test"
                )
                + (", t(G-1)" if vcov == "CR1" and study.clustered else "")
            )
            tables.append(table)
    return tables
