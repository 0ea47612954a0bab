"""Inferential result tables: attrition, effects, baseline balance and within-arm change."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd

from flows.assignment_record import check_record_against_data, read_assignment_record
from flows.estimation.analysis_data import COMPARISON, AnalysisData
from flows.estimation.caveats import record_caveats
from flows.estimation.design_inference import (
    bootstrap_skipped,
    cluster_bootstrap,
    effects_cluster,
    inference_cluster,
    with_one_blas_thread,
)
from flows.estimation.results import RESULT_TABLES
from flows.progress import stage_progress
from flows.study import Study
from measurement.assignment_record import AssignmentRecord
from measurement.attrition import (
    attrition_table,
    differential_attrition,
    follow_up_status,
    lee_bounds,
)
from measurement.balance import BALANCE_COLUMNS, baseline_balance, joint_orthogonality
from measurement.binary import estimate_binary_effect
from measurement.change import CHANGE_COLUMNS, within_arm_change
from measurement.errors import DesignError
from measurement.multiple_testing import adjust_within_families
from measurement.ordinal import estimate_ordered_logit
from measurement.post_only import estimate_post_only_difference
from measurement.study_effects import estimate_study_effects

# Lee bounds draws: the bootstrap costs draws x baseline respondents, so above this many
# (500 draws of 200,000 respondents) a wave's bounds get fewer draws, never below
# LEE_MINIMUM_DRAWS. The draws set only the Monte Carlo error of the standard errors (about
# 1 / sqrt(2 x draws) of them: 3% at 500, 5% at 200), not the bounds; with many respondents
# that error is a share of ever smaller standard errors. The lee_bounds table states each
# row's draws.
LEE_DRAW_ROWS = 100_000_000
LEE_MINIMUM_DRAWS = 200


def lee_bounds_draws(requested: int, n_baseline: int) -> int:
    """The draws of one Lee bounds bootstrap: ``requested``, fewer above ``LEE_DRAW_ROWS``
    draws x respondents (never below ``LEE_MINIMUM_DRAWS``, nor above ``requested``)."""
    if requested * n_baseline <= LEE_DRAW_ROWS:
        return requested
    return min(requested, max(LEE_MINIMUM_DRAWS, LEE_DRAW_ROWS // max(n_baseline, 1)))


def lee_bounds_total_draws(data: AnalysisData, lee_draws: int) -> int:
    """Every Lee bounds draw :func:`attrition_results` makes (for a progress display)."""
    n_baseline = int((data.responses["wave"] == data.baseline_wave).sum())
    return len(data.later_waves) * len(data.outcomes) * lee_bounds_draws(lee_draws, n_baseline)


def attrition_results(
    study: Study,
    data: AnalysisData,
    *,
    lee_draws: int,
    seed: int,
    messages: list[tuple[str, str]],
    on_draws_done: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Follow-up rates by arm, differential attrition and Lee bounds, per later wave (panels).

    Lee bounds take :func:`lee_bounds_draws` draws; ``on_draws_done(count)`` hears of them.
    """
    cluster = inference_cluster(study)
    # The columns read below only: follow_up_status copies the baseline rows of the frame it
    # is given, once per later wave (0.5 GB of every column at 1,000,000 per wave).
    kept = ["respondent", "wave", "treated", cluster, "stratum", *(s.name for s in data.outcomes)]
    frame = data.responses[list(dict.fromkeys(kept))]
    rates, tests, bounds = [], [], []
    stratum = "stratum" if frame["stratum"].notna().any() else None
    characteristics = [
        spec.name for spec in data.outcomes if spec.is_primary and spec.kind != "index"
    ]
    for offset, wave in enumerate(data.later_waves):
        status = follow_up_status(
            frame,
            respondent="respondent",
            wave="wave",
            baseline_wave=data.baseline_wave,
            follow_up_wave=wave,
        )
        try:
            table = attrition_table(
                status,
                followed_up="followed_up",
                treated="treated",
                cluster=cluster,
                stratum=stratum,
            )
            table.insert(0, "wave", wave)
            rates.append(table)
        except DesignError as error:
            messages.append((f"attrition {wave}", str(error)))
        usable = [name for name in characteristics if status[name].notna().any()]
        if usable:
            try:
                test = differential_attrition(
                    status,
                    followed_up="followed_up",
                    treated="treated",
                    characteristics=usable,
                    cluster=cluster,
                    stratum=stratum,
                ).tidy()
                test.insert(0, "wave", wave)
                test["characteristics"] = ", ".join(usable)
                tests.append(test)
            except DesignError as error:
                messages.append((f"differential attrition {wave}", str(error)))
        later = frame.loc[frame["wave"] == wave].drop_duplicates("respondent")
        keys = ["respondent", "treated", cluster, *([stratum] if stratum else [])]
        with_outcome = _with_later_outcome(status[list(dict.fromkeys(keys))], later)
        for position, spec in enumerate(data.outcomes):
            followed = with_outcome(spec.name)
            try:
                with record_caveats(f"lee bounds {wave} {spec.name}", messages):
                    result = _lee_bounds_within_strata(
                        followed,
                        outcome=spec.name,
                        cluster=cluster,
                        stratum=stratum,
                        draws=lee_bounds_draws(lee_draws, len(followed)),
                        seed=seed + 1000 * offset + position,
                        messages=messages,
                        on_draws_done=on_draws_done,
                    )
            except DesignError as error:
                messages.append((f"lee bounds {wave} {spec.name}", str(error)))
                continue
            result.insert(0, "wave", wave)
            bounds.append(result)

    def stack(parts: list[pd.DataFrame], table: str) -> pd.DataFrame:
        if parts:
            return pd.concat(parts, ignore_index=True)
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES[table]])

    return stack(rates, "attrition"), stack(tests, "attrition_tests"), stack(bounds, "lee_bounds")


