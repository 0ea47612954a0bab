"""Propensity scores for self-reported exposure: weights, overlap, balance and weighted effects.

In a quasi-experimental study nobody is assigned: respondents say whether they recall the
campaign, and those who notice it differ from those who do not. This module models who
reports exposure from baseline characteristics (Rosenbaum and Rubin 1983), turns the scores
into inverse-probability weights, shows whether the weighted groups are comparable
(standardized differences and effective sample sizes, Austin and Stuart 2015), and
estimates the exposure effect by a weighted regression with cluster-robust errors.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from measurement.arguments import check_columns, check_confidence, check_names, check_responses
from measurement.effects import EffectEstimate, EffectModel, fit_effect_model, summarize_effect
from measurement.errors import DesignError, PoorOverlapWarning
from measurement.linear_model import INTERCEPT, SmallSample

__all__ = [
    "BALANCE_THRESHOLD",
    "MINIMUM_EFFECTIVE_SHARE",
    "OVERLAP_COLUMNS",
    "SUPPORT_SHARE_LIMIT",
    "WEIGHTED_BALANCE_COLUMNS",
    "Estimand",
    "PoorOverlapWarning",
    "PropensityModel",
    "estimate_exposure_effect",
    "estimate_propensity",
    "weighted_balance",
]

Estimand = Literal["ate", "att"]

DEFAULT_TRIM = (0.01, 0.99)
"""Default bounds for the scores; also the bounds beyond which a score counts as extreme."""

MINIMUM_EFFECTIVE_SHARE = 0.5
"""A group whose Kish effective sample size is below this share of its rows gets a warning."""

SUPPORT_SHARE_LIMIT = 0.10
"""A warning is issued when more than this share of rows lies outside the common support.

The common support runs between extreme scores, so a few rows always lie outside it in a
finite sample; a tenth signals a real lack of comparable respondents."""

BALANCE_THRESHOLD = 0.1
"""Absolute standardized differences below this count as balanced (Austin and Stuart 2015)."""

OVERLAP_COLUMNS: list[str] = [
    "group",
    "exposure",
    "n_obs",
    "score_min",
    "score_max",
    "score_mean",
    "n_outside_support",
    "n_clipped",
    "weight_sum",
    "effective_sample_size",
]
"""Columns of :meth:`PropensityModel.tidy`: one row per group (``unexposed``, ``exposed``).

``score_*`` describe the fitted scores before clipping; ``n_outside_support`` counts the rows
whose score lies outside the common support (the range where both groups have scores);
``n_clipped`` the rows whose score was clipped to the ``trim`` bounds; ``weight_sum`` and
``effective_sample_size`` (Kish: ``sum(w)**2 / sum(w**2)``) describe the weights.
"""

WEIGHTED_BALANCE_COLUMNS: list[str] = [
    "covariate",
    "n_unexposed",
    "n_exposed",
    "mean_unexposed",
    "mean_exposed",
    "std_dev_pooled",
    "standardized_difference",
    "weighted_mean_unexposed",
    "weighted_mean_exposed",
    "weighted_standardized_difference",
    "effective_sample_size_unexposed",
    "effective_sample_size_exposed",
    "balanced",
]
"""Columns of :func:`weighted_balance`: one row per covariate.

``std_dev_pooled`` is ``sqrt((s_exposed**2 + s_unexposed**2) / 2)`` from the unweighted
sample variances (ddof = 1); both standardized differences divide by it, so that weighting
changes only the numerator (Austin and Stuart 2015). ``balanced`` is
``|weighted_standardized_difference| < BALANCE_THRESHOLD``. The effective sample sizes
(Kish) are those of the rows answering the covariate.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class PropensityModel:
    """A fitted propensity score model with its weights and overlap diagnostics.

    Attributes
    ----------
    exposure : str
        The 0/1 exposure column (1 = exposed).
    covariates : tuple of str
        Pre-exposure covariates of the logistic model.
    estimand : {"ate", "att"}
        Estimand the weights target.
    stabilized : bool
        Whether the weights are stabilized.
    trim : tuple of float or None
        Bounds the scores were clipped to before weighting (None: no clipping).
    scores : pandas.Series
        Fitted probability of exposure, before clipping, on the index of ``responses``
        (NaN for rows not used).
    weights : pandas.Series
        Inverse-probability weights on the index of ``responses`` (NaN for rows not used).
    coefficients : pandas.Series
        Logistic regression coefficients on the original scale of the covariates
        (``"Intercept"`` first).
    n_obs, n_exposed, n_unexposed : int
        Rows used (complete on exposure, covariates and cluster) and per group.
    n_clusters : int or None
        Clusters among the rows used (None without ``cluster``).
    n_clipped_low, n_clipped_high : int
        Rows whose score was raised to ``trim[0]`` or lowered to ``trim[1]``.
    support_low, support_high : float
        Common support: from the larger of the two groups' smallest scores to the smaller of
        their largest scores.
    share_outside_support : float
        Share of the rows used whose score lies outside the common support.
    effective_sample_size_exposed, effective_sample_size_unexposed : float
        Kish's effective sample size of the weights in each group.
    overlap : pandas.DataFrame
        One row per group with :data:`OVERLAP_COLUMNS`.
    method : str
        The model and weights in words.
    warnings : tuple of str
        Overlap caveats in words (empty when overlap is adequate).
    """

    exposure: str
    covariates: tuple[str, ...]
    estimand: Estimand
    stabilized: bool
    trim: tuple[float, float] | None
    scores: pd.Series
    weights: pd.Series
    coefficients: pd.Series
    n_obs: int
    n_exposed: int
    n_unexposed: int
    n_clusters: int | None
    n_clipped_low: int
    n_clipped_high: int
    support_low: float
    support_high: float
    share_outside_support: float
    effective_sample_size_exposed: float
    effective_sample_size_unexposed: float
    overlap: pd.DataFrame
    method: str
    warnings: tuple[str, ...] = field(default=())

    def tidy(self) -> pd.DataFrame:
        """The overlap summary: one row per group with :data:`OVERLAP_COLUMNS`."""
        return self.overlap.copy()


