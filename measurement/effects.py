"""Intention-to-treat effects: ANCOVA on a follow-up wave and difference-in-differences."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from measurement.errors import DesignError, FewClustersWarning
from measurement.linear_model import LinearFit, Reference, SmallSample, VcovType, fit_linear_model

__all__ = [
    "DID_TERM",
    "FEW_CLUSTERS",
    "EffectEstimate",
    "EffectModel",
    "estimate_ancova",
    "estimate_did",
    "specify_ancova",
    "specify_did",
]

FEW_CLUSTERS = 30
"""Below this many clusters a :class:`FewClustersWarning` is issued."""

DID_TERM = "{treated}:{post}"
"""The name of the difference-in-differences interaction in every table and function."""

MISSING_BASELINE_SUFFIX = "__baseline_missing"

LPM_NOTE = "binary outcome: linear probability model; the estimate is a difference in proportions"


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectEstimate:
    """One estimated intention-to-treat effect with its uncertainty.

    ``statistic`` is the t statistic and ``p_value``/``conf_low``/``conf_high`` use the
    variance and reference in ``inference`` (by default t(G-1) with CR1 errors); ``df`` is
    the reference's degrees of freedom (Satterthwaite with CR2, infinite for the normal).
    ``notes`` and ``warnings`` are words for the report.
    """

    outcome: str
    term: str
    estimate: float
    std_error: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float
    n_obs: int
    n_clusters: int
    df_resid: int
    estimator: str
    specification: str
    inference: str
    comparison_mean: float
    comparison_sd_baseline: float
    standardized_effect: float
    df: float = field(default=float("nan"))
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    def tidy(self) -> pd.DataFrame:
        """One row; ``notes`` and ``warnings`` joined with '; '."""
        row = asdict(self)
        row["notes"] = "; ".join(self.notes)
        row["warnings"] = "; ".join(self.warnings)
        return pd.DataFrame([row])


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectModel:
    """The regression behind an effect: a working frame and the column roles.

    Built by :func:`specify_ancova` or :func:`specify_did`; consumed by the estimators, the
    wild bootstrap and randomization inference so that all three use the same model.
    ``permuted`` lists the regressors that are functions of the cluster-level assignment
    (with the column multiplying the assignment, or None for the assignment itself).
    """

    frame: pd.DataFrame
    outcome: str
    treated: str
    regressors: list[str]
    term: str
    cluster: str | None
    stratum: str | None
    fixed_effects: list[str]
    weight: str | None
    estimator: str
    specification: str
    permuted: dict[str, str | None]
    comparison: np.ndarray
    """Boolean mask of comparison-arm rows at the wave where the effect is measured."""
    comparison_baseline: pd.Series
    """Outcome values of the comparison arm at baseline (for the standardized effect)."""


def _check_columns(responses: pd.DataFrame, columns: list[str], caller: str) -> None:
    if not isinstance(responses, pd.DataFrame):
        raise TypeError(
            f"{caller}: responses must be a pandas DataFrame; got {type(responses).__name__}. "
            "Pass the respondent-by-wave frame."
        )
    missing = [name for name in dict.fromkeys(columns) if name not in responses.columns]
    if missing:
        raise ValueError(
            f"{caller}: columns {missing!r} are not in responses; found "
            f"{list(responses.columns)[:20]!r}. Pass existing column names."
        )


def _indicator(responses: pd.DataFrame, name: str, caller: str) -> pd.Series:
    column = responses[name]
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
        # Plain numpy numbers: the same check without the nullable Float64 round trip,
        # whose isin is most of a model's specification at a million rows.
        numbers = np.array(column.to_numpy(dtype=float), copy=True)
        if (~np.isnan(numbers) & (numbers != 0) & (numbers != 1)).any():
            bad = column.notna() & (column != 0) & (column != 1)
            raise ValueError(
                f"{caller}: column {name!r} must hold 0/1; found {column[bad].unique()[:5]!r}. "
                "Code it 1 for treated (or post) and 0 otherwise."
            )
        return pd.Series(numbers, index=column.index, name=column.name)
    values = pd.to_numeric(column, errors="coerce").astype("Float64")
    bad = column.notna() & ~values.isin([0, 1]).fillna(False)
    if bad.any():
        raise ValueError(
            f"{caller}: column {name!r} must hold 0/1; found {column[bad].unique()[:5]!r}. "
            "Code it 1 for treated (or post) and 0 otherwise."
        )
    return values.astype(float)


def _check_arms(
    frame: pd.DataFrame, treated: str, cluster: str | None, cells: list[str], caller: str
) -> None:
    """Each arm (by wave when ``cells`` has the wave indicator) needs rows (and two clusters)."""
    if _arms_complete(frame, treated, cluster, cells):
        return
    counts = frame.groupby([treated, *cells], observed=True)[treated].size().to_frame("size")
    expected = pd.MultiIndex.from_product(
        [[0.0, 1.0]] + [[0.0, 1.0] for _ in cells], names=[treated, *cells]
    )
    counts = counts.reindex(expected if cells else pd.Index([0.0, 1.0], name=treated))
    empty = counts[counts["size"].isna()]
    if len(empty):
        labels = [
            str(dict(zip([treated, *cells], np.atleast_1d(key), strict=True)))
            for key in empty.index
        ]
        raise DesignError(
            f"{caller}: the arm-by-wave cell {labels[0]} has no complete row; found cells "
            f"{counts['size'].fillna(0).astype(int).to_dict()!r}. Check the treatment and wave "
            "coding or the outcome's missing values."
        )
    if cluster is None:
        return
    per_arm = frame.groupby(treated)[cluster].nunique()
    single = per_arm[per_arm < 2]
    if len(single):
        raise DesignError(
            f"{caller}: the arm {treated}={single.index[0]!r} has a single cluster; found "
            f"clusters per arm {per_arm.to_dict()!r}. Effects with cluster-robust inference "
            "need at least two clusters in each arm."
        )


def _weighted_mean_sd(values: pd.Series, weights: pd.Series | None) -> tuple[float, float]:
    keep = values.notna() if weights is None else values.notna() & weights.notna()
    x = values[keep].to_numpy(dtype=float)
    if x.size == 0:
        return float("nan"), float("nan")
    if weights is None:
        return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else float("nan")
    w = weights[keep].to_numpy(dtype=float)
    mean = float(np.average(x, weights=w))
    variance = float(np.average((x - mean) ** 2, weights=w)) * x.size / max(x.size - 1, 1)
    return mean, float(np.sqrt(variance))


def _is_binary(values: pd.Series) -> bool:
    observed = values.dropna().unique()
    return len(observed) <= 2 and set(np.asarray(observed, dtype=float)) <= {0.0, 1.0}


def _model_frame(
    responses: pd.DataFrame, columns: list[str | None], *, treated: str, caller: str
) -> pd.DataFrame:
    """The model's columns (absent optional roles left out), checked, treated as 0/1."""
    names = [name for name in dict.fromkeys(columns) if name is not None]
    _check_columns(responses, names, caller)
    frame = responses[names].copy()
    frame[treated] = _indicator(frame, treated, caller)
    return frame


