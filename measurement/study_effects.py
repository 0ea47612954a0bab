"""Every pre-specified effect of a study in one tidy table, one row per estimate."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from measurement.assignment_record import AssignmentRecord
from measurement.bias_reduced import BiasReduced
from measurement.effects import (
    EffectEstimate,
    EffectModel,
    specify_ancova,
    specify_did,
    summarize_effect,
)
from measurement.errors import DesignError, FewClustersWarning
from measurement.linear_model import Design, SmallSample, fit_design_variances, prepare_design
from measurement.multiple_testing import adjust_within_families, stepdown_p_values
from measurement.randomization_inference import randomization_inference_effect
from measurement.rerandomization import BalanceRule
from measurement.wild_bootstrap import BootstrapWeights, wild_bootstrap_effect

__all__ = [
    "EFFECT_COLUMNS",
    "FEW_CLUSTERS_BELOW",
    "PRIMARY_INFERENCES",
    "FewClustersMethod",
    "ManyClustersMethod",
    "estimate_study_effects",
    "primary_inference",
]

FewClustersMethod = Literal["wild_bootstrap", "cr2"]
ManyClustersMethod = Literal["cr1", "cr2"]
FEW_CLUSTERS_BELOW = 42
"""Default threshold: with fewer clusters the primary inference is the few-clusters method."""
PRIMARY_INFERENCES = ("wild_bootstrap", "cr2_satterthwaite", "cr1", "hc2")
"""Values of the ``primary_inference`` column."""

EFFECT_COLUMNS = [
    "outcome",
    "construct",
    "family",
    "waves_compared",
    "estimator",
    "term",
    "estimate",
    "std_error",
    "statistic",
    "conf_low",
    "conf_high",
    "p_value",
    "df",
    "std_error_cr2",
    "df_cr2",
    "p_value_cr2",
    "conf_low_cr2",
    "conf_high_cr2",
    "p_value_wild_bootstrap",
    "conf_low_wild_bootstrap",
    "conf_high_wild_bootstrap",
    "p_value_randomization",
    "p_value_primary",
    "conf_low_primary",
    "conf_high_primary",
    "primary_inference",
    "adjusted_p_value",
    "q_value",
    "p_value_romano_wolf",
    "p_value_westfall_young",
    "n_obs",
    "n_clusters",
    "comparison_mean",
    "standardized_effect",
    "specification",
    "inference",
    "notes",
    "warnings",
]
"""Columns of :func:`estimate_study_effects`.