def _with_later_outcome(
    baseline: pd.DataFrame, later: pd.DataFrame
) -> Callable[[str], pd.DataFrame]:
    """``outcome -> baseline`` with the later wave's ``outcome`` of each respondent (NaN when
    not interviewed then), as a left merge on ``respondent`` gives it (``later`` holds each
    respondent once).

    The respondents are matched once per wave, not once per outcome: a merge per outcome
    hashed the string identifiers again each time (46 merges, 7 of the 37 seconds of the
    attrition tables at 100,000 per wave). A frame whose identifiers are missing somewhere,
    or an outcome not float64, is merged as before.
    """
    baseline = baseline.reset_index(drop=True)
    matched = not baseline["respondent"].isna().any() and not later["respondent"].isna().any()
    rows = (
        pd.Index(later["respondent"]).get_indexer(baseline["respondent"])
        if matched
        else np.empty(0, dtype=np.intp)
    )
    interviewed = rows >= 0

    def with_outcome(outcome: str) -> pd.DataFrame:
        if not matched or outcome in baseline or later[outcome].dtype != np.float64:
            return baseline.merge(later[["respondent", outcome]], on="respondent", how="left")
        values = later[outcome].to_numpy()
        column = np.full(len(baseline), np.nan)
        column[interviewed] = values[rows[interviewed]]
        followed = baseline.copy(deep=False)
        followed[outcome] = column
        return followed

    return with_outcome


def _cluster(frame: pd.DataFrame) -> str | None:
    """The cluster role when the design has clusters, else None (individually randomised)."""
    return "cluster" if "cluster" in frame and frame["cluster"].notna().any() else None


def _joint_vcov(study: Study, frame: pd.DataFrame) -> Literal["CR1", "CR2", "HC2"]:
    """CR2 (HTZ Wald tests) below the study's cluster threshold, else the study's choice;
    HC2 without clusters."""
    if _cluster(frame) is None:
        return "HC2"
    return study.inference.vcov_for(int(frame["cluster"].nunique()))


