"""Effects by decision structure: the ANCOVA effect among those who decide alone and the rest."""

from __future__ import annotations

import pandas as pd

from flows.estimation.analysis_data import AnalysisData
from flows.estimation.caveats import record_caveats
from flows.estimation.results import RESULT_TABLES
from flows.study import Study
from measurement.errors import DesignError
from measurement.heterogeneity import estimate_effect_by_group

DECISION_ITEM = "decision_who"
DECIDES_ALONE = "decides_alone"
DECIDES_ALONE_CODE = 1.0
"""``decision_who`` code of "I alone"; every other valid code means others take part."""
INTENTION_OUTCOME = "irregular_intention"
BASELINE_SUFFIX = "__baseline"
GROUP_LABELS = {"0": "others take part", "1": "decides alone"}


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["effects_by_group"]])


def decides_alone(values: pd.Series) -> pd.Series:
    """1.0 when ``decision_who`` is "I alone", 0.0 for any other answer, NaN when missing."""
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    return (numeric == DECIDES_ALONE_CODE).astype("float64").where(numeric.notna())


def _label(group: str) -> str:
    if " - " in group:
        later, reference = group.split(" - ", 1)
        return f"{GROUP_LABELS.get(later, later)} minus {GROUP_LABELS.get(reference, reference)}"
    return GROUP_LABELS.get(group, group)


def effects_by_group(
    study: Study, data: AnalysisData, messages: list[tuple[str, str]]
) -> pd.DataFrame:
    """ANCOVA effects by whether the respondent decided alone at baseline, at each later wave.

    Only for cluster-randomised panel studies whose instrument fielded ``decision_who``;
    otherwise an empty table. ``decides_alone`` is defined at baseline (1 when the answer was
    "I alone", 0 for any other answer, missing when not answered) and carried to the later
    waves by respondent. For the primary outcomes and ``irregular_intention`` the effect is
    estimated in each group with the baseline outcome and strata fixed effects, CR1 errors on
    the community, CR2 with Satterthwaite df below the study's ``few_clusters_below``
    (:func:`measurement.heterogeneity.estimate_effect_by_group`); the
    ``difference`` row is the effect among those deciding alone minus the effect among the
    others. ``n_smallest_cell`` is the smallest arm-by-group cell of complete rows.
    """
    frame = data.responses
    if (
        study.design.assignment != "cluster_randomised"
        or study.design.sampling != "panel"
        or DECISION_ITEM not in frame.columns
        or "treated" not in frame.columns
    ):
        return _empty()
    outcomes = [spec.name for spec in data.outcomes if spec.is_primary]
    if INTENTION_OUTCOME in frame.columns and INTENTION_OUTCOME not in outcomes:
        outcomes.append(INTENTION_OUTCOME)
    if not outcomes:
        return _empty()
    stratum = "stratum" if frame["stratum"].notna().any() else None
    weight = "weight" if "weight" in frame and frame["weight"].notna().any() else None
    roles = ["respondent", "cluster", "treated", *[n for n in (stratum, weight) if n]]
    before = frame[frame["wave"] == data.baseline_wave].drop_duplicates("respondent")
    before = before[["respondent", DECISION_ITEM, *outcomes]].assign(
        **{DECIDES_ALONE: lambda rows: decides_alone(rows[DECISION_ITEM])}
    )
    before = before.drop(columns=DECISION_ITEM).rename(
        columns={name: f"{name}{BASELINE_SUFFIX}" for name in outcomes}
    )
    primary = {spec.name for spec in data.outcomes if spec.is_primary}
    tables: list[pd.DataFrame] = []
    for wave in data.later_waves:
        later = frame[frame["wave"] == wave].drop_duplicates("respondent")
        working = later[[*roles, *outcomes]].merge(before, on="respondent", how="inner")
        for outcome in outcomes:
            baseline: str | None = f"{outcome}{BASELINE_SUFFIX}"
            if working[baseline].notna().sum() == 0:
                baseline = None
            used = [outcome, DECIDES_ALONE, *roles, *([baseline] if baseline else [])]
            rows = working[working[used].notna().all(axis=1)]
            vcov = study.inference.vcov_for(int(rows["cluster"].nunique()))
            try:
                with record_caveats(f"effects by who decides {wave} {outcome}", messages):
                    table = estimate_effect_by_group(
                        rows,
                        outcome=outcome,
                        treated="treated",
                        group=DECIDES_ALONE,
                        cluster="cluster",
                        baseline=baseline,
                        stratum=stratum,
                        weight=weight,
                        vcov=vcov,
                    )
            except DesignError as error:
                messages.append((f"effects by who decides {wave} {outcome}", str(error)))
                continue
            cells = rows.groupby(["treated", DECIDES_ALONE]).size()
            cells = cells.reindex(
                pd.MultiIndex.from_product([[0.0, 1.0], [0.0, 1.0]]), fill_value=0
            )
            table["group"] = table["group"].map(_label)
            table.insert(0, "grouping", DECIDES_ALONE)
            table.insert(0, "wave", wave)
            table["is_primary"] = outcome in primary
            table["n_smallest_cell"] = int(cells.min())
            table["specification"] = (
                f"ANCOVA: {outcome} ~ treated x {DECIDES_ALONE} (at {data.baseline_wave})"
                + (f" + baseline {outcome}" if baseline else "")
                + (" + stratum fixed effects" if stratum else "")
                + (", weighted" if weight else "")
                + (
                    "; CR1 errors on the community, t(G-1)"
                    if vcov == "CR1"
                    else "; CR2 errors on the community, Satterthwaite df, HTZ joint test"
                )
            )
            tables.append(table)
    if not tables:
        return _empty()
    return pd.concat(tables, ignore_index=True).reindex(columns=_empty().columns)