def _in_words(
    model: str, covariates: list[str], fixed_effects: list[str], weight: str | None
) -> str:
    """The specification in words: the model, its covariates, fixed effects and weights."""
    words = model + "".join(f" + {name}" for name in covariates)
    words += "".join(f" + {name} fixed effects" for name in fixed_effects)
    return words + (f", weighted by {weight}" if weight else "")


def _indicator_values(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    """The column as a float array when it is a plain float 0/1 column, else None."""
    column = frame[name]
    if not (isinstance(column.dtype, np.dtype) and column.dtype.kind == "f"):
        return None
    values = column.to_numpy()
    return None if ((values != 0) & (values != 1)).any() else values


def _category_codes(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, int] | None:
    """A categorical column's codes (missing labels dropped by the callers' masks: -1)."""
    column = frame[name]
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return None
    return column.cat.codes.to_numpy(dtype=np.int64), len(column.cat.categories)


def _arms_complete(
    frame: pd.DataFrame, treated: str, cluster: str | None, cells: list[str]
) -> bool:
    """True when every arm(-by-cell) has rows and, with ``cluster``, two clusters per arm,
    read from 0/1 float columns and categorical codes with counts; False when it does not
    hold or the columns are of other kinds (then the grouping in ``_check_arms`` decides and
    says why). Grouping the labels again for every outcome cost more than the fit checks."""
    arrays = [_indicator_values(frame, name) for name in (treated, *cells)]
    if any(values is None for values in arrays):
        return False
    cell = np.zeros(len(frame), dtype=np.int64)
    for values in arrays:
        cell = cell * 2 + (values == 1)
    if (np.bincount(cell, minlength=2 ** len(arrays)) == 0).any():
        return False
    if cluster is None:
        return True
    coded = _category_codes(frame, cluster)
    if coded is None:
        return False
    codes, levels = coded
    if (codes < 0).any():
        return False
    arm = arrays[0] == 1
    return all(
        np.count_nonzero(np.bincount(codes[rows], minlength=levels)) >= 2 for rows in (arm, ~arm)
    )


def _constant_by_counts(frame: pd.DataFrame, column: str, group: str) -> bool | None:
    """Whether a 0/1 float column is constant within each category of ``group`` (missing
    groups left out, as the grouping does), from counts; None for other kinds of columns."""
    values = _indicator_values(frame, column)
    coded = _category_codes(frame, group)
    if values is None or coded is None:
        return None
    codes, levels = coded
    present = codes >= 0
    rows = np.bincount(codes[present], minlength=levels)
    ones = np.bincount(codes[present], weights=values[present], minlength=levels)
    return not bool(((ones > 0) & (ones < rows)).any())


def _constant_within(frame: pd.DataFrame, column: str, group: str) -> bool:
    counted = _constant_by_counts(frame, column, group)
    if counted is not None:
        return counted
    return bool((frame.groupby(group, observed=True)[column].nunique(dropna=True) <= 1).all())


def specify_ancova(
    responses: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    baseline: str,
    cluster: str | None = None,
    stratum: str | None = None,
    covariates: list[str] | tuple[str, ...] = (),
    weight: str | None = None,
) -> EffectModel:
    """Build the ANCOVA model of :func:`estimate_ancova` (checks included).

    A respondent whose baseline value is missing is kept (missing-indicator method): the
    baseline is set to the mean of the observed baseline values and an indicator of the
    missing baseline enters the regression, so that ANCOVA uses the same follow-up
    respondents as difference-in-differences.
    """
    caller = "estimate_ancova"
    covariates = list(covariates)
    frame = _model_frame(
        responses, [outcome, treated, baseline, cluster, *covariates, stratum, weight],
        treated=treated, caller=caller,
    )  # fmt: skip
    if not (pd.api.types.is_numeric_dtype(frame[baseline]) or frame[baseline].isna().all()):
        raise TypeError(
            f"{caller}: column {baseline!r} must be numeric; found dtype "
            f"{frame[baseline].dtype}. Pass the baseline outcome as numbers."
        )
    regressors = [treated, baseline]
    baseline_values = frame[baseline].astype(float)
    missing = frame[baseline].isna() & frame[outcome].notna()
    model_words = f"ANCOVA: {outcome} ~ {treated} + baseline {baseline}"
    if missing.any() and frame[baseline].notna().any():
        indicator = f"{baseline}{MISSING_BASELINE_SUFFIX}"
        observed_mean = float(frame[baseline].mean())
        frame[indicator] = frame[baseline].isna().astype(float)
        frame[baseline] = frame[baseline].fillna(observed_mean)
        regressors.append(indicator)
        model_words += (
            f" (missing-indicator method: {int(missing.sum())} respondents without a baseline "
            "value kept, their baseline set to the observed mean, with an indicator)"
        )
    complete = frame.dropna()
    _check_arms(complete, treated, cluster, [], caller)
    comparison = (frame[treated] == 0).to_numpy() & frame.notna().all(axis=1).to_numpy()
    fixed = [stratum] if stratum is not None else []
    words = _in_words(model_words, covariates, fixed, weight)
    return EffectModel(
        frame=frame,
        outcome=outcome,
        treated=treated,
        regressors=[*regressors, *covariates],
        term=treated,
        cluster=cluster,
        stratum=stratum,
        fixed_effects=fixed,
        weight=weight,
        estimator="ancova",
        specification=words,
        permuted={treated: None},
        comparison=comparison,
        comparison_baseline=baseline_values[frame[treated] == 0],
    )


def specify_did(
    responses: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    post: str,
    cluster: str | None = None,
    stratum: str | None = None,
    unit: str | None = None,
    covariates: list[str] | tuple[str, ...] = (),
    weight: str | None = None,
) -> EffectModel:
    """Build the difference-in-differences model of :func:`estimate_did` (checks included).

    With ``unit`` (respondent or cluster) fixed effects the model is two-way fixed effects:
    ``treated`` is constant within each unit and absorbed, ``post`` and the interaction are
    identified. A ``stratum`` constant within each unit is absorbed by the unit effects too.
    """
    caller = "estimate_did"
    covariates = list(covariates)
    frame = _model_frame(
        responses, [outcome, treated, post, cluster, unit, *covariates, stratum, weight],
        treated=treated, caller=caller,
    )  # fmt: skip
    frame[post] = _indicator(frame, post, caller)
    interaction = DID_TERM.format(treated=treated, post=post)
    frame[interaction] = frame[treated] * frame[post]
    complete = frame.dropna()
    _check_arms(complete, treated, cluster, [post], caller)
    if cluster is not None and not _constant_by_counts(complete, treated, cluster):
        treated_in_cluster = complete.groupby(cluster, observed=True)[treated].nunique()
        if (treated_in_cluster > 1).any():
            raise DesignError(
                f"{caller}: {treated!r} varies within cluster "
                f"{treated_in_cluster[treated_in_cluster > 1].index[0]!r}; the campaign is "
                "assigned to whole clusters. Check the cluster and treatment columns."
            )
    fixed = []
    if unit is not None:
        if not _constant_within(complete, treated, unit):
            raise DesignError(
                f"{caller}: {treated!r} varies within units of {unit!r}; unit fixed effects "
                "need each unit in one arm. Check the unit and treatment columns."
            )
        fixed.append(unit)
    if stratum is not None and not (unit is not None and _constant_within(complete, stratum, unit)):
        fixed.append(stratum)
    absorbed = [name for name in fixed if _constant_within(complete, treated, name)]
    regressors = [post, interaction, *covariates]
    permuted: dict[str, str | None] = {interaction: post}
    model_words = f"difference-in-differences: {outcome} ~ {treated} * {post}"
    if absorbed:
        model_words += f" ({treated} absorbed by the {absorbed[0]} fixed effects)"
    else:
        regressors.insert(0, treated)
        permuted = {treated: None, interaction: post}
    complete_mask = frame.notna().all(axis=1).to_numpy()
    comparison = (frame[treated] == 0).to_numpy() & (frame[post] == 1).to_numpy() & complete_mask
    words = _in_words(model_words, covariates, fixed, weight)
    return EffectModel(
        frame=frame,
        outcome=outcome,
        treated=treated,
        regressors=regressors,
        term=interaction,
        cluster=cluster,
        stratum=stratum,
        fixed_effects=fixed,
        weight=weight,
        estimator="did",
        specification=words,
        permuted=permuted,
        comparison=comparison,
        comparison_baseline=frame.loc[(frame[treated] == 0) & (frame[post] == 0), outcome],
    )


def fit_effect_model(
    model: EffectModel,
    *,
    small_sample: SmallSample = "stata",
    vcov: VcovType | None = None,
    reference: Reference = "t",
) -> LinearFit:
    """Fit the regression of an :class:`EffectModel` (CR1 on its cluster, HC1 without)."""
    return fit_linear_model(
        model.frame,
        outcome=model.outcome,
        regressors=model.regressors,
        cluster=model.cluster,
        fixed_effects=model.fixed_effects,
        weight=model.weight,
        small_sample=small_sample,
        vcov=vcov,
        reference=reference,
    )


def summarize_effect(
    model: EffectModel, fit: LinearFit, *, confidence: float, caller: str
) -> EffectEstimate:
    """Turn a fit into an :class:`EffectEstimate`, with notes and few-cluster warnings."""
    result = fit.term(model.term, confidence)
    weights = model.frame[model.weight] if model.weight else None
    comparison_values = model.frame.loc[model.comparison, model.outcome]
    comparison_weights = weights[model.comparison] if weights is not None else None
    comparison_mean, _ = _weighted_mean_sd(comparison_values, comparison_weights)
    baseline_weights = weights.loc[model.comparison_baseline.index] if weights is not None else None
    _, baseline_sd = _weighted_mean_sd(model.comparison_baseline, baseline_weights)
    notes: list[str] = []
    if _is_binary(model.frame[model.outcome]):
        notes.append(LPM_NOTE)
    caveats: list[str] = []
    if model.cluster is not None and fit.vcov_type == "CR1" and fit.n_clusters < FEW_CLUSTERS:
        message = (
            f"{caller}: only {fit.n_clusters} clusters; CR1 with a t({fit.df_resid}) reference "
            "may over-reject. Pass vcov='CR2' (Satterthwaite degrees of freedom) or report the "
            "wild cluster bootstrap p-value (measurement.wild_bootstrap.wild_cluster_bootstrap)."
        )
        caveats.append(f"few clusters ({fit.n_clusters})")
        warnings.warn(message, FewClustersWarning, stacklevel=3)
    standardized = (
        result["estimate"] / baseline_sd if baseline_sd and np.isfinite(baseline_sd) else np.nan
    )
    return EffectEstimate(
        outcome=model.outcome,
        term=model.term,
        estimate=result["estimate"],
        std_error=result["std_error"],
        statistic=result["statistic"],
        p_value=result["p_value"],
        conf_low=result["conf_low"],
        conf_high=result["conf_high"],
        n_obs=fit.n_obs,
        n_clusters=fit.n_clusters,
        df_resid=fit.df_resid,
        df=float(result["df"]),
        estimator=model.estimator,
        specification=model.specification,
        inference=fit.variance,
        comparison_mean=comparison_mean,
        comparison_sd_baseline=baseline_sd,
        standardized_effect=float(standardized),
        notes=tuple(notes),
        warnings=tuple(caveats),
    )


def _check_confidence(confidence: float, caller: str) -> None:
    if not 0 < confidence < 1:
        raise ValueError(
            f"{caller}: confidence must lie strictly between 0 and 1; got {confidence!r}. "
            "Pass for example 0.95."
        )


def estimate_ancova(
    responses: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    baseline: str,
    cluster: str | None = None,
    stratum: str | None = None,
    covariates: list[str] | tuple[str, ...] = (),
    weight: str | None = None,
    confidence: float = 0.95,
    small_sample: SmallSample = "stata",
    vcov: VcovType | None = None,
    reference: Reference = "t",
) -> EffectEstimate:
    """Estimate an intention-to-treat effect by ANCOVA on a follow-up wave.

    The estimand is the difference in mean follow-up outcome between arms, adjusted for the
    baseline outcome: the coefficient of ``treated`` in
    ``outcome ~ treated + baseline + covariates + stratum fixed effects``, fitted by OLS
    (WLS with ``weight``) on one row per respondent at follow-up, with CR1 errors clustered on
    the unit of assignment and a t(G-1) reference (Stata ``regress, vce(cluster)``).

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent at the follow-up wave, with the baseline outcome as a column.
    outcome : str
        Follow-up outcome.
    treated : str
        0/1 assignment of the respondent's cluster.
    baseline : str
        The same outcome measured at baseline. A missing value keeps the respondent
        (missing-indicator method, stated in ``specification``).
    cluster : str or None, default None
        Unit of assignment (community). None (individually randomised designs) gives
        heteroskedasticity-robust errors.
    stratum : str or None, default None
        Randomization stratum, absorbed as fixed effects.
    covariates : list of str, default ()
        Additional pre-specified baseline covariates.
    weight : str or None, default None
        Survey weights (WLS point estimates, weighted sandwich).
    confidence : float, default 0.95
        Level of the interval.
    small_sample : {"stata", "fixest"}, default "stata"
        CR1 small-sample convention, see :func:`measurement.linear_model.fit_linear_model`.
    vcov : {"iid", "HC1", "HC2", "CR1", "CR2"} or None, default None
        Variance estimator; None follows Stata (CR1 with a cluster, HC1 without); R
        estimatr's defaults are "CR2" and "HC2". See
        :func:`measurement.linear_model.fit_linear_model`.
    reference : {"t", "normal"}, default "t"
        Reference distribution of the p-value and interval.

    Returns
    -------
    EffectEstimate
        With the comparison-arm mean at follow-up, the effect standardized by the
        comparison arm's baseline standard deviation, and a note for binary outcomes
        (linear probability model).

    Raises
    ------
    ValueError
        Missing columns, ``treated`` not 0/1, ``confidence`` outside (0, 1).
    DesignError
        An arm without complete rows, a single cluster in an arm, an outcome without
        variation, ``treated`` not varying within strata.

    Warns
    -----
    FewClustersWarning
        Fewer than 30 clusters with CR1.

    Notes
    -----
    Rows with a missing follow-up value are dropped (``n_obs``). A missing baseline value is
    set to the mean of the observed baseline values and an indicator of the missing baseline
    is added (the missing-indicator method, J-PAL's practice for baseline controls), so that
    ANCOVA and difference-in-differences use the same follow-up respondents; the effect
    stays unbiased under randomisation. ANCOVA is more precise than
    difference-in-differences when the outcome's autocorrelation is below one (McKenzie
    2012).

    References
    ----------
    Groenwold, R. H. H., White, I. R., Donders, A. R. T., Carpenter, J. R., Altman, D. G., &
    Moons, K. G. M. (2012). Missing covariate data in clinical research: when and when not to
    use the missing-indicator method for analysis. CMAJ, 184(11), 1265-1269.
    McKenzie, D. (2012). Beyond baseline and follow-up: The case for more T in experiments.
    Journal of Development Economics, 99(2), 210-221.
    Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust
    inference. Journal of Human Resources, 50(2), 317-372.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(40), 25)})
    >>> frame["treated"] = (frame["cluster"] % 2).astype(float)
    >>> frame["baseline"] = rng.normal(size=1000)
    >>> frame["outcome"] = 0.3 * frame["treated"] + 0.5 * frame["baseline"] + rng.normal(size=1000)
    >>> effect = estimate_ancova(frame, outcome="outcome", treated="treated",
    ...                          baseline="baseline", cluster="cluster")
    >>> effect.n_clusters, effect.term
    (40, 'treated')
    """
    _check_confidence(confidence, "estimate_ancova")
    model = specify_ancova(
        responses,
        outcome=outcome,
        treated=treated,
        baseline=baseline,
        cluster=cluster,
        stratum=stratum,
        covariates=covariates,
        weight=weight,
    )
    fit = fit_effect_model(model, small_sample=small_sample, vcov=vcov, reference=reference)
    return summarize_effect(model, fit, confidence=confidence, caller="estimate_ancova")


def estimate_did(
    responses: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    post: str,
    cluster: str | None = None,
    stratum: str | None = None,
    unit: str | None = None,
    covariates: list[str] | tuple[str, ...] = (),
    weight: str | None = None,
    confidence: float = 0.95,
    small_sample: SmallSample = "stata",
    vcov: VcovType | None = None,
    reference: Reference = "t",
) -> EffectEstimate:
    """Estimate an intention-to-treat effect by difference-in-differences.

    The estimand is the change in the mean outcome from baseline to follow-up in the
    campaign arm minus the same change in the comparison arm: the coefficient of
    ``treated:post`` in ``outcome ~ treated + post + treated:post + covariates + stratum
    fixed effects``, fitted by OLS (WLS with ``weight``) on the stacked baseline and follow-up
    rows, with CR1 errors clustered on the unit of assignment and a t(G-1) reference. Works
    for panels and for repeated cross-sections (the clustering on the community covers the
    repeated respondents of a panel).

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent and wave (the two waves compared).
    outcome : str
        Outcome.
    treated : str
        0/1 assignment of the cluster (constant within cluster).
    post : str
        0/1: 1 for the follow-up wave.
    unit : str or None, default None
        Absorb unit fixed effects (the respondent of a panel, or the cluster): two-way fixed
        effects with ``post``. ``treated`` is constant within units and absorbed; so is a
        ``stratum`` constant within units.
    cluster, stratum, covariates, weight, confidence, small_sample, vcov, reference
        As in :func:`estimate_ancova`. A ``stratum`` within which ``treated`` is constant
        (for example the cluster itself) absorbs ``treated`` the same way.

    Returns
    -------
    EffectEstimate
        Term ``"<treated>:<post>"`` (:data:`DID_TERM`, the same name in every table and
        function); comparison mean at follow-up; effect standardized by the comparison
        arm's baseline standard deviation.

    Raises
    ------
    ValueError
        Missing columns, ``treated`` or ``post`` not 0/1, ``confidence`` outside (0, 1).
    DesignError
        An empty arm-by-wave cell, a single cluster in an arm, ``treated`` varying within a
        cluster or a unit, an outcome without variation.

    Warns
    -----
    FewClustersWarning
        Fewer than 30 clusters with CR1.

    References
    ----------
    Card, D., & Krueger, A. B. (1994). Minimum wages and employment: A case study of the
    fast-food industry in New Jersey and Pennsylvania. American Economic Review, 84(4),
    772-793.
    Bertrand, M., Duflo, E., & Mullainathan, S. (2004). How much should we trust
    differences-in-differences estimates? Quarterly Journal of Economics, 119(1), 249-275.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(40), 50)})
    >>> frame["treated"] = (frame["cluster"] % 2).astype(float)
    >>> frame["post"] = np.tile([0.0, 1.0], 1000)
    >>> frame["outcome"] = 0.4 * frame["treated"] * frame["post"] + rng.normal(size=2000)
    >>> effect = estimate_did(frame, outcome="outcome", treated="treated", post="post",
    ...                       cluster="cluster")
    >>> effect.term
    'treated:post'
    """
    _check_confidence(confidence, "estimate_did")
    model = specify_did(
        responses,
        outcome=outcome,
        treated=treated,
        post=post,
        cluster=cluster,
        stratum=stratum,
        unit=unit,
        covariates=covariates,
        weight=weight,
    )
    fit = fit_effect_model(model, small_sample=small_sample, vcov=vcov, reference=reference)
    return summarize_effect(model, fit, confidence=confidence, caller="estimate_did")
