"""Ordered logit of a Likert outcome: a robustness check beside the linear model."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel

from measurement.effects import EffectEstimate
from measurement.errors import DesignError, StatisticalCaveatWarning

__all__ = ["ORDERED_LOGIT_NOTE", "estimate_ordered_logit"]

ORDERED_LOGIT_NOTE = (
    "ordered logit robustness check: the estimate is the log-odds ratio of answering in a "
    "higher category (proportional odds); not comparable in size with the linear estimate"
)


def estimate_ordered_logit(
    responses: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    cluster: str,
    baseline: str | None = None,
    stratum: str | None = None,
    covariates: list[str] | tuple[str, ...] = (),
    confidence: float = 0.95,
) -> EffectEstimate:
    """Estimate the campaign's effect on an ordinal outcome by ordered logit.

    The model is the proportional-odds logit
    :math:`P(y_i \\le j) = \\Lambda(\\kappa_j - \\beta\\, treated_i - x_i'\\gamma)` with the
    baseline outcome, covariates and stratum dummies in :math:`x_i`, fitted by maximum
    likelihood (statsmodels ``OrderedModel``, BFGS). ``estimate`` is :math:`\\beta`, the
    log-odds ratio of answering in a higher category; its standard error is clustered on
    ``cluster`` (statsmodels' sandwich with the G/(G-1) (N-1)/(N-K) correction), and the
    p-value and interval use a t(G-1) reference as the linear estimators.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent at follow-up.
    outcome : str
        Ordinal outcome (integer codes, higher = more).
    treated : str
        0/1 assignment.
    cluster : str
        Unit of assignment.
    baseline : str or None
        Baseline value of the outcome (ANCOVA-style adjustment).
    stratum : str or None
        Strata, entered as dummies.
    covariates : list of str
        Numeric covariates.
    confidence : float, default 0.95

    Returns
    -------
    EffectEstimate
        ``estimator="ordered_logit"``, ``standardized_effect`` NaN, a note on the scale.

    Raises
    ------
    ValueError
        Missing columns, ``confidence`` outside (0, 1).
    DesignError
        Fewer than three outcome categories, fewer than two clusters, or ``treated`` without
        variation.

    Warns
    -----
    StatisticalCaveatWarning
        The optimiser reported a problem (also listed in the result's ``warnings``).

    References
    ----------
    McCullagh, P. (1980). Regression models for ordinal data. Journal of the Royal
    Statistical Society B, 42(2), 109-142.
    """
    caller = "estimate_ordered_logit"
    if not 0 < confidence < 1:
        raise ValueError(
            f"{caller}: confidence must lie strictly between 0 and 1; got {confidence!r}. "
            "Pass for example 0.95."
        )
    columns = [outcome, treated, cluster, *covariates]
    columns += [name for name in (baseline, stratum) if name is not None]
    missing = [name for name in columns if name not in responses.columns]
    if missing:
        raise ValueError(
            f"{caller}: columns {missing!r} are not in responses; found "
            f"{list(responses.columns)[:20]!r}. Pass existing column names."
        )
    frame = responses[list(dict.fromkeys(columns))].dropna()
    categories = np.sort(frame[outcome].unique())
    if categories.size < 3:
        raise DesignError(
            f"{caller}: {outcome!r} has {categories.size} categories {categories.tolist()!r}; "
            "an ordered logit needs at least three. Use the linear probability model."
        )
    groups, cluster_levels = pd.factorize(frame[cluster])
    if len(cluster_levels) < 2:
        raise DesignError(
            f"{caller}: found {len(cluster_levels)} cluster in {cluster!r}; clustered errors "
            "need at least two. Check the cluster column."
        )
    if frame[treated].nunique() < 2:
        raise DesignError(
            f"{caller}: {treated!r} does not vary; found {frame[treated].unique()!r}. "
            "Both arms are needed."
        )
    regressors = frame[[treated, *covariates] + ([baseline] if baseline else [])].astype(float)
    if stratum is not None:
        dummies = pd.get_dummies(frame[stratum], prefix=stratum, drop_first=True, dtype=float)
        regressors = pd.concat([regressors, dummies], axis=1)
    codes = pd.Series(np.searchsorted(categories, frame[outcome].to_numpy()), index=frame.index)
    model = OrderedModel(codes, regressors, distr="logit")
    caveats: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(
            method="bfgs",
            disp=False,
            maxiter=2000,
            cov_type="cluster",
            cov_kwds={"groups": groups},
        )
    for item in caught:
        caveats.append(f"ordered logit: {item.message}")
    if not fit.mle_retvals.get("converged", True):
        caveats.append("ordered logit: the optimiser did not converge")
    for message in caveats:
        warnings.warn(f"{caller}: {message}", StatisticalCaveatWarning, stacklevel=2)
    estimate = float(fit.params[treated])
    std_error = float(fit.bse[treated])
    g = len(cluster_levels)
    critical = float(stats.t.ppf(0.5 + confidence / 2, g - 1))
    statistic = estimate / std_error
    comparison = frame.loc[frame[treated] == 0, outcome]
    return EffectEstimate(
        outcome=outcome,
        term=treated,
        estimate=estimate,
        std_error=std_error,
        statistic=statistic,
        p_value=float(2 * stats.t.sf(abs(statistic), g - 1)),
        conf_low=estimate - critical * std_error,
        conf_high=estimate + critical * std_error,
        n_obs=len(frame),
        n_clusters=g,
        df_resid=g - 1,
        estimator="ordered_logit",
        specification=(
            f"ordered logit: {outcome} ~ {treated}"
            + (f" + baseline {baseline}" if baseline else "")
            + "".join(f" + {name}" for name in covariates)
            + (f" + {stratum} dummies" if stratum else "")
        ),
        inference=(
            f"cluster-robust sandwich on {cluster} (statsmodels, G/(G-1)(N-1)/(N-K)); "
            f"t({g - 1}) reference"
        ),
        comparison_mean=float(comparison.mean()),
        comparison_sd_baseline=float("nan"),
        standardized_effect=float("nan"),
        notes=(ORDERED_LOGIT_NOTE,),
        warnings=tuple(caveats),
    )