``estimate`` ... ``p_value`` and ``df`` are CR1 with a t(G-1) reference (HC1 with t(N-K)
without clusters); ``*_cr2`` the bias-reduced CR2 variance with Satterthwaite degrees of
freedom (``df_cr2``); ``*_wild_bootstrap`` the wild cluster restricted bootstrap (interval by
test inversion); ``p_value_randomization`` the randomization-inference p-value (statistic:
the coefficient). ``p_value_primary``, ``conf_low_primary`` and ``conf_high_primary`` are the
design's primary inference, named in ``primary_inference`` (one of
:data:`PRIMARY_INFERENCES`): below ``few_clusters_below`` clusters the few-clusters method
(``wild_bootstrap`` or ``cr2_satterthwaite``), from that many on the many-clusters method
(``cr1`` or ``cr2_satterthwaite``), and ``hc2`` (t(N-K)) without clusters.
``adjusted_p_value`` is the Benjamini-Hochberg q-value and ``q_value`` Anderson's (2008)
sharpened q-value, both within ``family`` and computed from ``p_value_primary`` (or the
column named by ``adjust``) by :func:`measurement.multiple_testing.adjust_within_families`;
``p_value_romano_wolf`` and ``p_value_westfall_young`` are the step-down family-wise
adjusted p-values from one wild cluster bootstrap shared by the family's outcomes (with at
least two estimated outcomes, clusters and ``bootstrap_draws`` > 0): their null distribution
is the bootstrap's, whatever the primary inference (their one-outcome analogue is
``p_value_wild_bootstrap``). ``standardized_effect`` is ``estimate`` over the comparison arm's
baseline standard deviation; ``warnings`` lists caveats (few clusters, high or differential
attrition, those passed with the outcome such as low reliability, or why a row could not be
estimated).
"""


def primary_inference(
    n_clusters: int | None,
    *,
    few_clusters_below: int = FEW_CLUSTERS_BELOW,
    few_clusters_method: FewClustersMethod = "cr2",
    many_clusters_method: ManyClustersMethod = "cr1",
    bootstrap: bool = True,
) -> str:
    """The primary inference of a design with ``n_clusters`` clusters (None: no clusters).

    Returns one of :data:`PRIMARY_INFERENCES`. Without clusters (individually randomised)
    it is ``"hc2"``; with fewer than ``few_clusters_below`` clusters the few-clusters method
    (``"wild_bootstrap"``, or ``"cr2_satterthwaite"`` when chosen or when the bootstrap is
    skipped); otherwise the many-clusters method.
    """
    if n_clusters is None:
        return "hc2"
    if n_clusters < few_clusters_below:
        if few_clusters_method == "wild_bootstrap" and bootstrap:
            return "wild_bootstrap"
        return "cr2_satterthwaite"
    return "cr1" if many_clusters_method == "cr1" else "cr2_satterthwaite"


HIGH_ATTRITION = 0.20
DIFFERENTIAL_ATTRITION = 0.05


def _outcome_specs(outcomes: Sequence[Mapping[str, object] | str]) -> list[dict[str, object]]:
    specs = []
    for entry in outcomes:
        spec: dict[str, object] = {"outcome": entry} if isinstance(entry, str) else dict(entry)
        if "outcome" not in spec:
            raise ValueError(
                f"estimate_study_effects: an outcome specification lacks the key 'outcome'; "
                f"found {spec!r}. Pass dicts like {{'outcome': 'trust_iom', 'construct': "
                "'trust_official', 'family': 'trust'}."
            )
        spec.setdefault("construct", spec["outcome"])
        spec.setdefault("family", spec["construct"])
        specs.append(spec)
    return specs


def _attrition_caveats(
    responses: pd.DataFrame,
    *,
    respondent: str,
    wave_labels: pd.Series,
    waves: tuple[str, str],
    treated: str,
) -> list[str]:
    # Respondent identifiers as integer codes, once: matching the baseline's identifiers
    # against the follow-up's as (Arrow) strings iterated them in Python.
    codes, labels = pd.factorize(responses[respondent], use_na_sentinel=False)
    at_baseline = np.flatnonzero((wave_labels == waves[0]).to_numpy(dtype=bool, na_value=False))
    at_follow_up = (wave_labels == waves[1]).to_numpy(dtype=bool, na_value=False)
    base_codes = codes[at_baseline]
    first = ~pd.Series(base_codes).duplicated().to_numpy()
    followed = np.zeros(len(labels), dtype=bool)
    followed[codes[at_follow_up]] = True
    base = pd.DataFrame(
        {
            treated: responses[treated].iloc[at_baseline[first]].reset_index(drop=True),
            "followed_up": followed[base_codes[first]].astype(float),
        }
    )
    rates = base.groupby(treated)["followed_up"].mean()
    caveats = []
    overall = 1 - float(base["followed_up"].mean()) if len(base) else float("nan")
    if overall > HIGH_ATTRITION:
        caveats.append(f"high attrition ({overall:.0%} of baseline respondents not followed up)")
    if len(rates) == 2:
        gap = float(rates.iloc[1] - rates.iloc[0])
        if abs(gap) > DIFFERENTIAL_ATTRITION:
            caveats.append(
                f"differential attrition (follow-up rate {gap * 100:+.1f} points in the "
                "campaign arm)"
            )
    return caveats


def _stepdown(
    table: pd.DataFrame,
    models: dict[str, EffectModel],
    *,
    draws: int,
    weights: BootstrapWeights,
    seed: np.random.Generator,
    small_sample: SmallSample,
) -> None:
    """Fill the Romano-Wolf and Westfall-Young columns family by family, in place.

    Every model of one estimator is built on the same rows in the same order (the follow-up
    wave for ANCOVA, the stacked waves for DiD), so the family's working frames are joined
    column by column and share one bootstrap weight per cluster.
    """
    for _family, rows in table.groupby("family", sort=False):
        outcomes = [name for name in rows["outcome"] if name in models]
        if len(outcomes) < 2:
            continue
        first = models[outcomes[0]]
        if first.cluster is None:
            continue
        combined = first.frame.copy()
        for name in outcomes[1:]:
            frame = models[name].frame
            for column in frame.columns.difference(combined.columns):
                combined[column] = frame[column].to_numpy()
        adjusted = stepdown_p_values(
            combined,
            outcomes=outcomes,
            term=first.term,
            regressors={name: models[name].regressors for name in outcomes},
            cluster=first.cluster,
            fixed_effects=first.fixed_effects,
            weight=first.weight,
            draws=draws,
            weights=weights,
            seed=seed,
            small_sample=small_sample,
        ).set_index("outcome")
        for index, outcome in rows["outcome"].items():
            if outcome in adjusted.index:
                table.loc[index, "p_value_romano_wolf"] = adjusted.loc[
                    outcome, "p_value_romano_wolf"
                ]
                table.loc[index, "p_value_westfall_young"] = adjusted.loc[
                    outcome, "p_value_westfall_young"
                ]


def estimate_study_effects(
    responses: pd.DataFrame,
    *,
    outcomes: Sequence[Mapping[str, object] | str],
    treated: str,
    cluster: str | None,
    wave: str,
    waves: tuple[str, str],
    estimator: Literal["ancova", "did"] = "ancova",
    respondent: str | None = None,
    stratum: str | None = None,
    covariates: Sequence[str] = (),
    weight: str | None = None,
    bootstrap_draws: int = 9999,
    bootstrap_weights: BootstrapWeights = "auto",
    randomization_draws: int = 9999,
    adjust: str = "p_value_primary",
    confidence: float = 0.95,
    seed: int | None = None,
    small_sample: SmallSample = "stata",
    few_clusters_below: int = FEW_CLUSTERS_BELOW,
    few_clusters_method: FewClustersMethod = "cr2",
    many_clusters_method: ManyClustersMethod = "cr1",
    rerandomization: BalanceRule | AssignmentRecord | None = None,
    on_draws_done: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Estimate every outcome's intention-to-treat effect with all its inference.

    For each outcome: the ANCOVA (panels: follow-up outcome on treatment, the respondent's
    baseline outcome and stratum fixed effects) or the difference-in-differences
    (``treated x post`` on the two waves, panels or repeated cross-sections), with CR1
    errors on ``cluster`` and a t(G-1) reference, and CR2 errors with Satterthwaite degrees
    of freedom; the wild cluster restricted bootstrap p-value and interval; the
    randomization-inference p-value; the design's primary inference (stated once, by the
    number of clusters: see ``few_clusters_below``); and multiple-testing adjustments of the
    primary p-value within each outcome family. Without ``cluster`` (individually
    randomised designs) the errors are HC1 and HC2 (primary, t(N-K)); there is no cluster
    bootstrap, randomization inference or step-down.

    Parameters
    ----------
    responses : pandas.DataFrame
        Respondent-by-wave frame with the outcome columns.
    outcomes : sequence of dict or str
        One entry per outcome: ``{"outcome": column, "construct": name, "family": name,
        "warnings": [text, ...]}`` (construct and family default to the outcome; warnings,
        for example low reliability, are copied into the row).
    treated : str
        0/1 assignment of the cluster.
    cluster : str or None
        Unit of assignment; None for individually randomised designs.
    wave : str
        Wave column.
    waves : tuple of str
        (baseline wave, follow-up wave).
    estimator : {"ancova", "did"}, default "ancova"
        ANCOVA needs ``respondent`` (a panel).
    respondent : str or None
        Respondent identifier linking the waves (panels).
    stratum, covariates, weight, confidence, small_sample
        As in :func:`measurement.effects.estimate_ancova`.
    bootstrap_draws : int, default 9999
        Wild bootstrap draws (0 skips the bootstrap).
    bootstrap_weights : {"auto", "rademacher", "webb"}, default "auto"
    randomization_draws : int, default 9999
        Randomization-inference draws (0 skips it).
    adjust : str, default "p_value_primary"
        Which p-value column the q-values use (one of ``p_value_primary``, ``p_value``,
        ``p_value_cr2``, ``p_value_wild_bootstrap``, ``p_value_randomization``).
    few_clusters_below : int, default 42
        With fewer clusters than this the primary inference is ``few_clusters_method``.
        CR1 with t(G-1) over-rejects below about 40-50 clusters (13.7% at 5% with 10).
    few_clusters_method : {"wild_bootstrap", "cr2"}, default "cr2"
        The primary inference with few clusters: the wild cluster restricted bootstrap or
        CR2 with Satterthwaite degrees of freedom (the default: in ``bench/inference_size.py``
        it rejected a true null 6.3%, 5.3% and 5.0% of the time at G = 10, 20 and 40, where
        the wild bootstrap rejected 7.9%, 5.8% and 5.1% and CR1 11.1%, 10.0% and 6.6%).
        With ``bootstrap_draws=0`` the bootstrap is skipped and CR2 is primary.
    many_clusters_method : {"cr1", "cr2"}, default "cr1"
        The primary inference with ``few_clusters_below`` clusters or more.
    rerandomization : BalanceRule, AssignmentRecord or None, default None
        How the clusters were randomised (the record written at assignment), passed to
        :func:`measurement.randomization_inference.randomization_inference` so that it
        re-draws only assignments the recorded rule would have accepted. A record that does
        not match the data leaves the randomization-inference p-value empty and says why in
        the row's caveats.
    seed : int or None
        Root seed; each outcome and method gets its own stream
        (``numpy.random.SeedSequence(seed).spawn``), so results do not depend on the
        order of outcomes beyond their position.
    on_draws_done : callable or None, default None
        Called with the number of wild bootstrap or randomization draws just finished, for
        a progress display: ``bootstrap_draws`` per outcome's bootstrap and
        ``randomization_draws`` per outcome's randomization inference (in blocks).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EFFECT_COLUMNS`, one row per outcome.

    Raises
    ------
    ValueError
        Bad arguments (unknown estimator, missing columns, ANCOVA without ``respondent``,
        waves not in the data).

    Warns
    -----
    FewClustersWarning
        Once, when the primary inference is CR1 and the design has fewer than 30 clusters
        (only when ``few_clusters_below`` was lowered below 30).

    Notes
    -----
    An outcome the data cannot identify (DesignError) gives a row with empty estimates and
    the reason in ``warnings`` rather than stopping the whole table; one that only
    randomization inference cannot use (no stratum with clusters of both arms) keeps its
    estimates, with ``p_value_randomization`` empty and the reason in ``warnings``. Binary
    outcomes are
    estimated as linear probability models (noted in ``notes``).

    References
    ----------
    Anderson, M. L. (2008). Multiple inference and gender differences in the effects of
    early intervention. Journal of the American Statistical Association, 103(484),
    1481-1495.
    Roodman, D., MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2019). Fast and wild:
    Bootstrap inference in Stata using boottest. Stata Journal, 19(1), 4-60.
    """
    caller = "estimate_study_effects"
    if estimator not in ("ancova", "did"):
        raise ValueError(
            f"{caller}: estimator must be 'ancova' or 'did'; got {estimator!r}. Pass one of these."
        )
    adjustable = (
        "p_value_primary",
        "p_value",
        "p_value_cr2",
        "p_value_wild_bootstrap",
        "p_value_randomization",
    )
    if adjust not in adjustable:
        raise ValueError(
            f"{caller}: adjust must be one of {list(adjustable)!r}; got {adjust!r}. "
            "Pass one of these."
        )
    if few_clusters_method not in ("wild_bootstrap", "cr2"):
        raise ValueError(
            f"{caller}: few_clusters_method must be 'wild_bootstrap' or 'cr2'; got "
            f"{few_clusters_method!r}. Pass one of these."
        )
    if many_clusters_method not in ("cr1", "cr2"):
        raise ValueError(
            f"{caller}: many_clusters_method must be 'cr1' or 'cr2'; got "
            f"{many_clusters_method!r}. Pass one of these."
        )
    if isinstance(few_clusters_below, bool) or not isinstance(few_clusters_below, int):
        raise TypeError(
            f"{caller}: few_clusters_below must be an integer; got {few_clusters_below!r}. "
            "Pass for example 42."
        )
    if len(waves) != 2:
        raise ValueError(
            f"{caller}: waves must name (baseline, follow-up); got {waves!r}. Pass two names."
        )
    specs = _outcome_specs(outcomes)
    columns = [treated, wave, *covariates]
    columns += [name for name in (cluster, respondent, stratum, weight) if name is not None]
    columns += [str(spec["outcome"]) for spec in specs]
    missing = [name for name in dict.fromkeys(columns) if name not in responses.columns]
    if missing:
        raise ValueError(
            f"{caller}: columns {missing!r} are not in responses. Pass existing column names."
        )
    # unique() first: a set over the column iterates every row's label in Python.
    present_waves = set(responses[wave].dropna().astype(str).unique())
    absent = [name for name in waves if name not in present_waves]
    if absent:
        raise ValueError(
            f"{caller}: waves {absent!r} are not in column {wave!r}; found "
            f"{sorted(present_waves)!r}. Pass the baseline and follow-up wave names."
        )
    if estimator == "ancova" and respondent is None:
        raise ValueError(
            f"{caller}: ANCOVA links each respondent's baseline outcome and needs "
            "respondent=...; got None. Pass the respondent column or use estimator='did'."
        )
    wave_labels = responses[wave].astype(str)
    baseline_rows = responses.loc[wave_labels == waves[0]]
    follow_rows = responses.loc[wave_labels == waves[1]]
    study_caveats: list[str] = []
    if respondent is not None:
        study_caveats = _attrition_caveats(
            responses,
            respondent=respondent,
            wave_labels=wave_labels,
            waves=(waves[0], waves[1]),
            treated=treated,
        )
    specifier = _Specifier.of(
        estimator,
        baseline_rows,
        follow_rows,
        treated=treated,
        cluster=cluster,
        respondent=respondent,
        stratum=stratum,
        covariates=list(covariates),
        weight=weight,
    )
    # The specifier holds its own rows: the selected waves would otherwise stay alive for
    # the whole loop (two thirds of the frame again at three waves).
    del baseline_rows, follow_rows, wave_labels
    stepdown = bool(bootstrap_draws) and cluster is not None
    streams = np.random.SeedSequence(seed).spawn(2 * len(specs) + 1)
    rows: list[dict[str, object]] = []
    models: dict[str, EffectModel] = {}
    few_clusters: set[int] = set()
    shared: BiasReduced | None = None
    waves_compared = f"{waves[0]} -> {waves[1]}"
    for position, spec in enumerate(specs):
        outcome = str(spec["outcome"])
        extra = spec.get("warnings", ())
        given = [str(extra)] if isinstance(extra, str) else [str(item) for item in extra]  # type: ignore[attr-defined]
        row: dict[str, object] = {
            "outcome": outcome,
            "construct": spec["construct"],
            "family": spec["family"],
            "waves_compared": waves_compared,
            "estimator": estimator,
        }
        try:
            model = specifier.model(outcome)
            # One prepared design (complete rows, fixed effects partialled out) for both
            # variances: the preparation is most of a fit's cost.
            design = _design(model)
            # One solve for both variances; outcomes of a difference-in-differences with the
            # same complete rows share the regressors, so their CR2 adjustment matrices and
            # Satterthwaite degrees of freedom are computed once (the same numbers).
            fit, second = fit_design_variances(design, small_sample=small_sample, reuse=shared)
            if second.bias_reduced is not None:
                shared = second.bias_reduced
            if stepdown:
                models[outcome] = _kept_for_stepdown(model, str(spec["family"]), models, specs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FewClustersWarning)
                effect = summarize_effect(model, fit, confidence=confidence, caller=caller)
        except DesignError as error:
            row.update(
                {"term": treated, "warnings": "; ".join([*given, f"not estimated: {error}"])}
            )
            rows.append(row)
            continue
        if effect.warnings:
            few_clusters.add(effect.n_clusters)
        row.update(_effect_columns(effect))
        robust = second.term(model.term, confidence)
        if cluster is not None:
            row.update(
                {
                    "std_error_cr2": robust["std_error"],
                    "df_cr2": robust["df"],
                    "p_value_cr2": robust["p_value"],
                    "conf_low_cr2": robust["conf_low"],
                    "conf_high_cr2": robust["conf_high"],
                }
            )
        if bootstrap_draws and cluster is not None:
            boot = wild_bootstrap_effect(
                model,
                draws=bootstrap_draws,
                weights=bootstrap_weights,
                confidence=confidence,
                seed=np.random.default_rng(streams[2 * position]),
                on_draws_done=on_draws_done,
                design=design,
            )
            row["p_value_wild_bootstrap"] = boot.p_value
            row["conf_low_wild_bootstrap"] = boot.conf_low
            row["conf_high_wild_bootstrap"] = boot.conf_high
            row["inference"] = f"{row['inference']}; {boot.inference}"
        unidentified: list[str] = []
        if randomization_draws and cluster is not None:
            try:
                permutation = randomization_inference_effect(
                    model,
                    draws=randomization_draws,
                    seed=np.random.default_rng(streams[2 * position + 1]),
                    rerandomization=rerandomization,
                    on_draws_done=on_draws_done,
                    design=design,
                )
            except DesignError as error:
                unidentified.append(f"randomization inference not computed: {error}")
            else:
                row["p_value_randomization"] = permutation.p_value
                row["inference"] = f"{row['inference']}; {permutation.inference}"
        primary = primary_inference(
            effect.n_clusters if cluster is not None else None,
            few_clusters_below=few_clusters_below,
            few_clusters_method=few_clusters_method,
            many_clusters_method=many_clusters_method,
            bootstrap=bool(bootstrap_draws),
        )
        source = {
            "wild_bootstrap": ("p_value_wild_bootstrap", "wild cluster restricted bootstrap"),
            "cr2_satterthwaite": ("p_value_cr2", "CR2 with Satterthwaite degrees of freedom"),
            "cr1": ("p_value", "CR1 with a t(G-1) reference"),
        }
        if primary == "hc2":
            row["p_value_primary"] = robust["p_value"]
            row["conf_low_primary"] = robust["conf_low"]
            row["conf_high_primary"] = robust["conf_high"]
            words = f"{second.variance}"
            row["inference"] = f"{row['inference']}; {words}"
        else:
            column, words = source[primary]
            suffix = column.removeprefix("p_value")
            row["p_value_primary"] = row[column]
            row["conf_low_primary"] = row[f"conf_low{suffix}"]
            row["conf_high_primary"] = row[f"conf_high{suffix}"]
        row["primary_inference"] = primary
        row["inference"] = (
            f"primary: {words} ({_primary_reason(primary, effect.n_clusters, few_clusters_below)})"
            f"; {row['inference']}"
        )
        row["warnings"] = "; ".join([*effect.warnings, *unidentified, *study_caveats, *given])
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=EFFECT_COLUMNS)
    for name in ("adjusted_p_value", "q_value", "p_value_romano_wolf", "p_value_westfall_young"):
        table[name] = table[name].astype(float)
    for name in EFFECT_COLUMNS:
        if name.startswith(("p_value", "conf_", "std_error", "df")):
            table[name] = pd.to_numeric(table[name], errors="coerce").astype(float)
    adjusted = adjust_within_families(table, family="family", p_value=adjust)
    table["adjusted_p_value"] = adjusted["q_value_bh"].to_numpy()
    table["q_value"] = adjusted["q_value_sharpened"].to_numpy()
    if stepdown:
        _stepdown(
            table,
            models,
            draws=bootstrap_draws,
            weights=bootstrap_weights,
            seed=np.random.default_rng(streams[-1]),
            small_sample=small_sample,
        )
    if few_clusters and min(few_clusters) >= few_clusters_below:
        warnings.warn(
            f"{caller}: only {min(few_clusters)} clusters and the primary inference is CR1 "
            f"(few_clusters_below={few_clusters_below}); CR1 with a t(G-1) reference may "
            "over-reject. Read p_value_cr2 and p_value_wild_bootstrap.",
            FewClustersWarning,
            stacklevel=2,
        )
    return table