def _kish(weights: np.ndarray) -> float:
    """Kish's effective sample size ``sum(w)**2 / sum(w**2)`` (0 for no weight)."""
    total = float(weights.sum())
    squares = float((weights**2).sum())
    return total**2 / squares if squares > 0 else 0.0


def _exposure_values(responses: pd.DataFrame, exposure: str, caller: str) -> np.ndarray:
    """The exposure as floats (NaN when missing); ``ValueError`` unless it holds 0/1."""
    values = responses[exposure].to_numpy(dtype=float, na_value=np.nan)
    present = values[~np.isnan(values)]
    if not np.isin(present, (0.0, 1.0)).all():
        found = sorted(set(present.tolist()) - {0.0, 1.0})[:5]
        raise ValueError(
            f"{caller}: exposure {exposure!r} must hold 0 (unexposed) and 1 (exposed); found "
            f"{found!r}. Code exposure as 0/1 (1 = recalls the campaign)."
        )
    return values


def _check_both_groups(exposure_values: np.ndarray, exposure: str, caller: str) -> None:
    n_exposed = int((exposure_values == 1).sum())
    n_unexposed = int((exposure_values == 0).sum())
    if n_exposed == 0 or n_unexposed == 0:
        raise DesignError(
            f"{caller}: exposure {exposure!r} does not vary; found {n_exposed} exposed and "
            f"{n_unexposed} unexposed complete rows. A comparison needs both groups: check the "
            "exposure item and the rows passed."
        )


def _check_trim(trim: object, caller: str) -> tuple[float, float] | None:
    if trim is None:
        return None
    if (
        not isinstance(trim, tuple | list)
        or len(trim) != 2
        or not all(isinstance(bound, int | float) and not isinstance(bound, bool) for bound in trim)
    ):
        raise TypeError(
            f"{caller}: trim must be a pair of numbers or None; got {trim!r}. "
            "Pass for example (0.01, 0.99)."
        )
    low, high = float(trim[0]), float(trim[1])
    if not 0 <= low < high <= 1:
        raise ValueError(
            f"{caller}: trim must satisfy 0 <= low < high <= 1; got {trim!r}. "
            "Pass for example (0.01, 0.99) or None."
        )
    return low, high


def _check_estimand(estimand: object, caller: str) -> Estimand:
    if estimand == "ate":
        return "ate"
    if estimand == "att":
        return "att"
    raise ValueError(
        f"{caller}: estimand must be 'ate' or 'att'; got {estimand!r}. Pass 'ate' (everyone) or "
        "'att' (the exposed)."
    )


def _separating_covariates(matrix: np.ndarray, exposed: np.ndarray, names: list[str]) -> list[str]:
    """Covariates whose values alone split the groups (the ranges touch at most)."""
    found = []
    for index, name in enumerate(names):
        column_exposed, column_unexposed = matrix[exposed, index], matrix[~exposed, index]
        if (
            column_exposed.min() >= column_unexposed.max()
            or column_exposed.max() <= column_unexposed.min()
        ):
            found.append(name)
    return found


