"""Three-level meta-analysis: several estimates per study (waves, arms), nested in studies.

The model: estimate ``j`` of study ``i`` is
``y_ij = x_ij' beta + u_i + w_ij + e_ij`` with ``u_i ~ N(0, sigma2_study)`` (between
studies), ``w_ij ~ N(0, sigma2_estimate)`` (between estimates of one study) and
``e_ij ~ N(0, v_ij)`` (sampling error, known). Estimates of one study share ``u_i``, so a
study that contributes three waves does not count as three independent studies.
This is metafor's ``rma.mv(yi, vi, random = ~ 1 | study/estimate, test = "t")``.

Why by hand: neither statsmodels nor PyMARE fits multilevel meta-analytic models; the REML
fit below is checked against metafor to 1e-6.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from measurement.arguments import check_confidence
from measurement.errors import DesignError, FewStudiesWarning
from measurement.meta_analysis import (
    FEW_STUDIES,
    META_REGRESSION_COLUMNS,
    moderator_matrix,
)

__all__ = ["MULTILEVEL_COLUMNS", "MultilevelMeta", "multilevel_meta_analysis"]

_TOLERANCE = 1e-12
_ITERATIONS = 2000
# A variance component this many times the data's own spread is a likelihood rising without
# bound (a level the moderators leave unidentified), not an estimate.
_UNBOUNDED = 1e8

MULTILEVEL_COLUMNS = [
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "df",
    "sigma2_study",
    "sigma2_estimate",
    "tau2",
    "q",
    "q_df",
    "q_p_value",
    "prediction_low",
    "prediction_high",
    "log_likelihood",
    "n_estimates",
    "n_studies",
]
"""Columns of :meth:`MultilevelMeta.tidy` (the intercept of the model, one row).

