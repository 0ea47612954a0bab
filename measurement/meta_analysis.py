"""Random-effects meta-analysis and meta-regression of study-level effect estimates.

The model: study ``i`` reports an estimate ``y_i`` of its true effect ``theta_i`` with a
known sampling variance ``v_i`` (its squared standard error); the true effects vary around
``x_i' beta`` with between-study variance ``tau^2``:
``y_i = x_i' beta + u_i + e_i``, ``u_i ~ N(0, tau^2)``, ``e_i ~ N(0, v_i)``. Without
moderators ``x_i = 1`` and ``beta`` is the mean effect.

``tau^2`` is estimated by restricted maximum likelihood (REML, the root of its score equation)
or by the method of moments of DerSimonian and Laird (DL); the fixed-effect (common-effect)
model sets ``tau^2 = 0``. Inference is Hartung-Knapp-Sidik-Jonkman (HKSJ, ``test="knha"``,
the default: the variance of the estimate scaled by the weighted residual mean square and a
t(k - p) reference) or Wald-type (``test="z"``: the model-based variance, standard normal).

Why by hand: statsmodels' ``combine_effects`` estimates tau^2 by DL or Paule-Mandel only (no
REML) and has no meta-regression; PyMARE (0.0.13, pre-1.0, needs sympy) covers REML and
Knapp-Hartung but gives no prediction interval and handles several estimates per study by
collapsing them rather than with a three-level model.
The formulas here follow metafor's ``rma.uni`` and are checked against it to 1e-6
(``tests/reference/make_meta_analysis_reference.R``); statsmodels is a second check of FE/DL.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from measurement.arguments import check_confidence
from measurement.errors import DesignError, FewStudiesWarning

__all__ = [
    "FEW_STUDIES",
    "META_REGRESSION_COLUMNS",
    "POOLED_COLUMNS",
    "MetaRegression",
    "PooledEffect",
    "meta_analysis",
    "meta_regression",
    "moderator_matrix",
]

Method = Literal["REML", "DL", "FE"]
Test = Literal["knha", "z"]
METHODS: tuple[str, ...] = ("REML", "DL", "FE")
TESTS: tuple[str, ...] = ("knha", "z")
FEW_STUDIES = 5
"""Below this many studies tau^2 is poorly determined; a FewStudiesWarning says so."""

_REML_TOLERANCE = 1e-12
_REML_ITERATIONS = 1000

POOLED_COLUMNS = [
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "df",
    "tau2",
    "tau2_std_error",
    "tau",
    "i_squared",
    "h_squared",
    "q",
    "q_df",
    "q_p_value",
    "prediction_low",
    "prediction_high",
    "fixed_estimate",
    "fixed_std_error",
    "fixed_conf_low",
    "fixed_conf_high",
    "n_studies",
    "method",
    "test",
]
"""Columns of :meth:`PooledEffect.tidy`.

``df`` is the t reference's degrees of freedom (k - 1) under HKSJ and NaN under a Wald test;
``tau2_std_error`` is REML's (inverse Fisher information) and NaN for DL and FE;
``i_squared`` (percent) and ``h_squared`` are metafor's tau^2-based definitions;
``prediction_low``/``prediction_high`` bound the true effect of a new study;
``fixed_*`` the inverse-variance fixed-effect estimate with a Wald interval, as a comparison.
"""

META_REGRESSION_COLUMNS = [
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "df",
]
"""Columns of :meth:`MetaRegression.tidy`: one row per coefficient."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Fit:
    beta: np.ndarray
    vcov: np.ndarray
    tau2: float
    tau2_std_error: float
    df: float
    critical: float
    q: float
    q_df: int
    i_squared: float
    h_squared: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PooledEffect:
    """A pooled (random-effects) effect with its heterogeneity and a fixed-effect comparison."""

    estimate: float
    std_error: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float
    df: float
    tau2: float
    tau2_std_error: float
    tau: float
    i_squared: float
    h_squared: float
    q: float
    q_df: int
    q_p_value: float
    prediction_low: float
    prediction_high: float
    fixed_estimate: float
    fixed_std_error: float
    fixed_conf_low: float
    fixed_conf_high: float
    n_studies: int
    method: str
    test: str

    def tidy(self) -> pd.DataFrame:
        """One row with the columns :data:`POOLED_COLUMNS`."""
        return pd.DataFrame([asdict(self)], columns=POOLED_COLUMNS)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaRegression:
    """A mixed-effects meta-regression: coefficients, residual heterogeneity, moderator test."""

    coefficients: pd.DataFrame
    tau2: float
    i_squared: float
    h_squared: float
    r_squared: float
    qe: float
    qe_df: int
    qe_p_value: float
    qm: float
    qm_df: int
    qm_p_value: float
    n_studies: int
    method: str
    test: str

    def tidy(self) -> pd.DataFrame:
        """The coefficients, columns :data:`META_REGRESSION_COLUMNS`."""
        return self.coefficients.copy()