def _fit_logistic(
    matrix: np.ndarray,
    exposed: np.ndarray,
    names: list[str],
    caller: str,
    design: np.ndarray | None = None,
) -> tuple[np.ndarray, pd.Series]:
    """Unpenalized (design-weighted) logistic regression; returns fitted scores, coefficients."""
    center = matrix.mean(axis=0)
    scale = matrix.std(axis=0)
    constant = [name for name, spread in zip(names, scale, strict=True) if spread == 0]
    if constant:
        raise DesignError(
            f"{caller}: covariates {constant!r} do not vary among the complete rows; a "
            "propensity model cannot use them. Drop them from covariates."
        )
    standardized = (matrix - center) / scale
    with_intercept = np.column_stack([np.ones(matrix.shape[0]), standardized])
    rank = int(np.linalg.matrix_rank(with_intercept))
    if rank < with_intercept.shape[1]:
        raise DesignError(
            f"{caller}: covariates {names!r} are collinear (rank {rank} with the intercept for "
            f"{with_intercept.shape[1]} columns). Drop a redundant covariate."
        )
    separating = _separating_covariates(matrix, exposed, names)
    # Newton's method converges to the maximum-likelihood estimate to machine precision
    # (it agrees with statsmodels' IRLS); C=inf is scikit-learn's spelling of "no penalty"
    # since penalty=None was deprecated in 1.8.
    model = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=200)
    # Only scikit-learn's ConvergenceWarning is caught (it becomes a DesignError below);
    # every other warning is passed on to the caller unchanged.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(
            standardized,
            exposed.astype(float),
            sample_weight=None if design is None else design / design.mean(),
        )
    for item in caught:
        if not issubclass(item.category, ConvergenceWarning):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    scores = model.predict_proba(standardized)[:, 1]
    linear = model.decision_function(standardized)
    classified = (linear > 0) == exposed
    extreme = (scores < 1e-10) | (scores > 1 - 1e-10)
    if separating or bool(classified.all()) or bool(extreme.any()):
        hint = (
            f"covariates {separating!r} alone separate the groups"
            if separating
            else f"{int(extreme.sum())} rows get a score within 1e-10 of 0 or 1"
        )
        raise DesignError(
            f"{caller}: exposure is perfectly predicted by the covariates (separation); {hint}. "
            "The weights would be infinite: drop or coarsen those covariates, or restrict the "
            "comparison to respondents in both groups' range."
        )
    problems = [item for item in caught if issubclass(item.category, ConvergenceWarning)]
    if problems:
        raise DesignError(
            f"{caller}: the propensity model did not converge; scikit-learn said "
            f"{str(problems[0].message)[:200]!r}. Use fewer or coarser covariates."
        )
    slopes = model.coef_[0] / scale
    intercept = float(model.intercept_[0]) - float(slopes @ center)
    coefficients = pd.Series([intercept, *slopes], index=[INTERCEPT, *names], dtype=float)
    return scores, coefficients


def _weights(
    scores: np.ndarray,
    exposed: np.ndarray,
    estimand: Estimand,
    stabilize: bool,
    design: np.ndarray | None = None,
) -> np.ndarray:
    if design is not None:
        # Design weights multiply the propensity weights (DuGoff, Schuler and Stuart 2014);
        # the shares that stabilize them are the design-weighted shares of each group.
        share = float(design[exposed].sum() / design.sum())
        return design * _propensity_weights(scores, exposed, estimand, stabilize, share)
    return _propensity_weights(scores, exposed, estimand, stabilize, float(exposed.mean()))


def _propensity_weights(
    scores: np.ndarray, exposed: np.ndarray, estimand: Estimand, stabilize: bool, share: float
) -> np.ndarray:
    if estimand == "ate":
        weights = np.where(exposed, 1 / scores, 1 / (1 - scores))
        if stabilize:
            weights *= np.where(exposed, share, 1 - share)
        return weights
    weights = np.where(exposed, 1.0, scores / (1 - scores))
    if stabilize:
        weights *= np.where(exposed, 1.0, (1 - share) / share)
    return weights


def _overlap_caveats(model: PropensityModel, caller: str) -> list[str]:
    caveats = []
    bounds = model.trim if model.trim is not None else DEFAULT_TRIM
    scores = model.scores.dropna().to_numpy()
    beyond = int(((scores < bounds[0]) | (scores > bounds[1])).sum())
    if beyond:
        caveats.append(
            f"{caller}: {beyond} of {model.n_obs} propensity scores lie outside "
            f"[{bounds[0]:g}, {bounds[1]:g}]"
            + (" and were clipped" if model.trim is not None else "")
            + "; the weighted comparison leans on the propensity model there"
        )
    if model.share_outside_support > SUPPORT_SHARE_LIMIT:
        caveats.append(
            f"{caller}: {model.share_outside_support:.1%} of rows lie outside the common support "
            f"[{model.support_low:.3g}, {model.support_high:.3g}] of the propensity scores"
        )
    for label, effective, rows in (
        ("exposed", model.effective_sample_size_exposed, model.n_exposed),
        ("unexposed", model.effective_sample_size_unexposed, model.n_unexposed),
    ):
        if effective < MINIMUM_EFFECTIVE_SHARE * rows:
            caveats.append(
                f"{caller}: the weights leave an effective sample of {effective:.1f} of "
                f"{rows} {label} rows (below {MINIMUM_EFFECTIVE_SHARE:.0%})"
            )
    return caveats


def _overlap_message(caveats: tuple[str, ...]) -> str:
    """One warning for all caveats: the first keeps its caller prefix."""
    caller = caveats[0].split(":", 1)[0]
    parts = [caveat.removeprefix(f"{caller}: ") for caveat in caveats]
    return (
        f"{caller}: poor overlap of the propensity scores; {'; '.join(parts)}. Read the overlap "
        "table and the weighted balance; consider coarser covariates or restricting the "
        "comparison to the common support."
    )