``tau2`` is ``sigma2_study + sigma2_estimate``, the total variance of true effects;
``log_likelihood`` the restricted log-likelihood (metafor's convention, constants included).
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class MultilevelMeta:
    """A three-level REML fit: coefficients, the two variance components, heterogeneity."""

    coefficients: pd.DataFrame
    sigma2_study: float
    sigma2_estimate: float
    q: float
    q_df: int
    q_p_value: float
    prediction_low: float
    prediction_high: float
    log_likelihood: float
    n_estimates: int
    n_studies: int

    def tidy(self) -> pd.DataFrame:
        """One row for the first coefficient (the pooled mean without moderators)."""
        first = self.coefficients.iloc[0]
        return pd.DataFrame(
            [
                {
                    "estimate": first["estimate"],
                    "std_error": first["std_error"],
                    "statistic": first["statistic"],
                    "p_value": first["p_value"],
                    "conf_low": first["conf_low"],
                    "conf_high": first["conf_high"],
                    "df": first["df"],
                    "sigma2_study": self.sigma2_study,
                    "sigma2_estimate": self.sigma2_estimate,
                    "tau2": self.sigma2_study + self.sigma2_estimate,
                    "q": self.q,
                    "q_df": self.q_df,
                    "q_p_value": self.q_p_value,
                    "prediction_low": self.prediction_low,
                    "prediction_high": self.prediction_high,
                    "log_likelihood": self.log_likelihood,
                    "n_estimates": self.n_estimates,
                    "n_studies": self.n_studies,
                }
            ],
            columns=MULTILEVEL_COLUMNS,
        )


def _restricted(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, same_study: np.ndarray, theta: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """REML log-likelihood, P, V^-1, beta and (X'V^-1X)^-1 at theta = (study, estimate)."""
    V = np.diag(v + theta[1]) + theta[0] * same_study
    V_inverse = np.linalg.inv(V)
    XtVi = X.T @ V_inverse
    inverse = np.linalg.inv(XtVi @ X)
    beta = inverse @ (XtVi @ y)
    P = V_inverse - XtVi.T @ inverse @ XtVi
    k, p = X.shape
    residual = y - X @ beta
    log_likelihood = (
        -0.5 * (k - p) * math.log(2 * math.pi)
        + 0.5 * float(np.linalg.slogdet(X.T @ X)[1])
        - 0.5 * float(np.linalg.slogdet(V)[1])
        - 0.5 * float(np.linalg.slogdet(XtVi @ X)[1])
        - 0.5 * float(residual @ V_inverse @ residual)
    )
    return log_likelihood, P, V_inverse, beta, inverse


def _proposal_value(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, same_study: np.ndarray, theta: np.ndarray
) -> float:
    """The REML log-likelihood at a line-search proposal, or -inf where it has none.

    A nearly singular information matrix can give a step so long that V overflows and
    cannot be inverted; that proposal is no improvement, so the step is halved.
    """
    with np.errstate(all="ignore"):
        try:
            value = _restricted(y, v, X, same_study, theta)[0]
        except np.linalg.LinAlgError:
            return -math.inf
    return value if math.isfinite(value) else -math.inf


def _fit_components(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, same_study: np.ndarray
) -> np.ndarray:
    """REML variance components by Fisher scoring, projected onto theta >= 0."""
    derivatives = (same_study, np.eye(len(y)))
    spread = float(np.var(y, ddof=1)) if len(y) > 1 else 0.1
    theta = np.array([spread / 4 + 1e-4, spread / 4 + 1e-4])
    current = _restricted(y, v, X, same_study, theta)[0]
    for _ in range(_ITERATIONS):
        _, P, _, _, _ = _restricted(y, v, X, same_study, theta)
        Py = P @ y
        PD = [P @ D for D in derivatives]
        gradient = np.array(
            [
                -0.5 * np.trace(PDj) + 0.5 * float(Py @ D @ Py)
                for PDj, D in zip(PD, derivatives, strict=True)
            ]
        )
        information = 0.5 * np.array([[np.sum(PDj * PDk.T) for PDk in PD] for PDj in PD])
        free = ~((theta <= 0) & (gradient <= 0))
        step = np.zeros(2)
        if free.any():
            # lstsq: with one estimate per study only the sum of the components is
            # identified and the information matrix is singular.
            step[free] = np.linalg.lstsq(
                information[np.ix_(free, free)], gradient[free], rcond=None
            )[0]
        size = 1.0
        while True:
            proposal = np.maximum(theta + size * step, 0.0)
            value = _proposal_value(y, v, X, same_study, proposal)
            if value >= current - 1e-14 or size < 1e-8:
                break
            size /= 2.0
        moved = float(np.max(np.abs(proposal - theta)))
        theta, current = proposal, value
        if float(np.max(theta)) > _UNBOUNDED * (spread + float(np.max(v))):
            raise DesignError(
                "multilevel_meta_analysis: the REML variance components grow without bound "
                f"({len(y)} estimates from {int(np.linalg.matrix_rank(same_study))} studies, "
                f"{X.shape[1]} coefficients): the study level is not identified beside these "
                "moderators. Fit fewer moderators, or pool one estimate per study with "
                "meta_analysis."
            )
        if moved < _TOLERANCE:
            return theta
    raise DesignError(  # pragma: no cover - Fisher scoring converges quickly on real data
        "multilevel_meta_analysis: REML did not converge in 2,000 Fisher scoring steps. "
        "Pool one estimate per study with meta_analysis instead."
    )


def multilevel_meta_analysis(
    effects: pd.DataFrame,
    *,
    study: str = "study",
    estimate: str = "estimate",
    std_error: str = "std_error",
    moderators: Sequence[str] = (),
    confidence: float = 0.95,
) -> MultilevelMeta:
    """Pool several estimates per study with a three-level random-effects model (REML).

    Parameters
    ----------
    effects : pandas.DataFrame
        One row per estimate (a study's wave or arm).
    study : str
        Column naming the study each estimate belongs to (default ``"study"``).
    estimate, std_error : str
        Columns of the estimates and their standard errors.
    moderators : sequence of str
        Optional moderator columns (:func:`measurement.meta_analysis.moderator_matrix`).
    confidence : float
        Confidence level (default 0.95).

    Returns
    -------
    MultilevelMeta
        Coefficients (columns :data:`measurement.meta_analysis.META_REGRESSION_COLUMNS`),
        ``sigma2_study`` and ``sigma2_estimate``; ``tidy()`` gives the columns
        :data:`MULTILEVEL_COLUMNS`.

    Raises
    ------
    ValueError
        Missing columns or values.
    DesignError
        Fewer than two studies, or fewer estimates than coefficients.

    Warns
    -----
    FewStudiesWarning
        With fewer than five studies.

    Notes
    -----
    Inference as metafor's ``test = "t"``: the model-based covariance
    ``(X' V^-1 X)^-1`` with a t(k - p) reference, k the number of estimates. The
    prediction interval for a new estimate is ``mu +/- t sqrt(SE^2 + sigma2_study +
    sigma2_estimate)``. Q is the residual heterogeneity statistic of the fixed-effect model
    on k - p df.

    References
    ----------
    Konstantopoulos, S. (2011). Fixed effects and variance components estimation in
    three-level meta-analysis. Research Synthesis Methods, 2(1), 61-76.
    Van den Noortgate, W., López-López, J. A., Marín-Martínez, F., & Sánchez-Meca, J.
    (2013). Three-level meta-analysis of dependent effect sizes. Behavior Research
    Methods, 45(2), 576-594.

    Examples
    --------
    >>> import pandas as pd
    >>> waves = pd.DataFrame({
    ...     "study": ["a", "a", "b", "b", "c", "d", "d", "e"],
    ...     "estimate": [0.20, 0.25, 0.05, 0.10, 0.40, 0.30, 0.22, 0.12],
    ...     "std_error": [0.08, 0.09, 0.07, 0.08, 0.12, 0.10, 0.10, 0.06]})
    >>> fit = multilevel_meta_analysis(waves)
    >>> fit.n_studies, fit.n_estimates
    (5, 8)
    """
    caller = "multilevel_meta_analysis"
    if not isinstance(effects, pd.DataFrame):
        raise TypeError(
            f"{caller}: effects must be a pandas DataFrame; got {type(effects).__name__}. "
            "Pass one row per estimate."
        )
    missing = [name for name in (study, estimate, std_error) if name not in effects.columns]
    if missing:
        raise ValueError(
            f"{caller}: columns {missing!r} are not in effects; found "
            f"{list(effects.columns)[:20]!r}. Pass the study, estimate and std_error columns."
        )
    confidence = check_confidence(confidence, caller=caller)
    y = pd.to_numeric(effects[estimate], errors="coerce").to_numpy(dtype=float)
    se = pd.to_numeric(effects[std_error], errors="coerce").to_numpy(dtype=float)
    if (~np.isfinite(y) | ~np.isfinite(se) | (se <= 0)).any() or effects[study].isna().any():
        raise ValueError(
            f"{caller}: some rows lack a study, an estimate or a positive standard error. "
            "Drop those rows before pooling."
        )
    labels = effects[study].astype(str).to_numpy()
    n_studies = len(set(labels))
    if n_studies < 2:
        raise DesignError(
            f"{caller}: pooling needs at least 2 studies; got {n_studies}. Add studies."
        )
    if n_studies < FEW_STUDIES:
        warnings.warn(
            f"{caller}: only {n_studies} studies; the between-study variance is poorly "
            "determined. Read the pooled estimate as provisional.",
            FewStudiesWarning,
            stacklevel=2,
        )
    design = moderator_matrix(effects, list(moderators))
    X = design.to_numpy(dtype=float)
    k, p = X.shape
    if k <= p or np.linalg.matrix_rank(X) < p:
        raise DesignError(
            f"{caller}: {k} estimates cannot identify {p} coefficients (or the moderators are "
            "collinear). Pool more estimates or name fewer moderators."
        )
    v = se**2
    same_study = (labels[:, None] == labels[None, :]).astype(float)
    theta = _fit_components(y, v, X, same_study)
    log_likelihood, _, _, beta, inverse = _restricted(y, v, X, same_study, theta)
    std_errors = np.sqrt(np.diag(inverse))
    df = float(k - p)
    critical = float(stats.t.ppf(0.5 + confidence / 2, df))
    statistic = beta / std_errors
    coefficients = pd.DataFrame(
        {
            "term": list(design.columns),
            "estimate": beta,
            "std_error": std_errors,
            "statistic": statistic,
            "p_value": 2 * stats.t.sf(np.abs(statistic), df),
            "conf_low": beta - critical * std_errors,
            "conf_high": beta + critical * std_errors,
            "df": df,
        },
        columns=META_REGRESSION_COLUMNS,
    )
    w = 1.0 / v
    WX = X * w[:, None]
    fixed = np.linalg.solve(X.T @ WX, WX.T @ y)
    q = float(np.sum(w * (y - X @ fixed) ** 2))
    half = critical * math.sqrt(float(std_errors[0]) ** 2 + float(theta.sum()))
    return MultilevelMeta(
        coefficients=coefficients,
        sigma2_study=float(theta[0]),
        sigma2_estimate=float(theta[1]),
        q=q,
        q_df=k - p,
        q_p_value=float(stats.chi2.sf(q, k - p)),
        prediction_low=float(beta[0]) - half,
        prediction_high=float(beta[0]) + half,
        log_likelihood=log_likelihood,
        n_estimates=k,
        n_studies=n_studies,
    )
