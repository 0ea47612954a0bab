"""Ordered logit of a Likert outcome: a robustness check beside the linear model.

The proportional-odds model is fitted by Newton's method on the exact log-likelihood to a
gradient below 1e-9, or below the rounding floor of its sum on large samples (R
``ordinal::clm`` agrees to 1e-6 relative; see tests/reference), with model-based and
cluster-robust standard errors for every coefficient and cut point.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from measurement.arguments import check_columns, check_confidence, check_names
from measurement.effects import EffectEstimate
from measurement.errors import DesignError, StatisticalCaveatWarning

__all__ = [
    "ORDERED_LOGIT_COLUMNS",
    "ORDERED_LOGIT_NOTE",
    "OrderedLogitFit",
    "estimate_ordered_logit",
    "fit_ordered_logit",
]

ORDERED_LOGIT_NOTE = (
    "ordered logit robustness check: the estimate is the log-odds ratio of answering in a "
    "higher category (proportional odds); not comparable in size with the linear estimate"
)
ORDERED_LOGIT_COLUMNS = [
    "term",
    "kind",
    "estimate",
    "std_error",
    "std_error_model",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
]
"""Columns of :meth:`OrderedLogitFit.tidy`: one row per coefficient, then per cut point."""

GRADIENT_TOLERANCE = 1e-9
"""Newton stops when the largest absolute score (gradient of the summed log-likelihood)
falls below this; R ``clm``'s default ``gradTol`` is 1e-6."""
RELATIVE_GRADIENT_TOLERANCE = 1e-12
"""... or when each parameter's score is below this share of the sum of its rows' absolute
scores. A summed gradient cannot be computed more exactly than about machine epsilon times
that sum: at 2.6 million rows its rounding alone is near 1e-8, so the absolute 1e-9 was
never reached and Newton ran its 200 iterations, then warned of a fit that had converged.
Below a few thousand rows the absolute tolerance is the larger, so small fits are unchanged."""
MAXIMUM_ITERATIONS = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderedLogitFit:
    """A fitted proportional-odds logit.

    ``coefficients`` are the slopes :math:`\\beta` of
    :math:`\\operatorname{logit} P(y \\le j) = \\kappa_j - x'\\beta`; ``cut_points`` the
    :math:`\\kappa_j` (labelled ``"j|j+1"`` by the category values, as R ``clm``).
    ``std_error`` is cluster-robust (CR1-type sandwich, c = G/(G-1) (N-1)/(N-K); HC1-type
    N/(N-K) without clusters), ``std_error_model`` the inverse observed information. The
    t reference has ``df_resid`` = G - 1 with clusters, N - K without.
    """

    outcome: str
    coefficients: pd.Series
    cut_points: pd.Series
    vcov: pd.DataFrame
    vcov_model: pd.DataFrame
    log_likelihood: float
    n_obs: int
    n_clusters: int
    df_resid: int
    converged: bool
    iterations: int
    gradient_max: float
    confidence: float = 0.95
    warnings: tuple[str, ...] = field(default=())

    def tidy(self) -> pd.DataFrame:
        """One row per coefficient and cut point (:data:`ORDERED_LOGIT_COLUMNS`)."""
        estimates = pd.concat([self.coefficients, self.cut_points])
        robust = np.sqrt(np.diag(self.vcov.to_numpy()))
        model = np.sqrt(np.diag(self.vcov_model.to_numpy()))
        statistic = estimates.to_numpy() / robust
        critical = float(stats.t.ppf(0.5 + self.confidence / 2, self.df_resid))
        return pd.DataFrame(
            {
                "term": estimates.index,
                "kind": ["coefficient"] * len(self.coefficients)
                + ["cut_point"] * len(self.cut_points),
                "estimate": estimates.to_numpy(),
                "std_error": robust,
                "std_error_model": model,
                "statistic": statistic,
                "p_value": 2 * stats.t.sf(np.abs(statistic), self.df_resid),
                "conf_low": estimates.to_numpy() - critical * robust,
                "conf_high": estimates.to_numpy() + critical * robust,
            },
            columns=ORDERED_LOGIT_COLUMNS,
        )