def _propensity(
    responses: pd.DataFrame,
    *,
    exposure: str,
    covariates: Sequence[str],
    cluster: str | None,
    trim: tuple[float, float] | None,
    stabilize: bool,
    estimand: Estimand,
    caller: str,
    weight: str | None = None,
) -> PropensityModel:
    names = check_names(covariates, what="covariates", caller=caller)
    numeric = [exposure, *names, *([weight] if weight is not None else [])]
    check_columns(responses, [exposure, *names, cluster, weight], caller=caller, numeric=numeric)
    status = _exposure_values(responses, exposure, caller)
    matrix = np.column_stack(
        [responses[name].to_numpy(dtype=float, na_value=np.nan) for name in names]
    )
    keep = ~np.isnan(status) & np.isfinite(matrix).all(axis=1)
    if cluster is not None:
        keep &= responses[cluster].notna().to_numpy()
    design_all = None
    if weight is not None:
        design_all = responses[weight].to_numpy(dtype=float, na_value=np.nan)
        if np.any(design_all[keep & np.isfinite(design_all)] < 0):
            raise ValueError(
                f"{caller}: weight column {weight!r} holds negative values. Pass non-negative "
                "survey (design) weights."
            )
        keep &= np.isfinite(design_all) & (design_all > 0)
    if not keep.any():
        raise DesignError(
            f"{caller}: no row has the exposure and all covariates {names!r} present; found 0 "
            f"complete rows of {len(responses)}. Drop the covariates that are mostly missing."
        )
    exposed = status[keep] == 1
    _check_both_groups(status[keep], exposure, caller)
    design = None if design_all is None else design_all[keep]
    raw, coefficients = _fit_logistic(matrix[keep], exposed, names, caller, design)
    clipped = raw if trim is None else np.clip(raw, trim[0], trim[1])
    n_low = 0 if trim is None else int((raw < trim[0]).sum())
    n_high = 0 if trim is None else int((raw > trim[1]).sum())
    weights = _weights(clipped, exposed, estimand, stabilize, design)
    support_low = max(float(raw[exposed].min()), float(raw[~exposed].min()))
    support_high = min(float(raw[exposed].max()), float(raw[~exposed].max()))
    outside = (raw < support_low) | (raw > support_high)
    low, high = trim if trim is not None else (0.0, 1.0)
    rows = []
    for label, mask in (("unexposed", ~exposed), ("exposed", exposed)):
        rows.append(
            {
                "group": label,
                "exposure": int(label == "exposed"),
                "n_obs": int(mask.sum()),
                "score_min": float(raw[mask].min()),
                "score_max": float(raw[mask].max()),
                "score_mean": float(raw[mask].mean()),
                "n_outside_support": int(outside[mask].sum()),
                "n_clipped": int(((raw[mask] < low) | (raw[mask] > high)).sum()),
                "weight_sum": float(weights[mask].sum()),
                "effective_sample_size": _kish(weights[mask]),
            }
        )
    index = responses.index
    scores_series = pd.Series(np.nan, index=index, dtype=float, name="propensity_score")
    scores_series[keep] = raw
    weight_series = pd.Series(np.nan, index=index, dtype=float, name="propensity_weight")
    weight_series[keep] = weights
    method = (
        f"logistic regression of {exposure} on {', '.join(names)} (unpenalized maximum "
        f"likelihood); {'stabilized ' if stabilize else ''}inverse-probability weights for the "
        f"{estimand.upper()}"
        + (
            f", scores clipped to [{trim[0]:g}, {trim[1]:g}]"
            if trim is not None
            else ", scores not clipped"
        )
        + (
            f"; design-weighted by {weight} in the score model and multiplied into the weights"
            if weight is not None
            else ""
        )
    )
    model = PropensityModel(
        exposure=exposure,
        covariates=tuple(names),
        estimand=estimand,
        stabilized=bool(stabilize),
        trim=trim,
        scores=scores_series,
        weights=weight_series,
        coefficients=coefficients,
        n_obs=int(keep.sum()),
        n_exposed=int(exposed.sum()),
        n_unexposed=int((~exposed).sum()),
        n_clusters=(int(responses.loc[keep, cluster].nunique()) if cluster is not None else None),
        n_clipped_low=n_low,
        n_clipped_high=n_high,
        support_low=support_low,
        support_high=support_high,
        share_outside_support=float(outside.mean()),
        effective_sample_size_exposed=_kish(weights[exposed]),
        effective_sample_size_unexposed=_kish(weights[~exposed]),
        overlap=pd.DataFrame(rows, columns=OVERLAP_COLUMNS),
        method=method,
    )
    return replace(model, warnings=tuple(_overlap_caveats(model, caller)))