def _kept_for_stepdown(
    model: EffectModel,
    family: str,
    models: Mapping[str, EffectModel],
    specs: Sequence[Mapping[str, object]],
) -> EffectModel:
    """What :func:`_stepdown` reads of a model: the whole frame of its family's first
    estimated outcome, of the others only the columns that frame lacks.

    Every model of a comparison repeats the role columns (treatment, cluster, stratum,
    weight): kept whole for each outcome they held one frame per outcome until the step-down.
    """
    first = next(
        (
            models[str(spec["outcome"])]
            for spec in specs
            if str(spec["family"]) == family and str(spec["outcome"]) in models
        ),
        None,
    )
    if first is None or first.outcome == model.outcome:
        return model
    own = [name for name in model.frame.columns if name not in first.frame.columns]
    return replace(model, frame=model.frame[own].copy())


def _design(model: EffectModel) -> Design:
    """The prepared design of :func:`measurement.effects.fit_effect_model`."""
    return prepare_design(
        model.frame,
        outcome=model.outcome,
        regressors=model.regressors,
        cluster=model.cluster,
        fixed_effects=model.fixed_effects,
        weight=model.weight,
    )


def _primary_reason(primary: str, n_clusters: int, few_clusters_below: int) -> str:
    if primary == "hc2":
        return "individually randomised: no clusters"
    if n_clusters < few_clusters_below:
        return f"{n_clusters} clusters, fewer than {few_clusters_below}"
    return f"{n_clusters} clusters, at least {few_clusters_below}"


