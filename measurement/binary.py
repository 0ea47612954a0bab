"""Logit and probit for 0/1 outcomes: average marginal effects beside the linear probability model.

A campaign's effect on a yes/no outcome (plans to leave within 12 months, has taken a step)
is estimated by the linear probability model in the main table; this module gives the same
effect as an average marginal effect (AME) of a logit or probit fit, a robustness row whose
size is comparable with the linear one (a difference in probabilities).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from measurement.arguments import check_columns, check_confidence, check_names
from measurement.effects import EffectEstimate
from measurement.errors import DesignError, StatisticalCaveatWarning

__all__ = [
    "BINARY_NOTE",
    "BinaryFit",
    "Link",
    "Vcov",
    "estimate_binary_effect",
    "fit_binary_model",
]

Link = Literal["logit", "probit"]
Vcov = Literal["CR1", "CR2"]
BINARY_NOTE = (
    "robustness check beside the linear probability model: the estimate is the average "
    "marginal effect of assignment on the probability (discrete change 0 to 1 averaged over "
    "the sample) from a {link} fit; comparable in size with the linear estimate"
)
INTERCEPT = "Intercept"
SCORE_TOLERANCE = 1e-10
"""Fisher scoring stops when the largest absolute score is below this times (1 + N)."""
MAXIMUM_ITERATIONS = 100
_SEPARATION = 1e-8
_EIGENVALUE_FLOOR = 1e-12


@dataclass(frozen=True, slots=True, kw_only=True)
class BinaryFit:
    """A logit or probit fit with model-based and cluster-robust (CR1 or CR2) variances.

    ``vcov`` is the variance named by ``vcov_type``. CR1 is
    c (X'VX)^-1 (sum_g s_g s_g') (X'VX)^-1 with the expected information X'VX and
    c = G/(G-1) (N-1)/(N-K), as R ``sandwich::vcovCL(type = "HC1")`` on a ``glm``
    (HC1, c = N/(N-K), without clusters). ``vcov_model`` is the inverse expected
    information (R ``vcov(glm)``). For the logit, expected and observed information are
    equal (statsmodels' ``Logit`` gives the same CR1); for the probit, statsmodels'
    ``Probit`` uses the observed Hessian in the bread, R's the expected information (we
    follow R; the two differ by about 0.1% in the reference data). CR2 is Bell and
    McCaffrey's bias-reduced variance as R ``clubSandwich::vcovCR(glm_fit, type = "CR2")``
    (see :func:`fit_binary_model`).
    """

    outcome: str
    link: str
    coefficients: pd.Series
    vcov: pd.DataFrame
    vcov_model: pd.DataFrame
    log_likelihood: float
    n_obs: int
    n_clusters: int
    df_resid: int
    converged: bool
    iterations: int
    x: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = field(default=())
    vcov_type: str = "CR1"

    def average_marginal_effect(self, term: str) -> tuple[float, float]:
        """AME of a 0/1 regressor (discrete change) and its delta-method standard error on ``vcov``.

        AME = mean_i [F(x_i1'b) - F(x_i0'b)], where x_i1 and x_i0 set ``term`` to 1 and 0;
        its gradient is mean_i [f(x_i1'b) x_i1 - f(x_i0'b) x_i0].
        """
        names = list(self.coefficients.index)
        if term not in names:
            raise ValueError(
                f"BinaryFit.average_marginal_effect: no coefficient named {term!r}; the model "
                f"has {names!r}. Pass one of these names."
            )
        position = names.index(term)
        beta = self.coefficients.to_numpy()
        high, low = self.x.copy(), self.x.copy()
        high[:, position], low[:, position] = 1.0, 0.0
        cdf_high, density_high = _link_parts(high @ beta, self.link)
        cdf_low, density_low = _link_parts(low @ beta, self.link)
        effect = float(np.mean(cdf_high - cdf_low))
        gradient = (density_high[:, None] * high - density_low[:, None] * low).mean(axis=0)
        return effect, float(np.sqrt(gradient @ self.vcov.to_numpy() @ gradient))


def _link_parts(eta: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray]:
    if link == "logit":
        cdf = special.expit(eta)
        return cdf, cdf * (1 - cdf)
    return special.ndtr(eta), stats.norm.pdf(eta)


def _scores(
    x: np.ndarray, y: np.ndarray, beta: np.ndarray, link: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-row scores, expected information and log-likelihood."""
    eta = x @ beta
    cdf, density = _link_parts(eta, link)
    if link == "logit":
        log_p, log_q = -np.logaddexp(0, -eta), -np.logaddexp(0, eta)
    else:
        log_p, log_q = special.log_ndtr(eta), special.log_ndtr(-eta)
    variance = np.clip(cdf * (1 - cdf), np.finfo(float).tiny, None)
    scores = x * ((y - cdf) * density / variance)[:, None]
    information = (x * (density**2 / variance)[:, None]).T @ x
    return scores, information, float(np.sum(y * log_p + (1 - y) * log_q))


def fit_binary_model(
    responses: pd.DataFrame,
    *,
    outcome: str,
    regressors: list[str] | tuple[str, ...],
    cluster: str | None = None,
    link: Link = "logit",
    vcov: Vcov = "CR1",
) -> BinaryFit:
    """Fit ``P(outcome = 1) = F(Intercept + regressors' b)`` by maximum likelihood.

    F is the logistic (``"logit"``) or standard normal (``"probit"``) distribution function.
    The fit is Fisher scoring (iteratively reweighted least squares, as R ``glm``) until the
    largest absolute score is below :data:`SCORE_TOLERANCE` times (1 + N).

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent; rows with a missing used value are dropped.
    outcome : str
        0/1 outcome.
    regressors : list of str
        Numeric regressors (dummies already built); an intercept is added.
    cluster : str or None, default None
        Cluster column of the robust variance; None treats each row as its own cluster
        (CR1 then is HC1).
    link : {"logit", "probit"}, default "logit"
    vcov : {"CR1", "CR2"}, default "CR1"
        The robust variance in ``BinaryFit.vcov``: CR1 (``sandwich::vcovCL`` type HC1) or
        CR2, the bias-reduced linearization of Bell and McCaffrey for a GLM as in
        clubSandwich (see Notes).

    Returns
    -------
    BinaryFit

    Raises
    ------
    ValueError, TypeError
        Absent or non-numeric columns, an outcome that is not 0/1, a bad ``link``.
    DesignError
        An outcome without both values, collinear regressors, fewer than two clusters,
        or (quasi-)complete separation (fitted probabilities of 0 or 1).

    Warns
    -----
    StatisticalCaveatWarning
        Fisher scoring stopped before the tolerance (also in ``warnings``).

    Notes
    -----
    CR2 follows clubSandwich's default for a ``glm``: the design is :math:`X^* = \\mathrm{diag}(d)
    X` with :math:`d = d\\mu/d\\eta` at convergence, the working weights are
    :math:`W = \\mathrm{diag}(1/v)` with :math:`v = \\mu(1-\\mu)` and the target variance is
    :math:`\\Theta = W^{-1}`. With :math:`M = (X^{*\\prime} W X^*)^{-1}` (the inverse expected
    information), :math:`L_g = \\Theta_g^{1/2}` and :math:`G_g = L_g (I - X_g^* M X_g^{*\\prime}
    W_g) \\Theta_g L_g`, the adjustment is :math:`A_g = L_g G_g^{-1/2} L_g` and the variance
    :math:`M \\sum_g X_g^{*\\prime} W_g A_g e_g e_g' A_g W_g X_g^* M` with response residuals
    :math:`e = y - \\mu`. It costs one eigendecomposition of a cluster-size square matrix per
    cluster.

    References
    ----------
    Bell, R. M., & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear
    regression with multi-stage samples. Survey Methodology, 28(2), 169-181.
    Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust variance
    estimation and hypothesis testing in fixed effects models. Journal of Business and
    Economic Statistics, 36(4), 672-683.
    McCullagh, P., & Nelder, J. A. (1989). Generalized Linear Models (2nd ed.). Chapman and
    Hall.
    Zeileis, A., Köll, S., & Graham, N. (2020). Various versatile variances: An
    object-oriented implementation of clustered covariances in R. Journal of Statistical
    Software, 95(1), 1-36.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> frame = pd.DataFrame({"treated": np.repeat([0.0, 1.0], 200)})
    >>> frame["plans"] = (rng.random(400) < 0.3 + 0.2 * frame["treated"]).astype(float)
    >>> fit = fit_binary_model(frame, outcome="plans", regressors=["treated"])
    >>> effect, std_error = fit.average_marginal_effect("treated")
    >>> fit.converged, bool(0.0 < effect < 0.4)
    (True, True)
    """
    caller = "fit_binary_model"
    if link not in ("logit", "probit"):
        raise ValueError(
            f"{caller}: link must be 'logit' or 'probit'; got {link!r}. Pass one of these."
        )
    if vcov not in ("CR1", "CR2"):
        raise ValueError(f"{caller}: vcov must be 'CR1' or 'CR2'; got {vcov!r}. Pass one of these.")
    names = check_names(regressors, what="regressors", caller=caller, minimum=0)
    check_columns(responses, [outcome, *names, cluster], caller=caller, numeric=[outcome, *names])
    used = [outcome, *names, *([cluster] if cluster is not None else [])]
    frame = responses[list(dict.fromkeys(used))].dropna()
    y = frame[outcome].to_numpy(dtype=float)
    if not np.isin(y, [0.0, 1.0]).all():
        raise ValueError(
            f"{caller}: {outcome!r} must hold 0/1; found {np.unique(y)[:5]!r}. Code it 1 for "
            "yes and 0 for no."
        )
    if y.size == 0 or y.min() == y.max():
        raise DesignError(
            f"{caller}: {outcome!r} does not take both values among {y.size} complete rows. "
            "A logit or probit needs some 0s and some 1s."
        )
    x = np.column_stack([np.ones(len(frame)), frame[names].to_numpy(dtype=float)])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise DesignError(
            f"{caller}: the regressors {names!r} are collinear with each other or the "
            "intercept. Drop a redundant regressor."
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
    beta = np.zeros(x.shape[1])
    beta[0] = float(special.logit(y.mean()))
    if link == "probit":
        beta[0] = float(special.ndtri(y.mean()))
    converged = False
    iterations = 0
    scores, information, log_likelihood = _scores(x, y, beta, link)
    while iterations < MAXIMUM_ITERATIONS:
        iterations += 1
        step = np.linalg.solve(information, scores.sum(axis=0))
        size = 1.0
        for _ in range(30):
            candidate = beta + size * step
            new = _scores(x, y, candidate, link)
            if new[2] >= log_likelihood - 1e-12 * abs(log_likelihood):
                break
            size /= 2
        beta = candidate
        scores, information, log_likelihood = new
        if float(np.max(np.abs(scores.sum(axis=0)))) < SCORE_TOLERANCE * (1 + y.size):
            converged = True
            break
    fitted = _link_parts(x @ beta, link)[0]
    if fitted.min() < _SEPARATION or fitted.max() > 1 - _SEPARATION:
        raise DesignError(
            f"{caller}: the {link} fit separates the outcome (fitted probabilities within "
            f"{_SEPARATION:g} of 0 or 1); the coefficients are not identified. Use the linear "
            "probability model or coarser regressors."
        )
    caveats: list[str] = []
    if not converged:
        caveats.append(
            f"{caller}: Fisher scoring stopped after {iterations} iterations before the score "
            f"tolerance; the {link} estimates may not be the maximum-likelihood ones"
        )
    for message in caveats:
        warnings.warn(message, StatisticalCaveatWarning, stacklevel=2)
    bread = np.linalg.inv(information)
    cluster_scores = np.zeros((n_clusters, x.shape[1]))
    np.add.at(cluster_scores, groups, scores)
    n, k = x.shape
    factor = (
        n_clusters / (n_clusters - 1) * (n - 1) / (n - k) if cluster is not None else n / (n - k)
    )
    if vcov == "CR2":
        robust = _bias_reduced_variance(x, y, beta, bread, groups, n_clusters, link)
    else:
        robust = factor * bread @ (cluster_scores.T @ cluster_scores) @ bread
    index = [INTERCEPT, *names]
    return BinaryFit(
        outcome=outcome,
        link=link,
        coefficients=pd.Series(beta, index=index, dtype=float),
        vcov=pd.DataFrame((robust + robust.T) / 2, index=index, columns=index),
        vcov_model=pd.DataFrame((bread + bread.T) / 2, index=index, columns=index),
        log_likelihood=log_likelihood,
        n_obs=n,
        n_clusters=n_clusters,
        df_resid=n_clusters - 1 if cluster is not None else n - k,
        converged=converged,
        iterations=iterations,
        x=x,
        warnings=tuple(caveats),
        vcov_type=vcov,
    )


def _bias_reduced_variance(
    x: np.ndarray,
    y: np.ndarray,
    beta: np.ndarray,
    bread: np.ndarray,
    groups: np.ndarray,
    n_clusters: int,
    link: str,
) -> np.ndarray:
    """CR2 of a binary GLM as clubSandwich ``vcovCR(glm_fit, type = "CR2")`` (see the Notes of
    :func:`fit_binary_model`)."""
    cdf, density = _link_parts(x @ beta, link)
    variance = np.clip(cdf * (1 - cdf), np.finfo(float).tiny, None)
    design = x * density[:, None]
    residuals = y - cdf
    meat = np.zeros((x.shape[1], x.shape[1]))
    for group in range(n_clusters):
        rows = np.flatnonzero(groups == group)
        design_g, variance_g = design[rows], variance[rows]
        root = np.sqrt(variance_g)
        leverage = design_g @ bread @ design_g.T
        # L (I - X* M X*' W) Theta L with Theta = diag(v), W = Theta^-1, L = Theta^1/2.
        middle = root[:, None] * (np.diag(variance_g) - leverage) * root[None, :]
        values, vectors = np.linalg.eigh((middle + middle.T) / 2)
        # clubSandwich's matrix_power: eigenvalues at or below 1e-12 (a cluster that alone
        # identifies a coefficient) get a zero inverse root, a generalized inverse.
        kept = values > _EIGENVALUE_FLOOR
        inverse_root = (vectors[:, kept] / np.sqrt(values[kept])) @ vectors[:, kept].T
        adjustment = root[:, None] * inverse_root * root[None, :]
        component = (design_g / variance_g[:, None]).T @ (adjustment @ residuals[rows])
        meat += np.outer(component, component)
    return bread @ meat @ bread


def estimate_binary_effect(
    responses: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    cluster: str | None,
    baseline: str | None = None,
    stratum: str | None = None,
    covariates: list[str] | tuple[str, ...] = (),
    link: Link = "logit",
    confidence: float = 0.95,
    vcov: Vcov = "CR1",
) -> EffectEstimate:
    """Estimate the campaign's effect on a 0/1 outcome as a logit or probit average marginal effect.

    The model is :math:`P(y_i = 1) = F(\\alpha + \\tau\\, treated_i + x_i'\\gamma)` with the
    baseline outcome, covariates and stratum dummies in :math:`x_i`. ``estimate`` is the
    average marginal effect of assignment, the sample mean of
    :math:`F(\\hat\\alpha + \\hat\\tau + x_i'\\hat\\gamma) - F(\\hat\\alpha + x_i'\\hat\\gamma)`
    (R ``margins``, Stata ``margins, dydx(i.treated)``, statsmodels
    ``get_margeff(dummy=True)``), a difference in probabilities comparable with the linear
    probability model's coefficient. Its standard error is the delta method on the CR1 (or,
    with ``vcov="CR2"``, the bias-reduced CR2) cluster-robust variance; p-value and interval
    use t(G-1), as the linear estimators.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent at follow-up.
    outcome : str
        0/1 outcome.
    treated : str
        0/1 assignment.
    cluster : str or None
        Unit of assignment (None: HC1 errors and a t(N-K) reference).
    baseline : str or None
        Baseline value of the outcome (ANCOVA-style adjustment).
    stratum : str or None
        Strata, entered as dummies.
    covariates : list of str
        Numeric covariates.
    link : {"logit", "probit"}, default "logit"
    confidence : float, default 0.95
    vcov : {"CR1", "CR2"}, default "CR1"
        Cluster-robust variance under the delta method (see :func:`fit_binary_model`).

    Returns
    -------
    EffectEstimate
        ``estimator`` ``"logit_ame"`` or ``"probit_ame"``; ``standardized_effect`` NaN.

    Raises
    ------
    ValueError, TypeError, DesignError
        As :func:`fit_binary_model`; ``treated`` not 0/1 or without variation.

    Warns
    -----
    StatisticalCaveatWarning
        As :func:`fit_binary_model`.

    Notes
    -----
    With CR2 the reference stays t(G-1): no Satterthwaite degrees of freedom are computed
    for the nonlinear AME. With few clusters the linear probability model's primary (wild
    bootstrap or CR2 with Satterthwaite df) inference is the one to read.

    References
    ----------
    Williams, R. (2012). Using the margins command to estimate and interpret adjusted
    predictions and marginal effects. Stata Journal, 12(2), 308-331.
    Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust
    inference. Journal of Human Resources, 50(2), 317-372.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(30), 20)})
    >>> frame["treated"] = (frame["cluster"] % 2).astype(float)
    >>> frame["plans"] = (rng.random(600) < 0.4 - 0.1 * frame["treated"]).astype(float)
    >>> effect = estimate_binary_effect(frame, outcome="plans", treated="treated",
    ...                                 cluster="cluster", link="probit")
    >>> effect.estimator, effect.n_clusters
    ('probit_ame', 30)
    """
    caller = "estimate_binary_effect"
    check_confidence(confidence, caller=caller)
    names = check_names(covariates, what="covariates", caller=caller, minimum=0)
    columns = [outcome, treated, *names]
    columns += [name for name in (baseline, stratum, cluster) if name is not None]
    check_columns(responses, columns, caller=caller, numeric=[outcome, treated, *names])
    frame = responses[list(dict.fromkeys(columns))].dropna()
    assignment = frame[treated].to_numpy(dtype=float)
    if not np.isin(assignment, [0.0, 1.0]).all() or np.unique(assignment).size < 2:
        raise DesignError(
            f"{caller}: {treated!r} must hold both 0 and 1; found {np.unique(assignment)[:5]!r}. "
            "Both arms are needed."
        )
    regressors = frame[[treated, *names] + ([baseline] if baseline else [])].astype(float)
    if stratum is not None:
        dummies = pd.get_dummies(frame[stratum], prefix=stratum, drop_first=True, dtype=float)
        regressors = pd.concat([regressors, dummies], axis=1)
    working = pd.concat(
        [frame[[outcome, *([cluster] if cluster is not None else [])]], regressors], axis=1
    )
    working = working.loc[:, ~working.columns.duplicated()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalCaveatWarning)
        fit = fit_binary_model(
            working,
            outcome=outcome,
            regressors=list(regressors.columns),
            cluster=cluster,
            link=link,
            vcov=vcov,
        )
    for item in caught:
        if not issubclass(item.category, StatisticalCaveatWarning):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    caveats = [f"{link}: {message.removeprefix('fit_binary_model: ')}" for message in fit.warnings]
    for message in caveats:
        warnings.warn(f"{caller}: {message}", StatisticalCaveatWarning, stacklevel=2)
    estimate, std_error = fit.average_marginal_effect(treated)
    statistic = estimate / std_error
    critical = float(stats.t.ppf(0.5 + confidence / 2, fit.df_resid))
    comparison = frame.loc[frame[treated] == 0, outcome]
    if vcov == "CR2":
        variance = (
            f"delta method on the CR2 (Bell-McCaffrey) cluster-robust variance on {cluster} "
            "(as clubSandwich::vcovCR type CR2 on a glm)"
            if cluster is not None
            else "delta method on the CR2 variance with each row its own cluster"
        )
    else:
        variance = (
            f"delta method on the CR1 cluster-robust variance on {cluster} "
            "(G/(G-1)(N-1)/(N-K), as sandwich::vcovCL type HC1)"
            if cluster is not None
            else "delta method on the HC1 variance"
        )
    return EffectEstimate(
        outcome=outcome,
        term=treated,
        estimate=estimate,
        std_error=std_error,
        statistic=statistic,
        p_value=float(2 * stats.t.sf(abs(statistic), fit.df_resid)),
        conf_low=estimate - critical * std_error,
        conf_high=estimate + critical * std_error,
        n_obs=fit.n_obs,
        n_clusters=fit.n_clusters,
        df_resid=fit.df_resid,
        estimator=f"{link}_ame",
        specification=(
            f"{link}: P({outcome} = 1) ~ {treated}"
            + (f" + baseline {baseline}" if baseline else "")
            + "".join(f" + {name}" for name in names)
            + (f" + {stratum} dummies" if stratum else "")
            + "; average marginal effect of assignment (discrete change)"
        ),
        inference=f"maximum likelihood (Fisher scoring); {variance}; t({fit.df_resid}) reference",
        comparison_mean=float(comparison.mean()),
        comparison_sd_baseline=float("nan"),
        standardized_effect=float("nan"),
        notes=(BINARY_NOTE.format(link=link),),
        warnings=tuple(caveats),
    )