def estimate_propensity(
    responses: pd.DataFrame,
    *,
    exposure: str,
    covariates: Sequence[str],
    cluster: str | None = None,
    trim: tuple[float, float] | None = DEFAULT_TRIM,
    stabilize: bool = True,
    estimand: Estimand = "ate",
    weight: str | None = None,
) -> PropensityModel:
    """Estimate each respondent's probability of exposure and the inverse-probability weights.

    The propensity score :math:`e(x) = P(T = 1 \\mid X = x)` is fitted by an unpenalized
    logistic regression of the 0/1 ``exposure`` on the pre-exposure ``covariates``
    (scikit-learn, Newton's method to the maximum-likelihood estimate). If exposure is
    unconfounded given the covariates, comparing outcomes weighted by
    :math:`w = T / e + (1 - T) / (1 - e)` estimates the average effect of exposure on
    everyone (ATE); :math:`w = T + (1 - T)\\, e / (1 - e)` estimates it on the exposed (ATT).
    Stabilized weights multiply the ATE weights by the share of each group,
    :math:`P(T = 1)` and :math:`P(T = 0)`, and the ATT weights of the unexposed by
    :math:`P(T = 0) / P(T = 1)`, so that each group's weights sum to about its size.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent.
    exposure : str
        0/1 column, 1 = exposed (for example recalls seeing the campaign).
    covariates : sequence of str
        Numeric characteristics measured before the campaign (or that it cannot change):
        years of life, schooling, employment, household size, kin abroad, a baseline outcome.
    cluster : str or None, default None
        Cluster column; rows without a cluster are dropped so that the weights line up with
        a clustered outcome regression, and ``n_clusters`` is reported.
    trim : (float, float) or None, default (0.01, 0.99)
        Scores are clipped to these bounds before weighting (weight truncation, which keeps
        every row; Lee, Lessler and Stuart 2011); None keeps the scores as fitted.
        Clipped rows are counted.
    stabilize : bool, default True
        Stabilize the weights (see above).
    estimand : {"ate", "att"}, default "ate"
        The average effect on everyone or on the exposed.
    weight : str or None, default None
        Survey (design) weights. The score model is fitted by design-weighted maximum
        likelihood, the stabilizing shares are design-weighted, and the returned weights are
        design weight x propensity weight, so that the weighted comparison targets the
        population the sample represents (DuGoff, Schuler and Stuart 2014). Rows with a
        missing or zero weight are left out.

    Returns
    -------
    PropensityModel
        Scores (before clipping) and weights on the index of ``responses`` (NaN for rows with
        a missing exposure, covariate or cluster), coefficients, clipping counts, the common
        support and the share outside it, Kish effective sample sizes and the overlap table
        (``tidy()``, :data:`OVERLAP_COLUMNS`).

    Raises
    ------
    TypeError
        ``responses`` is not a DataFrame; a covariate or the exposure is not numeric; ``trim``
        is not a pair.
    ValueError
        An absent column; no covariates; exposure not 0/1; ``trim`` outside [0, 1];
        ``estimand`` not 'ate' or 'att'.
    DesignError
        No complete row; exposure does not vary; a covariate does not vary; collinear
        covariates; perfect separation (exposure predicted exactly, infinite weights); the
        model does not converge.

    Warns
    -----
    PoorOverlapWarning
        Scores outside the ``trim`` bounds (or (0.01, 0.99) when ``trim`` is None), more than
        10% of rows outside the common support, or a group whose effective sample size is
        below half its rows.

    Notes
    -----
    Weights remove only the confounding by the covariates in the model: people who recall a
    campaign may differ in ways no survey item records (interest in migration, media use).
    Check the result with :func:`weighted_balance`. The scores in ``scores`` are the fitted
    ones; the weights use the clipped scores.

    References
    ----------
    Rosenbaum, P. R., & Rubin, D. B. (1983). The central role of the propensity score in
    observational studies for causal effects. Biometrika, 70(1), 41-55.
    Austin, P. C., & Stuart, E. A. (2015). Moving towards best practice when using inverse
    probability of treatment weighting (IPTW) using the propensity score to estimate causal
    treatment effects in observational studies. Statistics in Medicine, 34(28), 3661-3679.
    Lunceford, J. K., & Davidian, M. (2004). Stratification and weighting via the propensity
    score in estimation of causal treatment effects: a comparative study. Statistics in
    Medicine, 23(19), 2937-2960.
    Lee, B. K., Lessler, J., & Stuart, E. A. (2011). Weight trimming and propensity score
    weighting. PLoS ONE, 6(3), e18174.
    DuGoff, E. H., Schuler, M., & Stuart, E. A. (2014). Generalizing observational study
    results: applying propensity score methods to complex surveys. Health Services
    Research, 49(1), 284-303.
    Kish, L. (1965). Survey Sampling. New York: Wiley.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> frame = pd.DataFrame({"years": rng.normal(30, 8, size=400),
    ...                       "kin_abroad": rng.integers(0, 2, size=400).astype(float)})
    >>> chance = 1 / (1 + np.exp(-(-0.5 + 0.03 * (frame["years"] - 30)
    ...                            + 0.8 * frame["kin_abroad"])))
    >>> frame["saw_campaign"] = (rng.random(400) < chance).astype(float)
    >>> model = estimate_propensity(frame, exposure="saw_campaign",
    ...                             covariates=["years", "kin_abroad"])
    >>> model.n_obs, model.n_exposed + model.n_unexposed, model.n_clipped_low
    (400, 400, 0)
    >>> model.tidy()["group"].tolist()
    ['unexposed', 'exposed']
    """
    caller = "estimate_propensity"
    check_responses(responses, caller=caller)
    model = _propensity(
        responses,
        exposure=exposure,
        covariates=covariates,
        cluster=cluster,
        trim=_check_trim(trim, caller),
        stabilize=bool(stabilize),
        estimand=_check_estimand(estimand, caller),
        caller=caller,
        weight=weight,
    )
    if model.warnings:
        warnings.warn(_overlap_message(model.warnings), PoorOverlapWarning, stacklevel=2)
    return model


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 0 else float("nan")