def _effect_columns(effect: EffectEstimate) -> dict[str, object]:
    return {
        "term": effect.term,
        "estimate": effect.estimate,
        "std_error": effect.std_error,
        "statistic": effect.statistic,
        "conf_low": effect.conf_low,
        "conf_high": effect.conf_high,
        "p_value": effect.p_value,
        "df": effect.df,
        "n_obs": effect.n_obs,
        "n_clusters": effect.n_clusters,
        "comparison_mean": effect.comparison_mean,
        "standardized_effect": effect.standardized_effect,
        "specification": effect.specification,
        "inference": effect.inference,
        "notes": "; ".join(effect.notes),
    }


@dataclass(frozen=True, slots=True)
class _Specifier:
    """Builds each outcome's model from rows shared by every outcome of one comparison.

    ANCOVA links each follow-up row to its respondent's (first) baseline row once, and
    difference-in-differences stacks the two waves once: what differs between outcomes is
    one or two columns. The frames given to the model are the ones the former merge and
    concatenation per outcome produced, restricted to the model's columns.
    """

    estimator: str
    rows: pd.DataFrame
    """ANCOVA: the follow-up rows (index reset); DiD: the stacked waves."""
    linked: np.ndarray | None
    """ANCOVA: the position of each follow-up row's baseline row in ``baseline`` (-1: none)."""
    baseline: pd.DataFrame | None
    post: str | None
    treated: str
    cluster: str | None
    stratum: str | None
    covariates: list[str]
    weight: str | None

    @classmethod
    def of(
        cls,
        estimator: str,
        baseline_rows: pd.DataFrame,
        follow_rows: pd.DataFrame,
        *,
        treated: str,
        cluster: str | None,
        respondent: str | None,
        stratum: str | None,
        covariates: list[str],
        weight: str | None,
    ) -> _Specifier:
        common = dict(
            treated=treated, cluster=cluster, stratum=stratum, covariates=covariates, weight=weight
        )
        # The cluster and stratum labels as sorted categoricals, once for every outcome: each
        # fit's checks and codes then read integer codes instead of hashing the labels again.
        numeric = {treated, *covariates, *([weight] if weight is not None else [])}
        labelled = [name for name in dict.fromkeys([cluster, stratum]) if name is not None]
        labelled = [name for name in labelled if name not in numeric]

        def categorical(rows: pd.DataFrame) -> pd.DataFrame:
            return rows.assign(
                **{
                    name: pd.Categorical(rows[name])
                    for name in labelled
                    if not isinstance(rows[name].dtype, pd.CategoricalDtype)
                }
            )

        if estimator == "ancova":
            first = baseline_rows.drop_duplicates(respondent).reset_index(drop=True)
            linked = pd.Index(first[respondent]).get_indexer(follow_rows[respondent])
            return cls(
                estimator=estimator,
                rows=categorical(follow_rows.reset_index(drop=True)),
                linked=linked,
                baseline=first,
                post=None,
                **common,  # type: ignore[arg-type]
            )
        post = "post"
        while post in baseline_rows.columns:
            post = f"_{post}"
        stacked = pd.concat(
            [baseline_rows.assign(**{post: 0.0}), follow_rows.assign(**{post: 1.0})],
            ignore_index=True,
        )
        return cls(
            estimator=estimator,
            rows=categorical(stacked),
            linked=None,
            baseline=None,
            post=post,
            **common,  # type: ignore[arg-type]
        )

    def model(self, outcome: str) -> EffectModel:
        roles = [self.treated, *self.covariates]
        roles += [name for name in (self.cluster, self.stratum, self.weight) if name is not None]
        if self.estimator == "ancova" and self.baseline is not None and self.linked is not None:
            baseline_name = f"{outcome}__baseline"
            values = np.append(
                self.baseline[outcome].to_numpy(dtype=float, na_value=np.nan), np.nan
            )
            frame = self.rows[list(dict.fromkeys([*roles, outcome]))].assign(
                **{baseline_name: values[self.linked]}
            )
            return specify_ancova(
                frame,
                outcome=outcome,
                treated=self.treated,
                baseline=baseline_name,
                cluster=self.cluster,
                stratum=self.stratum,
                covariates=self.covariates,
                weight=self.weight,
            )
        assert self.post is not None
        return specify_did(
            self.rows[list(dict.fromkeys([*roles, self.post, outcome]))],
            outcome=outcome,
            treated=self.treated,
            post=self.post,
            cluster=self.cluster,
            stratum=self.stratum,
            covariates=self.covariates,
            weight=self.weight,
        )