def _check_inputs(
    effects: object, estimate: str, std_error: str, method: str, test: str, caller: str
) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(effects, pd.DataFrame):
        raise TypeError(
            f"{caller}: effects must be a pandas DataFrame; got {type(effects).__name__}. "
            "Pass one row per study estimate."
        )
    if method not in METHODS:
        raise ValueError(f"{caller}: method {method!r} is unknown. Choose one of {METHODS}.")
    if test not in TESTS:
        raise ValueError(f"{caller}: test {test!r} is unknown. Choose one of {TESTS}.")
    missing = [name for name in (estimate, std_error) if name not in effects.columns]
    if missing:
        raise ValueError(
            f"{caller}: columns {missing!r} are not in effects; found "
            f"{list(effects.columns)[:20]!r}. Pass the estimate and std_error column names."
        )
    y = pd.to_numeric(effects[estimate], errors="coerce").to_numpy(dtype=float)
    se = pd.to_numeric(effects[std_error], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(y) | ~np.isfinite(se) | (se <= 0)
    if bad.any():
        raise ValueError(
            f"{caller}: {int(bad.sum())} row(s) have a missing estimate or a standard error "
            "that is missing or not positive. Drop those rows before pooling."
        )
    if len(y) < 2:
        raise DesignError(
            f"{caller}: pooling needs at least 2 estimates; got {len(y)}. Add studies or "
            "report the single study's estimate."
        )
    return y, se**2


def moderator_matrix(effects: pd.DataFrame, moderators: Sequence[str]) -> pd.DataFrame:
    """The design matrix of a meta-regression: an intercept, numeric moderators as they are,
    text moderators as treatment-coded indicators (first level in sorted order omitted).

    Indicator columns are named ``moderator[level]``.
    """
    missing = [name for name in moderators if name not in effects.columns]
    if missing:
        raise ValueError(
            f"moderator_matrix: moderators {missing!r} are not columns of effects; found "
            f"{list(effects.columns)[:20]!r}. Name existing columns."
        )
    parts: dict[str, np.ndarray] = {"intercept": np.ones(len(effects))}
    for name in moderators:
        column = effects[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            values = column.to_numpy(dtype=float)
            if not np.isfinite(values).all():
                raise ValueError(
                    f"moderator_matrix: moderator {name!r} is missing in "
                    f"{int((~np.isfinite(values)).sum())} row(s). Fill it in or drop those rows."
                )
            parts[name] = values
            continue
        if column.isna().any():
            raise ValueError(
                f"moderator_matrix: moderator {name!r} is missing in {int(column.isna().sum())} "
                "row(s). Fill it in or drop those rows."
            )
        levels = sorted(column.astype(str).unique())
        for level in levels[1:]:
            parts[f"{name}[{level}]"] = (column.astype(str) == level).to_numpy(dtype=float)
    return pd.DataFrame(parts, index=effects.index)


def _projection(v: np.ndarray, X: np.ndarray, tau2: float) -> tuple[np.ndarray, np.ndarray]:
    """P = W - W X (X'WX)^-1 X'W with W = diag(1/(v + tau2)), and the weights."""
    w = 1.0 / (v + tau2)
    WX = X * w[:, None]
    inverse = np.linalg.inv(X.T @ WX)
    return np.diag(w) - WX @ inverse @ WX.T, w


def _tau2_dl(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    P, _ = _projection(v, X, 0.0)
    k, p = X.shape
    q = float(y @ P @ y)
    return max(0.0, (q - (k - p)) / float(np.trace(P)))


def _reml_score(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """Twice the derivative of the restricted log-likelihood in tau^2: y'PPy - tr(P)."""
    P, _ = _projection(v, X, tau2)
    Py = P @ y
    return float(Py @ Py - np.trace(P))


def _tau2_reml(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> tuple[float, float]:
    """REML tau^2: the root of the score equation, truncated at 0.

    metafor iterates Fisher scoring; plain Fisher scoring can oscillate around a small
    positive root (it does on simulated sets of 10 studies), so the root is bracketed and
    found by Brent's method, which reaches the same solution to 1e-12.
    """
    if _reml_score(y, v, X, 0.0) <= 0:
        tau2 = 0.0
    else:
        high = max(_tau2_dl(y, v, X), float(np.var(y)), 1e-8)
        for _ in range(200):
            if _reml_score(y, v, X, high) < 0:
                break
            high *= 2.0
        else:  # pragma: no cover - the score turns negative once tau^2 exceeds the spread
            raise DesignError(
                "meta_analysis: the REML estimate of tau^2 is unbounded. Check the standard "
                "errors (are they variances?) or use method='DL'."
            )
        tau2 = float(
            optimize.brentq(
                lambda t: _reml_score(y, v, X, t),
                0.0,
                high,
                xtol=_REML_TOLERANCE,
                rtol=4 * np.finfo(float).eps,
                maxiter=_REML_ITERATIONS,
            )
        )
    P, _ = _projection(v, X, tau2)
    information = 0.5 * float(np.trace(P @ P))
    return tau2, math.sqrt(1.0 / information)


def _fit(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, *, method: str, test: str, confidence: float
) -> _Fit:
    k, p = X.shape
    if k <= p:
        raise DesignError(
            f"meta_regression: {k} estimates cannot identify {p} coefficients. Pool more "
            "studies or name fewer moderators."
        )
    if np.linalg.matrix_rank(X) < p:
        raise DesignError(
            "meta_regression: the moderators are collinear (a level that never varies or a "
            "moderator that duplicates another). Drop one of them."
        )
    if method == "REML":
        tau2, tau2_std_error = _tau2_reml(y, v, X)
    elif method == "DL":
        tau2, tau2_std_error = _tau2_dl(y, v, X), math.nan
    else:
        tau2, tau2_std_error = 0.0, math.nan
    w = 1.0 / (v + tau2)
    WX = X * w[:, None]
    inverse = np.linalg.inv(X.T @ WX)
    beta = inverse @ (WX.T @ y)
    P_fixed, _ = _projection(v, X, 0.0)
    q = float(y @ P_fixed @ y)
    typical = (k - p) / float(np.trace(P_fixed))
    if method == "FE":
        i_squared = max(0.0, 100.0 * (q - (k - p)) / q) if q > 0 else 0.0
        h_squared = q / (k - p)
    else:
        i_squared = 100.0 * tau2 / (typical + tau2)
        h_squared = (typical + tau2) / typical
    if test == "knha":
        residuals = y - X @ beta
        scale = float(np.sum(w * residuals**2) / (k - p))
        vcov = scale * inverse
        df = float(k - p)
        critical = float(stats.t.ppf(0.5 + confidence / 2, df))
    else:
        vcov = inverse
        df = math.nan
        critical = float(stats.norm.ppf(0.5 + confidence / 2))
    return _Fit(
        beta=beta,
        vcov=vcov,
        tau2=tau2,
        tau2_std_error=tau2_std_error,
        df=df,
        critical=critical,
        q=q,
        q_df=k - p,
        i_squared=i_squared,
        h_squared=h_squared,
    )


def _p_value(statistic: float, df: float) -> float:
    if math.isnan(df):
        return float(2 * stats.norm.sf(abs(statistic)))
    return float(2 * stats.t.sf(abs(statistic), df))


def _warn_few(k: int, caller: str) -> None:
    if k < FEW_STUDIES:
        warnings.warn(
            f"{caller}: only {k} studies; tau^2 (and so the prediction interval) is poorly "
            "determined and the HKSJ interval is wide. Read the pooled estimate as provisional.",
            FewStudiesWarning,
            stacklevel=3,
        )


def meta_analysis(
    effects: pd.DataFrame,
    *,
    estimate: str = "estimate",
    std_error: str = "std_error",
    method: Method = "REML",
    test: Test = "knha",
    confidence: float = 0.95,
) -> PooledEffect:
    """Pool study estimates under a random-effects model.

    The estimand is the mean ``mu`` of the distribution of true study effects, estimated by
    the weighted mean ``sum w_i y_i / sum w_i`` with ``w_i = 1 / (v_i + tau^2)``.

    Parameters
    ----------
    effects : pandas.DataFrame
        One row per study estimate.
    estimate, std_error : str
        Columns of the estimates and their standard errors (default ``"estimate"``,
        ``"std_error"``).
    method : {"REML", "DL", "FE"}
        The estimator of tau^2 (default REML); ``"FE"`` fixes tau^2 at 0.
    test : {"knha", "z"}
        Hartung-Knapp-Sidik-Jonkman (default: variance scaled by
        ``sum w_i (y_i - mu)^2 / (k - 1)``, t(k - 1) reference) or Wald-type (normal).
    confidence : float
        Confidence level of the intervals (default 0.95).

    Returns
    -------
    PooledEffect
        ``tidy()`` gives one row with the columns :data:`POOLED_COLUMNS`.

    Raises
    ------
    ValueError
        Missing columns, an unknown method or test, a missing or non-positive standard error.
    DesignError
        Fewer than two estimates.

    Warns
    -----
    FewStudiesWarning
        With fewer than :data:`FEW_STUDIES` studies.

    Notes
    -----
    Heterogeneity: Cochran's ``Q = sum (y_i - mu_FE)^2 / v_i`` on k - 1 df;
    ``I^2 = tau^2 / (tau^2 + s^2)`` and ``H^2 = (tau^2 + s^2) / s^2`` with the "typical"
    within-study variance ``s^2 = (k - 1) sum w / ((sum w)^2 - sum w^2)``, ``w = 1/v``
    (Higgins & Thompson, 2002; metafor's definition). The prediction interval for the true
    effect of a new study is ``mu +/- c sqrt(SE^2 + tau^2)`` with ``c`` from t(k - 1) under
    HKSJ (normal under ``test="z"``). The HKSJ scale factor is not truncated at 1 (as in
    metafor's ``test="knha"``). With few studies tau^2 is imprecise and the DL/Wald
    interval undercovers; the HKSJ interval holds its level far better (IntHout et al., 2014).

    References
    ----------
    DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials. Controlled
    Clinical Trials, 7(3), 177-188.
    Hartung, J., & Knapp, G. (2001). A refined method for the meta-analysis of controlled
    clinical trials with binary outcome. Statistics in Medicine, 20(24), 3875-3889.
    Sidik, K., & Jonkman, J. N. (2002). A simple confidence interval for meta-analysis.
    Statistics in Medicine, 21(21), 3153-3159.
    Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying heterogeneity in a
    meta-analysis. Statistics in Medicine, 21(11), 1539-1558.
    IntHout, J., Ioannidis, J. P. A., & Borm, G. F. (2014). The Hartung-Knapp-Sidik-Jonkman
    method for random effects meta-analysis is straightforward and considerably outperforms
    the standard DerSimonian-Laird method. BMC Medical Research Methodology, 14, 25.
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal
    of Statistical Software, 36(3), 1-48.

    Examples
    --------
    >>> import pandas as pd
    >>> studies = pd.DataFrame({"estimate": [0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...                         "std_error": [0.10, 0.12, 0.15, 0.20, 0.11, 0.09]})
    >>> pooled = meta_analysis(studies)
    >>> round(pooled.estimate, 3), round(pooled.tau2, 4), pooled.df
    (0.296, 0.0174, 5.0)
    """
    y, v = _check_inputs(effects, estimate, std_error, method, test, "meta_analysis")
    confidence = check_confidence(confidence, caller="meta_analysis")
    k = len(y)
    _warn_few(k, "meta_analysis")
    X = np.ones((k, 1))
    fit = _fit(y, v, X, method=method, test=test, confidence=confidence)
    mu = float(fit.beta[0])
    se = math.sqrt(float(fit.vcov[0, 0]))
    statistic = mu / se
    half = fit.critical * se
    prediction_half = fit.critical * math.sqrt(se**2 + fit.tau2)
    w_fixed = 1.0 / v
    fixed = float(np.sum(w_fixed * y) / np.sum(w_fixed))
    fixed_se = math.sqrt(1.0 / float(np.sum(w_fixed)))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return PooledEffect(
        estimate=mu,
        std_error=se,
        statistic=statistic,
        p_value=_p_value(statistic, fit.df),
        conf_low=mu - half,
        conf_high=mu + half,
        df=fit.df,
        tau2=fit.tau2,
        tau2_std_error=fit.tau2_std_error,
        tau=math.sqrt(fit.tau2),
        i_squared=fit.i_squared,
        h_squared=fit.h_squared,
        q=fit.q,
        q_df=fit.q_df,
        q_p_value=float(stats.chi2.sf(fit.q, fit.q_df)),
        prediction_low=mu - prediction_half,
        prediction_high=mu + prediction_half,
        fixed_estimate=fixed,
        fixed_std_error=fixed_se,
        fixed_conf_low=fixed - z * fixed_se,
        fixed_conf_high=fixed + z * fixed_se,
        n_studies=k,
        method=method,
        test=test,
    )


def meta_regression(
    effects: pd.DataFrame,
    *,
    moderators: Sequence[str],
    estimate: str = "estimate",
    std_error: str = "std_error",
    method: Method = "REML",
    test: Test = "knha",
    confidence: float = 0.95,
) -> MetaRegression:
    """Mixed-effects meta-regression of study estimates on study-level moderators.

    The model ``y_i = x_i' beta + u_i + e_i`` (see the module docstring): each coefficient
    is the difference in mean true effect per unit of a moderator (or between a level and
    the reference level), holding the others fixed; tau^2 is the residual heterogeneity.

    Parameters
    ----------
    effects : pandas.DataFrame
        One row per study estimate, with the moderator columns.
    moderators : sequence of str
        Moderator columns: numeric ones enter as they are, text ones as treatment-coded
        indicators (:func:`moderator_matrix`).
    estimate, std_error, method, test, confidence
        As in :func:`meta_analysis`; under Knapp-Hartung the covariance is scaled by the
        weighted residual mean square and tests use t(k - p) (F(m, k - p) for the omnibus
        moderator test).

    Returns
    -------
    MetaRegression
        Coefficients (``tidy()``, columns :data:`META_REGRESSION_COLUMNS`), residual tau^2,
        I^2 and H^2, ``r_squared`` (percent of tau^2 accounted for, against the model without
        moderators, truncated at 0), the residual heterogeneity test QE and the omnibus test
        QM of every coefficient but the intercept.

    Raises
    ------
    ValueError
        Missing columns or values, an unknown method or test, no moderators.
    DesignError
        Fewer estimates than coefficients, or collinear moderators.

    Warns
    -----
    FewStudiesWarning
        With fewer than :data:`FEW_STUDIES` studies.

    Notes
    -----
    Meta-regression with few studies per moderator is exploratory: the coefficients are
    observational associations across studies (ecological), not effects of the moderator.

    References
    ----------
    Knapp, G., & Hartung, J. (2003). Improved tests for a random effects meta-regression
    with a single covariate. Statistics in Medicine, 22(17), 2693-2710.
    Thompson, S. G., & Higgins, J. P. T. (2002). How should meta-regression analyses be
    undertaken and interpreted? Statistics in Medicine, 21(11), 1559-1573.

    Examples
    --------
    >>> import pandas as pd
    >>> studies = pd.DataFrame({"estimate": [0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...                         "std_error": [0.10, 0.12, 0.15, 0.20, 0.11, 0.09],
    ...                         "months": [1.0, 3.0, 3.0, 9.0, 6.0, 2.0]})
    >>> fit = meta_regression(studies, moderators=["months"])
    >>> list(fit.tidy()["term"])
    ['intercept', 'months']
    """
    if isinstance(moderators, str) or not list(moderators):
        raise ValueError(
            f"meta_regression: moderators must be a non-empty list of column names; got "
            f"{moderators!r}. Pass for example ['region']."
        )
    y, v = _check_inputs(effects, estimate, std_error, method, test, "meta_regression")
    confidence = check_confidence(confidence, caller="meta_regression")
    _warn_few(len(y), "meta_regression")
    design = moderator_matrix(effects, list(moderators))
    X = design.to_numpy(dtype=float)
    fit = _fit(y, v, X, method=method, test=test, confidence=confidence)
    se = np.sqrt(np.diag(fit.vcov))
    statistic = fit.beta / se
    coefficients = pd.DataFrame(
        {
            "term": list(design.columns),
            "estimate": fit.beta,
            "std_error": se,
            "statistic": statistic,
            "p_value": [_p_value(float(s), fit.df) for s in statistic],
            "conf_low": fit.beta - fit.critical * se,
            "conf_high": fit.beta + fit.critical * se,
            "df": fit.df,
        },
        columns=META_REGRESSION_COLUMNS,
    )
    m = X.shape[1] - 1
    slopes = fit.beta[1:]
    qm = float(slopes @ np.linalg.solve(fit.vcov[1:, 1:], slopes))
    if test == "knha":
        qm = qm / m
        qm_p_value = float(stats.f.sf(qm, m, fit.df))
    else:
        qm_p_value = float(stats.chi2.sf(qm, m))
    if method == "FE":
        r_squared = math.nan
    else:
        base = _fit(y, v, np.ones((len(y), 1)), method=method, test=test, confidence=confidence)
        r_squared = max(0.0, 100.0 * (base.tau2 - fit.tau2) / base.tau2) if base.tau2 > 0 else 0.0
    return MetaRegression(
        coefficients=coefficients,
        tau2=fit.tau2,
        i_squared=fit.i_squared,
        h_squared=fit.h_squared,
        r_squared=r_squared,
        qe=fit.q,
        qe_df=fit.q_df,
        qe_p_value=float(stats.chi2.sf(fit.q, fit.q_df)),
        qm=qm,
        qm_df=m,
        qm_p_value=qm_p_value,
        n_studies=len(y),
        method=method,
        test=test,
    )