def weighted_balance(
    responses: pd.DataFrame,
    *,
    exposure: str,
    covariates: Sequence[str],
    weight: str,
) -> pd.DataFrame:
    """Standardized mean differences of covariates before and after weighting.

    For each covariate, the difference between the exposed and unexposed means divided by
    the pooled standard deviation :math:`\\sqrt{(s_1^2 + s_0^2) / 2}`, first with plain
    means, then with means weighted by ``weight``; the denominator is the unweighted pooled
    standard deviation in both, so that only the numerator reflects the weighting (Austin and
    Stuart 2015). Absolute weighted differences below 0.1 are taken as balanced. Each group's
    effective sample size (Kish) shows how many respondents the weights effectively keep.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent.
    exposure : str
        0/1 exposure column.
    covariates : sequence of str
        Numeric covariates to compare (typically those of the propensity model and others
        that should be balanced).
    weight : str
        Non-negative weights, for example ``PropensityModel.weights`` stored as a column.
        Rows with a missing or zero weight are left out of both the unweighted and the
        weighted comparison.

    Returns
    -------
    pandas.DataFrame
        One row per covariate with :data:`WEIGHTED_BALANCE_COLUMNS`. A covariate without
        spread in either group has NaN standardized differences.

    Raises
    ------
    TypeError
        ``responses`` is not a DataFrame; a column is not numeric.
    ValueError
        An absent column; no covariates; exposure not 0/1; negative weights.
    DesignError
        Exposure does not vary among the weighted rows; a group has no answer to a covariate.

    Notes
    -----
    Standardized differences, unlike t statistics, do not grow with the sample size and so
    judge balance rather than test it. Balance on the means is necessary, not sufficient:
    check also the interactions and squares that matter for the outcome.

    References
    ----------
    Austin, P. C., & Stuart, E. A. (2015). Moving towards best practice when using inverse
    probability of treatment weighting (IPTW) using the propensity score to estimate causal
    treatment effects in observational studies. Statistics in Medicine, 34(28), 3661-3679.
    Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups in propensity-score matched samples. Statistics in
    Medicine, 28(25), 3083-3107.
    Kish, L. (1965). Survey Sampling. New York: Wiley.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"saw_campaign": [1, 1, 1, 0, 0, 0],
    ...                       "years": [30.0, 40.0, 50.0, 20.0, 30.0, 40.0],
    ...                       "weight": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]})
    >>> table = weighted_balance(frame, exposure="saw_campaign", covariates=["years"],
    ...                          weight="weight")
    >>> float(table.loc[0, "standardized_difference"])
    1.0
    """
    caller = "weighted_balance"
    check_responses(responses, caller=caller)
    names = check_names(covariates, what="covariates", caller=caller)
    check_columns(
        responses, [exposure, *names, weight], caller=caller, numeric=[exposure, *names, weight]
    )
    status = _exposure_values(responses, exposure, caller)
    weights = responses[weight].to_numpy(dtype=float, na_value=np.nan)
    negative = weights < 0
    if negative.any():
        raise ValueError(
            f"{caller}: weight {weight!r} holds negative values in {int(negative.sum())} rows; "
            f"found {sorted(set(weights[negative].tolist()))[:5]!r}. Pass non-negative weights."
        )
    used = ~np.isnan(status) & np.isfinite(weights) & (weights > 0)
    _check_both_groups(status[used], exposure, caller)
    rows = []
    for name in names:
        values = responses[name].to_numpy(dtype=float, na_value=np.nan)
        answered = used & np.isfinite(values)
        groups = {}
        for label, level in (("unexposed", 0.0), ("exposed", 1.0)):
            mask = answered & (status == level)
            if not mask.any():
                raise DesignError(
                    f"{caller}: no weighted {label} row answers {name!r}. Drop the covariate or "
                    "check its coding."
                )
            groups[label] = (values[mask], weights[mask])
        (x0, w0), (x1, w1) = groups["unexposed"], groups["exposed"]
        variance_0 = float(x0.var(ddof=1)) if x0.size > 1 else float("nan")
        variance_1 = float(x1.var(ddof=1)) if x1.size > 1 else float("nan")
        pooled = float(np.sqrt((variance_0 + variance_1) / 2))
        spread = pooled if np.isfinite(pooled) and pooled > 0 else float("nan")
        mean_0, mean_1 = float(x0.mean()), float(x1.mean())
        weighted_0, weighted_1 = _weighted_mean(x0, w0), _weighted_mean(x1, w1)
        weighted_difference = (weighted_1 - weighted_0) / spread
        rows.append(
            {
                "covariate": name,
                "n_unexposed": int(x0.size),
                "n_exposed": int(x1.size),
                "mean_unexposed": mean_0,
                "mean_exposed": mean_1,
                "std_dev_pooled": pooled,
                "standardized_difference": (mean_1 - mean_0) / spread,
                "weighted_mean_unexposed": weighted_0,
                "weighted_mean_exposed": weighted_1,
                "weighted_standardized_difference": weighted_difference,
                "effective_sample_size_unexposed": _kish(w0),
                "effective_sample_size_exposed": _kish(w1),
                "balanced": bool(abs(weighted_difference) < BALANCE_THRESHOLD),
            }
        )
    return pd.DataFrame(rows, columns=WEIGHTED_BALANCE_COLUMNS)


def _free_name(frame: pd.DataFrame, wanted: str) -> str:
    name = wanted
    while name in frame.columns:
        name = f"_{name}"
    return name