def _logistic_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F(z), f(z) and f'(z) of the logistic distribution, with F(+-inf) = 1, 0."""
    cdf = special.expit(z)
    density = cdf * (1 - cdf)
    return cdf, density, density * (1 - 2 * cdf)


def _derivatives(
    theta: np.ndarray, x: np.ndarray, codes: np.ndarray, n_cuts: int
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood, per-row scores (N x P) and the Hessian (P x P) at ``theta``."""
    k = x.shape[1]
    beta, cuts = theta[:k], theta[k:]
    eta = x @ beta if k else np.zeros(x.shape[0])
    bounds = np.concatenate([[-np.inf], cuts, [np.inf]])
    upper = bounds[codes + 1] - eta
    lower = bounds[codes] - eta
    f_up, d_up, dd_up = _logistic_parts(upper)
    f_low, d_low, dd_low = _logistic_parts(lower)
    # P(y = j) = F(upper) - F(lower), computed on the smaller tail to keep precision.
    probability = np.where(lower > 0, special.expit(-lower) - special.expit(-upper), f_up - f_low)
    probability = np.maximum(probability, np.finfo(float).tiny)
    log_likelihood = float(np.sum(np.log(probability)))
    n = x.shape[0]
    grad_up = np.zeros((n, k + n_cuts))
    grad_low = np.zeros((n, k + n_cuts))
    grad_up[:, :k] = -x
    grad_low[:, :k] = -x
    rows = np.arange(n)
    has_up = codes < n_cuts
    has_low = codes > 0
    grad_up[rows[has_up], k + codes[has_up]] = 1.0
    grad_low[rows[has_low], k + codes[has_low] - 1] = 1.0
    grad_up[~has_up] = 0.0
    grad_low[~has_low] = 0.0
    a = d_up / probability
    b = d_low / probability
    scores = a[:, None] * grad_up - b[:, None] * grad_low
    h_uu = dd_up / probability - a**2
    h_ll = -dd_low / probability - b**2
    h_ul = a * b
    hessian = (
        (grad_up * h_uu[:, None]).T @ grad_up
        + (grad_low * h_ll[:, None]).T @ grad_low
        + (grad_up * h_ul[:, None]).T @ grad_low
        + (grad_low * h_ul[:, None]).T @ grad_up
    )
    return log_likelihood, scores, hessian, probability


def _gradient_tolerance(scores: np.ndarray) -> np.ndarray:
    """Per parameter: the larger of the absolute and the relative (rounding-floor) tolerance."""
    return np.maximum(GRADIENT_TOLERANCE, RELATIVE_GRADIENT_TOLERANCE * np.abs(scores).sum(axis=0))


def _newton(
    x: np.ndarray, codes: np.ndarray, n_cuts: int
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, bool, int, float, float]:
    """Theta, log-likelihood, scores, Hessian, converged, iterations, and the largest score
    with the tolerance of the parameter furthest above its tolerance."""
    shares = np.cumsum(np.bincount(codes, minlength=n_cuts + 1))[:-1] / codes.size
    theta = np.concatenate([np.zeros(x.shape[1]), special.logit(shares)])
    log_likelihood, scores, hessian, _ = _derivatives(theta, x, codes, n_cuts)
    gradient = scores.sum(axis=0)
    converged = False
    iterations = 0
    while iterations < MAXIMUM_ITERATIONS:
        iterations += 1
        try:
            step = np.linalg.solve(hessian, -gradient)
        except np.linalg.LinAlgError:
            break
        size = 1.0
        for _ in range(40):
            candidate = theta + size * step
            ordered = bool(np.all(np.diff(candidate[x.shape[1] :]) > 0))
            if ordered:
                new = _derivatives(candidate, x, codes, n_cuts)
                if new[0] >= log_likelihood - 1e-12 * abs(log_likelihood):
                    break
            size /= 2
        else:
            break
        theta = candidate
        log_likelihood, scores, hessian, _ = new
        gradient = scores.sum(axis=0)
        if bool(np.all(np.abs(gradient) < _gradient_tolerance(scores))):
            converged = True
            break
    tolerance = _gradient_tolerance(scores)
    worst = int(np.argmax(np.abs(gradient) / tolerance))
    largest = float(np.max(np.abs(gradient)))
    return (
        theta,
        log_likelihood,
        scores,
        hessian,
        converged,
        iterations,
        largest,
        float(tolerance[worst]),
    )


def fit_ordered_logit(
    responses: pd.DataFrame,
    *,
    outcome: str,
    regressors: list[str] | tuple[str, ...],
    cluster: str | None = None,
    confidence: float = 0.95,
) -> OrderedLogitFit:
    """Fit the proportional-odds (ordered) logit of ``outcome`` on ``regressors``.

    The model is :math:`\\operatorname{logit} P(y_i \\le j) = \\kappa_j - x_i'\\beta` for
    the ordered categories :math:`j` of ``outcome`` (its distinct values, sorted), fitted
    by maximum likelihood with Newton's method (exact gradient and Hessian, step halving)
    until every score is below :data:`GRADIENT_TOLERANCE` or, on large samples, below
    :data:`RELATIVE_GRADIENT_TOLERANCE` times the sum of its rows' absolute scores (the
    rounding floor of the summed gradient). The slopes have
    R ``ordinal::clm``'s sign: a positive :math:`\\beta` shifts answers up.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent; rows with a missing used value are dropped.
    outcome : str
        Ordinal outcome (numeric codes, higher = more), at least three categories.
    regressors : list of str
        Numeric regressors (dummies already built; no intercept, the cut points take it).
    cluster : str or None, default None
        Cluster column for the robust variance; None gives the heteroskedasticity-robust
        sandwich.
    confidence : float, default 0.95
        Level of the intervals in :meth:`OrderedLogitFit.tidy`.

    Returns
    -------
    OrderedLogitFit
        Slopes, cut points, both variances, the log-likelihood and convergence details.

    Raises
    ------
    ValueError, TypeError
        Absent or non-numeric columns; bad ``confidence``.
    DesignError
        Fewer than three categories; fewer than two clusters; collinear regressors.

    Warns
    -----
    StatisticalCaveatWarning
        Newton's method stopped before the gradient tolerance (also in ``warnings``).

    References
    ----------
    McCullagh, P. (1980). Regression models for ordinal data. Journal of the Royal
    Statistical Society B, 42(2), 109-142.
    Christensen, R. H. B. (2019). ordinal: Regression models for ordinal data. R package.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> frame = pd.DataFrame({"treated": np.repeat([0.0, 1.0], 300)})
    >>> latent = 0.5 * frame["treated"] + rng.logistic(size=600)
    >>> frame["answer"] = np.digitize(latent, [-1.0, 0.0, 1.0]) + 1
    >>> fit = fit_ordered_logit(frame, outcome="answer", regressors=["treated"])
    >>> fit.converged, list(fit.cut_points.index)
    (True, ['1|2', '2|3', '3|4'])
    """
    caller = "fit_ordered_logit"
    check_confidence(confidence, caller=caller)
    names = check_names(regressors, what="regressors", caller=caller, minimum=0)
    check_columns(responses, [outcome, *names, cluster], caller=caller, numeric=[outcome, *names])
    used = [outcome, *names, *([cluster] if cluster is not None else [])]
    frame = responses[list(dict.fromkeys(used))].dropna()
    categories = np.unique(frame[outcome].to_numpy(dtype=float))
    if categories.size < 3:
        raise DesignError(
            f"{caller}: {outcome!r} has {categories.size} categories {categories.tolist()!r}; "
            "an ordered logit needs at least three. Use the linear probability model."
        )
    codes = np.searchsorted(categories, frame[outcome].to_numpy(dtype=float))
    x = frame[names].to_numpy(dtype=float) if names else np.empty((len(frame), 0))
    if names and np.linalg.matrix_rank(np.column_stack([np.ones(len(x)), x])) < len(names) + 1:
        raise DesignError(
            f"{caller}: the regressors {names!r} are collinear with each other or the cut "
            "points (a constant column). Drop a redundant regressor."
        )
    if cluster is not None:
        groups, levels = pd.factorize(frame[cluster])
        n_clusters = len(levels)
        if n_clusters < 2:
            raise DesignError(
                f"{caller}: found {n_clusters} cluster in {cluster!r}; clustered errors need "
                "at least two. Check the cluster column or pass cluster=None."
            )
    else:
        groups, n_clusters = np.arange(len(frame)), len(frame)
    n_cuts = categories.size - 1
    theta, log_likelihood, scores, hessian, converged, iterations, gradient_max, tolerance = (
        _newton(x, codes, n_cuts)
    )
    caveats: list[str] = []
    if not converged:
        caveats.append(
            f"{caller}: Newton's method stopped after {iterations} iterations with a largest "
            f"score of {gradient_max:.3g} (tolerance {tolerance:.3g}); the estimates "
            "may not be the maximum-likelihood ones"
        )
    for message in caveats:
        warnings.warn(message, StatisticalCaveatWarning, stacklevel=2)
    bread = np.linalg.inv(-hessian)
    cluster_scores = np.zeros((n_clusters, scores.shape[1]))
    np.add.at(cluster_scores, groups, scores)
    n, p = len(frame), scores.shape[1]
    factor = (
        n_clusters / (n_clusters - 1) * (n - 1) / (n - p) if cluster is not None else n / (n - p)
    )
    robust = factor * bread @ (cluster_scores.T @ cluster_scores) @ bread
    labels = [f"{_label(categories[j])}|{_label(categories[j + 1])}" for j in range(n_cuts)]
    index = [*names, *labels]
    return OrderedLogitFit(
        outcome=outcome,
        coefficients=pd.Series(theta[: len(names)], index=names, dtype=float),
        cut_points=pd.Series(theta[len(names) :], index=labels, dtype=float),
        vcov=pd.DataFrame((robust + robust.T) / 2, index=index, columns=index),
        vcov_model=pd.DataFrame((bread + bread.T) / 2, index=index, columns=index),
        log_likelihood=log_likelihood,
        n_obs=n,
        n_clusters=n_clusters,
        df_resid=n_clusters - 1 if cluster is not None else n - p,
        converged=converged,
        iterations=iterations,
        gradient_max=gradient_max,
        confidence=confidence,
        warnings=tuple(caveats),
    )


def _label(value: float) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


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
    likelihood by :func:`fit_ordered_logit` (Newton's method to a gradient below 1e-9;
    agrees with R ``ordinal::clm`` to 1e-6). ``estimate`` is :math:`\\beta`, the log-odds
    ratio of answering in a higher category; its standard error is clustered on ``cluster``
    (sandwich with the G/(G-1) (N-1)/(N-K) correction), and the p-value and interval use a
    t(G-1) reference as the linear estimators. :func:`fit_ordered_logit` returns every
    coefficient, the cut points, the log-likelihood and both variances.

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
        Newton's method did not reach the gradient tolerance (also listed in the result's
        ``warnings``). Other libraries' warnings are not caught.

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
    _, cluster_levels = pd.factorize(frame[cluster])
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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalCaveatWarning)
        fit = fit_ordered_logit(
            pd.concat([frame[[outcome, cluster]], regressors], axis=1),
            outcome=outcome,
            regressors=list(regressors.columns),
            cluster=cluster,
            confidence=confidence,
        )
    for item in caught:
        if not issubclass(item.category, StatisticalCaveatWarning):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    caveats = [
        f"ordered logit: {message.removeprefix('fit_ordered_logit: ')}" for message in fit.warnings
    ]
    for message in caveats:
        warnings.warn(f"{caller}: {message}", StatisticalCaveatWarning, stacklevel=2)
    estimate = float(fit.coefficients[treated])
    position = list(fit.vcov.index).index(treated)
    std_error = float(np.sqrt(fit.vcov.to_numpy()[position, position]))
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
            f"maximum likelihood (Newton, largest score {fit.gradient_max:.1g}); "
            f"cluster-robust sandwich on {cluster}, G/(G-1)(N-1)/(N-K); t({g - 1}) reference"
        ),
        comparison_mean=float(comparison.mean()),
        comparison_sd_baseline=float("nan"),
        standardized_effect=float("nan"),
        notes=(ORDERED_LOGIT_NOTE,),
        warnings=tuple(caveats),
    )