def _lee_bounds_within_strata(
    followed: pd.DataFrame,
    *,
    outcome: str,
    cluster: str,
    stratum: str | None,
    draws: int,
    seed: int,
    messages: list[tuple[str, str]],
    on_draws_done: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Lee bounds trimmed within strata; pooled (with a message) when a stratum lacks an arm."""
    bounds = partial(
        lee_bounds,
        followed,
        outcome=outcome,
        treated="treated",
        cluster=cluster,
        draws=draws,
        seed=seed,
        on_draws_done=on_draws_done,
    )
    if stratum is not None:
        try:
            return bounds(stratum=stratum).tidy()
        except DesignError as error:
            messages.append((f"lee bounds {outcome}", f"{error} Pooled bounds reported."))
    return bounds().tidy()


def _smallest_cells(frame: pd.DataFrame, outcome: str, waves: Sequence[str]) -> int:
    """The fewest respondents with an answer in any compared wave-by-arm cell."""
    return smallest_cells(frame, [outcome], waves)[outcome]


def smallest_cells(
    frame: pd.DataFrame, outcomes: Sequence[str], waves: Sequence[str]
) -> dict[str, int]:
    """:func:`_smallest_cells` of several outcomes, the compared rows found and grouped once.

    0 when a wave-by-arm cell holds no answer (or no row) of the outcome.
    """
    names = list(dict.fromkeys(outcomes))
    rows = frame.loc[frame["wave"].isin(waves), ["wave", "arm", *names]]
    answered = rows[names].notna().assign(wave=rows["wave"], arm=rows["arm"])
    counts = answered.groupby(["wave", "arm"]).sum()
    expected = len(waves) * 2
    return {
        name: int(counts[name].min()) if int((counts[name] > 0).sum()) == expected else 0
        for name in names
    }


@with_one_blas_thread
def effect_estimates(
    study: Study,
    data: AnalysisData,
    *,
    bootstrap_draws: int,
    seed: int,
    messages: list[tuple[str, str]],
    reliability_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """ANCOVA (panels) and difference-in-differences of every outcome, each later wave vs baseline.

    Outcome families are the study's; the summary indices form their own family
    ("summary_indices") and the primary outcomes keep the family they were declared in.
    """
    frame = data.responses
    if study.design.assignment == "pre_post" or not (frame["arm"] == COMPARISON).any():
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["estimates"]])
    low: dict[str, list[str]] = {}
    if reliability_table is not None and not reliability_table.empty:
        flagged = reliability_table[reliability_table["below_threshold"].astype(bool)]
        for row in flagged.itertuples(index=False):
            low.setdefault(str(row.construct), []).append(
                f"low reliability (alpha {row.estimate:.2f} at {row.wave})"
            )
    outcomes = [
        {
            "outcome": spec.name,
            "construct": spec.family if spec.kind == "index" else spec.name,
            "family": "summary_indices" if spec.kind == "index" else spec.family,
            "warnings": low.get(spec.name, [])[:1],
        }
        for spec in data.outcomes
    ]
    primary = {spec.name for spec in data.outcomes if spec.is_primary}
    # A mask, not the baseline rows: a copy of every column stayed alive through the effects.
    at_baseline = (frame["wave"] == data.baseline_wave).to_numpy()
    post_only = [
        entry for entry in outcomes if frame[str(entry["outcome"])][at_baseline].notna().sum() == 0
    ]
    outcomes = [entry for entry in outcomes if entry not in post_only]
    roles = ["respondent", "cluster", "unit", "stratum", "weight", "treated", "wave", "arm"]
    # A slim frame: the effect functions copy their input, and the full frame is wide.
    frame = frame[[*roles, *(str(entry["outcome"]) for entry in outcomes)]]
    estimators = ["ancova", "did"] if study.design.sampling == "panel" else ["did"]
    record = read_assignment_record(study)
    if record is not None:
        check_record_against_data(record, frame)
    stratum = "stratum" if frame["stratum"].notna().any() else None
    weight = "weight" if "weight" in frame and frame["weight"].notna().any() else None
    n_clusters = int(frame["cluster"].nunique()) if study.clustered else 0
    bootstrap = cluster_bootstrap(study, n_clusters)
    if study.clustered and not bootstrap and bootstrap_draws:
        messages.append(("effects", bootstrap_skipped(study, n_clusters)))
    tables = []
    for wave in data.later_waves:
        tables.append(
            post_only_estimates(
                study, data, post_only, wave=wave, primary=primary, messages=messages
            )
        )
    n_comparisons = len(outcomes) * len(data.later_waves)
    clustered = sum(effects_cluster(study, estimator) is not None for estimator in estimators)
    # The total counts the draws of every estimate (readers took it for one estimate's draws).
    with stage_progress(
        "wild bootstrap and randomization",
        effect_draws_total(
            study,
            estimators,
            n_outcomes=n_comparisons,
            bootstrap_draws=bootstrap_draws if bootstrap else 0,
            randomization_draws=bootstrap_draws,
        ),
        counting=f"draws across {clustered * n_comparisons} estimates",
    ) as draws_done:
        for offset, wave in enumerate(data.later_waves):
            if not outcomes:
                break
            tables.extend(
                _effects_at_wave(
                    study,
                    data,
                    frame,
                    outcomes,
                    wave=wave,
                    offset=offset,
                    estimators=estimators,
                    primary=primary,
                    stratum=stratum,
                    weight=weight,
                    bootstrap_draws=bootstrap_draws if bootstrap else 0,
                    randomization_draws=bootstrap_draws,
                    seed=seed,
                    record=record,
                    messages=messages,
                    on_draws_done=draws_done,
                )
            )
    kept = [table for table in tables if not table.empty]
    if not kept:
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["estimates"]])
    return _with_post_only_in_families(pd.concat(kept, ignore_index=True), estimators[0])


def effect_draws_total(
    study: Study,
    estimators: Sequence[str],
    *,
    n_outcomes: int,
    bootstrap_draws: int,
    randomization_draws: int,
) -> int:
    """Every wild bootstrap and randomization draw :func:`effect_estimates` makes for
    ``n_outcomes`` outcome-by-wave comparisons (for a progress display): both kinds need the
    estimator's cluster."""
    clustered = sum(effects_cluster(study, estimator) is not None for estimator in estimators)
    return clustered * n_outcomes * (bootstrap_draws + randomization_draws)


def _effects_at_wave(
    study: Study,
    data: AnalysisData,
    frame: pd.DataFrame,
    outcomes: Sequence[Mapping[str, object]],
    *,
    wave: str,
    offset: int,
    estimators: list[str],
    primary: set[str],
    stratum: str | None,
    weight: str | None,
    bootstrap_draws: int,
    randomization_draws: int,
    seed: int,
    record: AssignmentRecord | None,
    messages: list[tuple[str, str]],
    on_draws_done: Callable[[int], None],
) -> list[pd.DataFrame]:
    """Each estimator's effects at one later wave, then the ordinal and binary checks."""
    tables = []
    for number, estimator in enumerate(estimators):
        with record_caveats(f"effects {estimator} {wave}", messages):
            table = estimate_study_effects(
                frame,
                outcomes=outcomes,
                treated="treated",
                cluster=effects_cluster(study, estimator),
                wave="wave",
                waves=(data.baseline_wave, wave),
                estimator=estimator,  # type: ignore[arg-type]
                respondent="respondent" if study.design.sampling == "panel" else None,
                stratum=stratum,
                weight=weight,
                bootstrap_draws=bootstrap_draws,
                randomization_draws=randomization_draws,
                seed=seed + 100 * offset + number,
                few_clusters_below=study.inference.few_clusters_below,
                few_clusters_method=study.inference.few_clusters_method,
                many_clusters_method=study.inference.many_clusters_method,
                rerandomization=record,
                on_draws_done=on_draws_done,
            )
        table["wave"] = wave
        table["is_primary"] = table["outcome"].isin(primary)
        smallest = smallest_cells(frame, list(table["outcome"]), (data.baseline_wave, wave))
        table["n_smallest_cell"] = [smallest[outcome] for outcome in table["outcome"]]
        tables.append(table)
    tables.append(
        ordinal_robustness(study, data, frame, wave=wave, stratum=stratum, messages=messages)
    )
    tables.append(
        binary_robustness(study, data, frame, wave=wave, stratum=stratum, messages=messages)
    )
    return tables


def _with_post_only_in_families(table: pd.DataFrame, main: str) -> pd.DataFrame:
    """Q-values within each family and wave over the main estimator's and post-only rows.

    A post-only outcome is a hypothesis of its family like the outcomes with a baseline, so
    the family's q-values at a wave count it; the other estimator's rows keep their own.
    """
    if not (table["estimator"] == "post_only_difference").any():
        return table
    for wave in table["wave"].unique():
        rows = table.index[
            (table["wave"] == wave) & table["estimator"].isin([main, "post_only_difference"])
        ]
        adjusted = adjust_within_families(
            table.loc[rows].assign(
                p_value_primary=pd.to_numeric(table.loc[rows, "p_value_primary"]).astype(float)
            ),
            family="family",
            p_value="p_value_primary",
        )
        table.loc[rows, "adjusted_p_value"] = adjusted["q_value_bh"].to_numpy()
        table.loc[rows, "q_value"] = adjusted["q_value_sharpened"].to_numpy()
    return table


def post_only_estimates(
    study: Study,
    data: AnalysisData,
    outcomes: Sequence[Mapping[str, object]],
    *,
    wave: str,
    primary: set[str],
    messages: list[tuple[str, str]],
) -> pd.DataFrame:
    """Effects on outcomes measured only after the campaign, at one later wave.

    The difference in means adjusted for the declared balance covariates (measured at
    baseline in a panel, at the wave in a cross-section) and strata
    (:func:`measurement.post_only.estimate_post_only_difference`). Their primary inference
    is the estimator's own: HC2 with t(N-K) without clusters, CR1 with t(G-1) with clusters
    (no bootstrap or randomization inference); their q-values are set with their family's
    in :func:`_with_post_only_in_families`.
    """
    if not outcomes:
        return pd.DataFrame()
    frame = data.responses
    stratum = "stratum" if frame["stratum"].notna().any() else None
    weight = "weight" if "weight" in frame and frame["weight"].notna().any() else None
    declared = [name for name in study.analysis.balance_covariates if name in frame.columns]
    later = frame[frame["wave"] == wave]
    if study.design.sampling == "panel":
        later = later.drop_duplicates("respondent")
        before = frame[frame["wave"] == data.baseline_wave].drop_duplicates("respondent")
        later = later.drop(columns=declared).merge(
            before[["respondent", *declared]], on="respondent", how="left"
        )
    covariates = [name for name in declared if later[name].dropna().nunique() > 1]
    rows = []
    for entry in outcomes:
        outcome = str(entry["outcome"])
        step = f"post-only effect {wave} {outcome}"
        try:
            with record_caveats(step, messages):
                effect = estimate_post_only_difference(
                    later,
                    outcome=outcome,
                    treated="treated",
                    cluster=effects_cluster(study),
                    vcov=None if study.clustered else "HC2",
                    stratum=stratum,
                    covariates=covariates,
                    weight=weight,
                )
        except DesignError as error:
            messages.append((step, str(error)))
            continue
        cells = later[later[outcome].notna()].groupby("treated").size()
        rows.append(
            {
                "outcome": outcome,
                "construct": entry["construct"],
                "family": entry["family"],
                "waves_compared": f"{wave} only (no baseline)",
                "estimator": effect.estimator,
                "term": effect.term,
                "estimate": effect.estimate,
                "std_error": effect.std_error,
                "statistic": effect.statistic,
                "conf_low": effect.conf_low,
                "conf_high": effect.conf_high,
                "p_value": effect.p_value,
                "df": effect.df,
                "p_value_primary": effect.p_value,
                "conf_low_primary": effect.conf_low,
                "conf_high_primary": effect.conf_high,
                "primary_inference": "cr1" if study.clustered else "hc2",
                "n_obs": effect.n_obs,
                "n_clusters": effect.n_clusters,
                "comparison_mean": effect.comparison_mean,
                "standardized_effect": effect.standardized_effect,
                "specification": effect.specification,
                "inference": f"primary: {effect.inference}",
                "notes": "; ".join(effect.notes),
                "warnings": "; ".join(effect.warnings),
                "wave": wave,
                "is_primary": outcome in primary,
                "n_smallest_cell": int(cells.reindex([0.0, 1.0], fill_value=0).min()),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True)
class _BaselineLink:
    """The later wave's rows with each respondent's (first) baseline row found once.

    ``with_baseline`` gives the frame the left merge of the later rows with the baseline
    answers (one per respondent) gave: the later rows in order, index reset, the baseline
    answer last. The merge copied every column of the later wave for each outcome.
    """

    later: pd.DataFrame
    baseline: pd.DataFrame
    positions: np.ndarray
    """Per later row, its respondent's first baseline row (-1: none)."""

    @classmethod
    def of(cls, frame: pd.DataFrame, later: pd.DataFrame, baseline_wave: str) -> _BaselineLink:
        earlier = frame.loc[frame["wave"] == baseline_wave].drop_duplicates("respondent")
        positions = pd.Index(earlier["respondent"]).get_indexer(later["respondent"])
        return cls(later=later.reset_index(drop=True), baseline=earlier, positions=positions)

    def with_baseline(self, outcome: str, name: str) -> pd.DataFrame:
        values = pd.api.extensions.take(
            self.baseline[outcome].array, self.positions, allow_fill=True
        )
        working = self.later.copy(deep=False)
        working[name] = values
        return working


ORDINAL_NOTE = (
    "robustness check: ordered logit (proportional odds); the estimate is a log-odds ratio of "
    "answering in a higher category, not a difference in means"
)


def ordinal_robustness(
    study: Study,
    data: AnalysisData,
    frame: pd.DataFrame,
    *,
    wave: str,
    stratum: str | None,
    messages: list[tuple[str, str]],
) -> pd.DataFrame:
    """Ordered-logit rows for each Likert outcome at one later wave, beside the linear ones.

    Panels control for the baseline answer (as ANCOVA does); repeated cross-sections compare
    the arms at the wave. These rows carry no multiple-testing adjustment: they check the
    linear estimates, they do not add hypotheses.
    """
    likert = [
        spec
        for spec in data.outcomes
        if spec.kind == "item" and spec.scale == "likert" and spec.name in frame.columns
    ]
    later = frame[frame["wave"] == wave]
    panel = study.design.sampling == "panel"
    linked = _BaselineLink.of(frame, later, data.baseline_wave) if panel else None
    rows = []
    for spec in likert:
        working = later
        baseline = None
        if linked is not None:
            baseline = f"{spec.name}__baseline"
            working = linked.with_baseline(spec.name, baseline)
        try:
            with record_caveats(f"ordered logit {spec.name} {wave}", messages):
                effect = estimate_ordered_logit(
                    working,
                    outcome=spec.name,
                    treated="treated",
                    cluster=inference_cluster(study),
                    baseline=baseline,
                    stratum=stratum,
                )
        except DesignError as error:
            messages.append((f"ordered logit {spec.name} {wave}", str(error)))
            continue
        rows.append(
            {
                "outcome": spec.name,
                "construct": spec.name,
                "family": spec.family,
                "waves_compared": f"{data.baseline_wave} -> {wave}",
                "estimator": "ordered_logit",
                "term": effect.term,
                "estimate": effect.estimate,
                "std_error": effect.std_error,
                "statistic": effect.statistic,
                "conf_low": effect.conf_low,
                "conf_high": effect.conf_high,
                "p_value": effect.p_value,
                "n_obs": effect.n_obs,
                "n_clusters": effect.n_clusters,
                "specification": effect.specification,
                "inference": effect.inference,
                "notes": "; ".join(effect.notes),
                "warnings": "; ".join([ORDINAL_NOTE, *effect.warnings]),
                "wave": wave,
                "is_primary": spec.is_primary,
                "n_smallest_cell": _smallest_cells(frame, spec.name, (data.baseline_wave, wave)),
            }
        )
    return pd.DataFrame(rows)


BINARY_ROBUSTNESS_NOTE = (
    "robustness check: {link} average marginal effect of assignment (a difference in "
    "probabilities, comparable with the linear probability model row)"
)


def binary_robustness(
    study: Study,
    data: AnalysisData,
    frame: pd.DataFrame,
    *,
    wave: str,
    stratum: str | None,
    messages: list[tuple[str, str]],
) -> pd.DataFrame:
    """Logit and probit average-marginal-effect rows for each 0/1 outcome at one later wave.

    They sit beside the linear probability model's rows (panels control for the baseline
    answer); like the ordered-logit rows they carry no multiple-testing adjustment. Their
    cluster-robust variance is the one the study's inference reads for G clusters (CR2 below
    the few-cluster threshold, else CR1), named in the row's specification.
    """
    # Outcomes measured only after the campaign are not in the frame (no baseline to adjust for).
    binary = [
        spec
        for spec in data.outcomes
        if spec.kind == "item" and spec.scale == "binary" and spec.name in frame.columns
    ]
    later = frame[frame["wave"] == wave]
    # Individually randomised designs have no cluster: HC1 errors then.
    cluster = "cluster" if "cluster" in frame and frame["cluster"].notna().any() else None
    vcov = study.inference.vcov_for(int(later["cluster"].nunique())) if cluster else "CR1"
    panel = study.design.sampling == "panel"
    linked = _BaselineLink.of(frame, later, data.baseline_wave) if panel else None
    rows = []
    for spec in binary:
        working = later
        baseline = None
        if linked is not None:
            baseline = f"{spec.name}__baseline"
            working = linked.with_baseline(spec.name, baseline)
        for link in ("logit", "probit"):
            label = f"{link} {spec.name} {wave}"
            try:
                with record_caveats(label, messages):
                    effect = estimate_binary_effect(
                        working,
                        outcome=spec.name,
                        treated="treated",
                        cluster=cluster,
                        baseline=baseline,
                        stratum=stratum,
                        link=link,
                        vcov=vcov,
                    )
            except DesignError as error:
                messages.append((label, str(error)))
                continue
            rows.append(
                {
                    "outcome": spec.name,
                    "construct": spec.name,
                    "family": spec.family,
                    "waves_compared": f"{data.baseline_wave} -> {wave}",
                    "estimator": effect.estimator,
                    "term": effect.term,
                    "estimate": effect.estimate,
                    "std_error": effect.std_error,
                    "statistic": effect.statistic,
                    "conf_low": effect.conf_low,
                    "conf_high": effect.conf_high,
                    "p_value": effect.p_value,
                    "n_obs": effect.n_obs,
                    "n_clusters": effect.n_clusters,
                    "specification": f"{effect.specification}; {vcov} errors"
                    if cluster
                    else effect.specification,
                    "inference": effect.inference,
                    "notes": "; ".join(effect.notes),
                    "warnings": "; ".join(
                        [BINARY_ROBUSTNESS_NOTE.format(link=link), *effect.warnings]
                    ),
                    "wave": wave,
                    "is_primary": spec.is_primary,
                    "n_smallest_cell": _smallest_cells(
                        frame, spec.name, (data.baseline_wave, wave)
                    ),
                }
            )
    return pd.DataFrame(rows)


@with_one_blas_thread
def balance_results(
    study: Study, data: AnalysisData, messages: list[tuple[str, str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baseline balance of the outcomes and background items, and the joint orthogonality test.

    Covariates: every non-index outcome measured at baseline and the study's declared
    ``analysis.balance_covariates``, one row per respondent; what is not declared is "not
    assessed" (a caveat says so).
    """
    frame = data.responses
    empty = (
        pd.DataFrame(columns=BALANCE_COLUMNS),
        pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["balance_joint"]]),
    )
    if study.design.assignment == "pre_post" or not (frame["arm"] == COMPARISON).any():
        return empty
    baseline = frame[frame["wave"] == data.baseline_wave]
    if study.design.sampling == "panel":
        baseline = baseline.drop_duplicates("respondent")
    background = list(study.analysis.balance_covariates)
    if not background:
        messages.append(
            (
                "balance",
                "background characteristics not assessed: the study file declares no "
                "analysis.balance_covariates; only the outcomes measured at baseline are "
                "compared.",
            )
        )
    covariates = [spec.name for spec in data.outcomes if spec.kind != "index"]
    covariates += [name for name in background if name in baseline.columns]
    covariates = [
        name
        for name in dict.fromkeys(covariates)
        if name in baseline.columns and baseline[name].notna().sum() > 1
    ]
    if not covariates:
        messages.append(
            (
                "balance",
                "not assessed: no outcome or declared balance covariate was measured at "
                f"the baseline wave {data.baseline_wave!r}.",
            )
        )
        return empty
    stratum = "stratum" if baseline["stratum"].notna().any() else None
    cluster = inference_cluster(study)
    try:
        with record_caveats("balance", messages):
            table = baseline_balance(
                baseline,
                covariates=covariates,
                treated="treated",
                cluster=cluster,
                stratum=stratum,
            )
    except DesignError as error:
        messages.append(("balance", str(error)))
        return empty
    joint_covariates = [
        spec.name for spec in data.outcomes if spec.is_primary and spec.name in covariates
    ]
    joint_covariates += [name for name in background if name in covariates]
    if not joint_covariates:
        return table, empty[1]
    try:
        with record_caveats("balance joint test", messages):
            joint = joint_orthogonality(
                baseline,
                covariates=joint_covariates,
                treated="treated",
                cluster=_cluster(baseline) if study.clustered else None,
                stratum=stratum,
                vcov=_joint_vcov(study, baseline),
            ).tidy()
    except DesignError as error:
        messages.append(("balance joint test", str(error)))
        joint = empty[1]
    return table, joint


@with_one_blas_thread
def change_results(
    study: Study, data: AnalysisData, messages: list[tuple[str, str]]
) -> pd.DataFrame:
    """Descriptive change of every outcome within each arm, baseline to each later wave.

    Cluster-robust (CR2, Satterthwaite df) when the design has clusters.
    """
    frame = data.responses
    # A mask, not the baseline rows: a copy of every column stayed alive through the change.
    at_baseline = (frame["wave"] == data.baseline_wave).to_numpy()
    outcomes = [spec.name for spec in data.outcomes if frame[spec.name][at_baseline].notna().any()]
    post_only = [spec.name for spec in data.outcomes if spec.name not in outcomes]
    if post_only:
        messages.append(
            (
                "change",
                f"not estimable: no baseline for {post_only} (measured only after the "
                "campaign); left out of the within-arm change.",
            )
        )
    if not outcomes:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    panel = study.design.sampling == "panel"
    tables = []
    for wave in data.later_waves:
        try:
            with record_caveats(f"change {wave}", messages):
                # The two compared waves' rows only: the change selects them anyway, and
                # taken from the whole frame the selection copied every wave's outcomes.
                compared = frame["wave"].isin([data.baseline_wave, wave]).to_numpy()
                table = within_arm_change(
                    frame.loc[compared, ["respondent", "wave", "arm", "cluster", *outcomes]],
                    outcomes=outcomes,
                    wave="wave",
                    before=data.baseline_wave,
                    after=wave,
                    design="panel" if panel else "cross_section",
                    respondent="respondent" if panel else None,
                    arm="arm",
                    cluster=_cluster(frame),
                )
        except DesignError as error:
            messages.append((f"change {wave}", str(error)))
            continue
        tables.append(table)
    if not tables:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    return pd.concat(tables, ignore_index=True)