def estimate_exposure_effect(
    responses: pd.DataFrame,
    *,
    outcome: str,
    exposure: str,
    covariates: Sequence[str],
    cluster: str,
    stratum: str | None = None,
    estimand: Estimand = "ate",
    confidence: float = 0.95,
    baseline: str | None = None,
    trim: tuple[float, float] | None = DEFAULT_TRIM,
    stabilize: bool = True,
    small_sample: SmallSample = "stata",
    weight: str | None = None,
) -> EffectEstimate:
    """Estimate the effect of self-reported exposure by an inverse-probability weighted regression.

    The estimand is the average effect of exposure on everyone (``"ate"``) or on the exposed
    (``"att"``), assuming that, given the covariates (and the baseline outcome), who reports
    exposure is unrelated to the outcome they would have had without it. The estimate is the
    coefficient of ``exposure`` in the weighted least-squares regression
    ``outcome ~ exposure [+ baseline] + covariates [+ stratum fixed effects]`` with the
    weights of :func:`estimate_propensity` (fitted on the covariates and the baseline
    outcome), and CR1 errors clustered on ``cluster`` with a t(G-1) reference. Weighting and
    covariate adjustment together are doubly robust: the estimate is consistent if either the
    propensity model or the linear outcome model is right (the latter with an effect that
    does not vary with the covariates; Funk et al. 2011).

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent at the wave where the outcome is measured (with the baseline
        outcome as a column in a panel).
    outcome : str
        Numeric outcome.
    exposure : str
        0/1 exposure, 1 = recalls the campaign.
    covariates : sequence of str
        Pre-exposure numeric covariates, used in the propensity model and the regression.
    cluster : str
        Community (sampling cluster) for the cluster-robust errors.
    stratum : str or None, default None
        Sampling stratum, absorbed as fixed effects in the regression (not in the propensity
        model: add stratum indicators to ``covariates`` to weight on it too).
    estimand : {"ate", "att"}, default "ate"
        Whose average effect the weights target.
    confidence : float, default 0.95
        Level of the interval.
    baseline : str or None, default None
        Baseline value of the outcome (panels): a covariate of both models.
    trim : (float, float) or None, default (0.01, 0.99)
        Clipping bounds of the scores, as in :func:`estimate_propensity`.
    stabilize : bool, default True
        Stabilized weights.
    small_sample : {"stata", "fixest"}, default "stata"
        CR1 convention of :func:`measurement.linear_model.fit_linear_model`.
    weight : str or None, default None
        Survey (design) weights, combined with the propensity weights as in
        :func:`estimate_propensity`: the regression is weighted by their product.

    Returns
    -------
    EffectEstimate
        ``estimator`` ``"ipw"``, ``term`` the exposure column; ``comparison_mean`` is the
        weighted mean outcome of the unexposed (the estimated mean without exposure among
        everyone for the ATE, among the exposed for the ATT); ``standardized_effect`` divides
        by the weighted standard deviation of the unexposed group's baseline outcome (of the
        outcome itself without ``baseline``). ``notes`` state the propensity model and the
        variance; ``warnings`` carry overlap and few-cluster caveats.

    Raises
    ------
    TypeError, ValueError, DesignError
        As :func:`estimate_propensity` (no variation in exposure, absent or constant
        covariates, perfect separation), and as
        :func:`measurement.linear_model.fit_linear_model` (one cluster, an outcome without
        variation); ``confidence`` outside (0, 1).

    Warns
    -----
    PoorOverlapWarning
        As :func:`estimate_propensity`.
    FewClustersWarning
        Fewer than 30 clusters.

    Notes
    -----
    The variance treats the estimated weights as fixed. For the ATE this is conservative when
    the propensity model is correctly specified: estimating the score rather than knowing it
    lowers the variance of the weighted estimator (Hirano, Imbens and Ridder 2003;
    Lunceford and Davidian 2004). For the ATT it is not guaranteed to be conservative
    (Reifeis and Hudgens 2022). Exposure is self-reported: recall itself can be shaped by the
    outcome (people interested in migration remember migration messages), which no weighting
    removes. This is not a randomised comparison.

    References
    ----------
    Rosenbaum, P. R., & Rubin, D. B. (1983). The central role of the propensity score in
    observational studies for causal effects. Biometrika, 70(1), 41-55.
    Hirano, K., Imbens, G. W., & Ridder, G. (2003). Efficient estimation of average treatment
    effects using the estimated propensity score. Econometrica, 71(4), 1161-1189.
    Lunceford, J. K., & Davidian, M. (2004). Stratification and weighting via the propensity
    score in estimation of causal treatment effects: a comparative study. Statistics in
    Medicine, 23(19), 2937-2960.
    Austin, P. C., & Stuart, E. A. (2015). Moving towards best practice when using inverse
    probability of treatment weighting (IPTW) using the propensity score to estimate causal
    treatment effects in observational studies. Statistics in Medicine, 34(28), 3661-3679.
    Funk, M. J., Westreich, D., Wiesen, C., Stürmer, T., Brookhart, M. A., & Davidian, M.
    (2011). Doubly robust estimation of causal effects. American Journal of Epidemiology,
    173(7), 761-767.
    Reifeis, S. A., & Hudgens, M. G. (2022). On variance of the treatment effect in the
    treated when estimated by inverse probability weighting. American Journal of
    Epidemiology, 191(6), 1092-1097.
    Kish, L. (1965). Survey Sampling. New York: Wiley.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(40), 25)})
    >>> frame["years"] = rng.normal(30, 8, size=1000)
    >>> frame["kin_abroad"] = rng.integers(0, 2, size=1000).astype(float)
    >>> chance = 1 / (1 + np.exp(-(0.04 * (frame["years"] - 30) + frame["kin_abroad"] - 0.5)))
    >>> frame["saw_campaign"] = (rng.random(1000) < chance).astype(float)
    >>> frame["trust_iom"] = (0.3 * frame["saw_campaign"] + 0.05 * frame["years"]
    ...                       + frame["kin_abroad"] + rng.normal(size=1000))
    >>> effect = estimate_exposure_effect(frame, outcome="trust_iom", exposure="saw_campaign",
    ...                                   covariates=["years", "kin_abroad"],
    ...                                   cluster="cluster")
    >>> effect.estimator, effect.term, effect.n_clusters
    ('ipw', 'saw_campaign', 40)
    >>> bool(effect.conf_low < 0.3 < effect.conf_high)
    True
    """
    caller = "estimate_exposure_effect"
    check_responses(responses, caller=caller)
    check_confidence(confidence, caller=caller)
    names = check_names(covariates, what="covariates", caller=caller)
    bounds = _check_trim(trim, caller)
    target = _check_estimand(estimand, caller)
    model_covariates = [*names, *([baseline] if baseline is not None else [])]
    if baseline is not None and baseline in names:
        model_covariates = names
    columns = [outcome, exposure, *model_covariates, cluster]
    columns += [stratum] if stratum is not None else []
    columns += [weight] if weight is not None else []
    numeric = [outcome, exposure, *model_covariates, *([weight] if weight is not None else [])]
    check_columns(responses, columns, caller=caller, numeric=numeric)
    frame = responses[list(dict.fromkeys(columns))]
    frame = frame[frame.notna().all(axis=1)].copy()
    if frame.empty:
        raise DesignError(
            f"{caller}: no row has all of {list(dict.fromkeys(columns))!r} present; found 0 "
            f"complete rows of {len(responses)}. Drop the covariates that are mostly missing."
        )
    propensity = _propensity(
        frame,
        exposure=exposure,
        covariates=model_covariates,
        cluster=cluster,
        trim=bounds,
        stabilize=bool(stabilize),
        estimand=target,
        caller=caller,
        weight=weight,
    )
    if propensity.warnings:
        warnings.warn(_overlap_message(propensity.warnings), PoorOverlapWarning, stacklevel=2)
    frame = frame.loc[propensity.weights.notna()].copy()
    combined = _free_name(frame, "propensity_weight")
    frame[combined] = propensity.weights
    frame[exposure] = frame[exposure].astype(float)
    unexposed = (frame[exposure] == 0).to_numpy()
    words = (
        f"inverse-probability weighted regression ({target.upper()}): {outcome} ~ {exposure}"
        + (f" + baseline {baseline}" if baseline is not None else "")
        + "".join(f" + {name}" for name in names if name != baseline)
        + (f" + {stratum} fixed effects" if stratum is not None else "")
        + f", weighted by {propensity.method}; weighted for self-selected exposure; "
        "not a randomised comparison"
    )
    effect_model = EffectModel(
        frame=frame,
        outcome=outcome,
        treated=exposure,
        regressors=[exposure, *model_covariates],
        term=exposure,
        cluster=cluster,
        stratum=stratum,
        fixed_effects=[stratum] if stratum is not None else [],
        weight=combined,
        estimator="ipw",
        specification=words,
        permuted={exposure: None},
        comparison=unexposed,
        comparison_baseline=frame.loc[unexposed, baseline if baseline is not None else outcome],
    )
    fit = fit_effect_model(effect_model, small_sample=small_sample)
    effect = summarize_effect(effect_model, fit, confidence=confidence, caller=caller)
    variance_note = (
        "the estimated propensity weights are treated as fixed in the CR1 variance; for the "
        "ATE this is conservative when the propensity model is correct (Hirano, Imbens and "
        "Ridder 2003; Lunceford and Davidian 2004)"
        if target == "ate"
        else "the estimated propensity weights are treated as fixed in the CR1 variance; for "
        "the ATT this is not guaranteed to be conservative (Reifeis and Hudgens 2022)"
    )
    overlap_note = (
        f"overlap: {propensity.n_clipped_low + propensity.n_clipped_high} scores clipped, "
        f"{propensity.share_outside_support:.1%} of rows outside the common support, effective "
        f"sample {propensity.effective_sample_size_exposed:.0f} of {propensity.n_exposed} "
        f"exposed and {propensity.effective_sample_size_unexposed:.0f} of "
        f"{propensity.n_unexposed} unexposed"
    )
    caveats = [
        "poor overlap: " + caveat.removeprefix(f"{caller}: ") for caveat in propensity.warnings
    ]
    return replace(
        effect,
        notes=(
            *effect.notes,
            "exposure is self-reported; the comparison is weighted for self-selected exposure "
            "and is not a randomised comparison",
            variance_note,
            overlap_note,
        ),
        warnings=(*effect.warnings, *caveats),
    )
