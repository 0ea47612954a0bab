"""Baseline balance between arms, as iebaltab reports it, and the joint orthogonality test."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from measurement.arguments import check_columns, check_names, check_responses
from measurement.errors import DesignError
from measurement.linear_model import LinearFit, SmallSample, VcovType, fit_linear_model

__all__ = [
    "BALANCE_COLUMNS",
    "WaldTest",
    "baseline_balance",
    "joint_orthogonality",
    "wald_test",
]

BALANCE_COLUMNS: list[str] = [
    "covariate",
    "n_comparison",
    "mean_comparison",
    "std_dev_comparison",
    "n_treated",
    "mean_treated",
    "std_dev_treated",
    "difference",
    "normalized_difference",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "n_obs",
    "n_clusters",
    "specification",
]
"""Columns of :func:`baseline_balance`: one row per baseline covariate.

``mean_*``/``std_dev_*`` (ddof = 1) and ``n_*`` describe each arm; ``difference`` is
``mean_treated - mean_comparison``; ``normalized_difference`` is
``difference / sqrt((std_dev_treated**2 + std_dev_comparison**2) / 2)`` (Imbens and Rubin,
iebaltab's ``nrmd``); ``estimate``, ``std_error``, ``statistic`` and ``p_value`` come from the
regression ``covariate ~ treated [| stratum]`` with CR1 errors on the cluster and a t(G-1)
reference (``estimate`` equals ``difference`` without strata); ``specification`` says so in
words.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class WaldTest:
    """A robust Wald F test that several coefficients are all zero.

    With CR1, HC1, HC2 or iid variance ``statistic`` is :math:`F = b' V^{-1} b / q` with
    ``df_numerator`` = q and ``df_denominator`` = the fit's residual degrees of freedom
    (G - 1 when clustered), as Stata's ``test`` after ``regress, vce(cluster)``. With CR2 it
    is the HTZ test of Pustejovsky and Tipton (2018), as R clubSandwich's
    ``Wald_test(test = "HTZ")``: :math:`F = \\delta\\, b' V^{-1} b / q` on (q, nu - q + 1)
    degrees of freedom, with :math:`\\delta = (\\nu - q + 1)/\\nu` and nu from a Hotelling's
    T-squared approximation (``df_denominator`` is then fractional).
    """

    terms: tuple[str, ...]
    statistic: float
    df_numerator: int
    df_denominator: float
    p_value: float
    n_obs: int
    n_clusters: int
    method: str

    def tidy(self) -> pd.DataFrame:
        """One row; ``terms`` joined with ", "."""
        row = asdict(self)
        row["terms"] = ", ".join(self.terms)
        return pd.DataFrame([row])


def wald_test(fit: LinearFit, terms: Sequence[str]) -> WaldTest:
    """Test that the coefficients ``terms`` of a fitted linear model are jointly zero.

    The one Wald test of :mod:`measurement`: joint orthogonality, differential attrition and
    effects by group all call it.

    Parameters
    ----------
    fit : LinearFit
        From :func:`measurement.linear_model.fit_linear_model`.
    terms : sequence of str
        Coefficient names (at least one).

    Returns
    -------
    WaldTest
        F statistic with (q, ``fit.df_resid``) degrees of freedom (HTZ degrees of freedom
        with CR2; q and infinity, the chi-squared over q, with ``reference="normal"``) and
        its p-value.

    Raises
    ------
    TypeError
        ``fit`` is not a LinearFit.
    ValueError
        An unknown or repeated term.
    DesignError
        The variance of the tested coefficients is singular (for example more terms than the
        G - 1 the cluster-robust variance can identify).

    Notes
    -----
    The cluster-robust variance has rank at most G - 1, so at most G - 1 restrictions can be
    tested; Stata then drops constraints silently (and a pseudo-inverse would test fewer
    restrictions than it reports), here it is an error.

    References
    ----------
    Wooldridge, J. M. (2010). Econometric Analysis of Cross Section and Panel Data (2nd ed.).
    MIT Press, section 7.3 (robust Wald tests).
    Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust
    inference. Journal of Human Resources, 50(2), 317-372.
    Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust variance
    estimation and hypothesis testing in fixed effects models. Journal of Business &
    Economic Statistics, 36(4), 672-683.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from measurement.linear_model import fit_linear_model
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(30), 10)})
    >>> frame["x1"], frame["x2"] = rng.normal(size=300), rng.normal(size=300)
    >>> frame["y"] = rng.normal(size=300)
    >>> fit = fit_linear_model(frame, outcome="y", regressors=["x1", "x2"], cluster="cluster")
    >>> result = wald_test(fit, ["x1", "x2"])
    >>> result.df_numerator, result.df_denominator
    (2, 29.0)
    """
    if not isinstance(fit, LinearFit):
        raise TypeError(
            f"wald_test: fit must be a LinearFit; got {type(fit).__name__}. "
            "Pass the result of fit_linear_model."
        )
    names = check_names(terms, what="terms", caller="wald_test")
    unknown = [name for name in names if name not in fit.coefficients.index]
    if unknown:
        raise ValueError(
            f"wald_test: terms {unknown!r} are not coefficients of the model; it has "
            f"{list(fit.coefficients.index)!r}. Pass coefficient names."
        )
    estimate = fit.coefficients[names].to_numpy(dtype=float)
    variance = fit.vcov.loc[names, names].to_numpy(dtype=float)
    if np.linalg.matrix_rank(variance) < len(names):
        raise DesignError(
            f"wald_test: the variance of {names!r} is singular (rank "
            f"{np.linalg.matrix_rank(variance)} for {len(names)} restrictions, with "
            f"{fit.n_clusters} clusters). Test fewer terms or collect more clusters."
        )
    q = len(names)
    quadratic = float(estimate @ np.linalg.solve(variance, estimate))
    if fit.reference == "normal":
        statistic, df_denominator = quadratic / q, float("inf")
        p_value = float(stats.chi2.sf(quadratic, q))
        method = f"Wald chi-squared test (reported as F = W/q), {fit.variance}"
    elif fit.bias_reduced is not None:
        positions = [list(fit.coefficients.index).index(name) for name in names]
        contrasts = np.eye(len(fit.coefficients))[positions]
        nu = fit.bias_reduced.htz(contrasts)
        delta = max((nu - q + 1) / nu, 0.0)
        statistic = delta * quadratic / q
        df_denominator = nu - q + 1
        p_value = float(stats.f.sf(statistic, q, df_denominator)) if df_denominator > 0 else np.nan
        method = f"HTZ Wald test (Pustejovsky-Tipton), {fit.variance}"
    else:
        statistic, df_denominator = quadratic / q, float(fit.df_resid)
        p_value = float(stats.f.sf(statistic, q, fit.df_resid))
        method = f"Wald F test, {fit.variance}"
    return WaldTest(
        terms=tuple(names),
        statistic=float(statistic),
        df_numerator=q,
        df_denominator=float(df_denominator),
        p_value=p_value,
        n_obs=fit.n_obs,
        n_clusters=fit.n_clusters,
        method=method,
    )


def _check_treated(responses: pd.DataFrame, treated: str, caller: str) -> np.ndarray:
    values = responses[treated].to_numpy(dtype=float, na_value=np.nan)
    present = values[~np.isnan(values)]
    if not np.isin(present, (0.0, 1.0)).all():
        found = sorted(set(present.tolist()) - {0.0, 1.0})[:5]
        raise ValueError(
            f"{caller}: {treated!r} must hold 0 (comparison) and 1 (campaign); found {found!r}. "
            "Code the assignment as 0/1."
        )
    if not (present == 0).any() or not (present == 1).any():
        raise DesignError(
            f"{caller}: {treated!r} has only the value {present[:1].tolist()!r}; balance needs "
            "both arms. Check the assignment column and the rows passed."
        )
    return values


def baseline_balance(
    responses: pd.DataFrame,
    *,
    covariates: Sequence[str],
    treated: str,
    cluster: str | None = None,
    stratum: str | None = None,
    small_sample: SmallSample = "stata",
) -> pd.DataFrame:
    """Compare the arms on baseline characteristics, as iebaltab does.

    For each covariate: the mean and standard deviation in each arm, their difference, the
    normalized difference, and the p-value of the difference from
    ``covariate ~ treated [+ stratum fixed effects]`` with cluster-robust (CR1) errors on the
    unit of assignment and a t(G-1) reference.

    Parameters
    ----------
    responses : pandas.DataFrame
        Baseline rows (one per respondent).
    covariates : sequence of str
        Numeric baseline characteristics.
    treated : str
        0/1 assignment column.
    cluster : str or None, default None
        Cluster column (unit of assignment); None for individually randomised designs
        (HC1 errors with a t(N-K) reference).
    stratum : str or None, default None
        Randomization strata, entered as fixed effects in the regression (iebaltab's
        ``fixedeffect()``).
    small_sample : {"stata", "fixest"}, default "stata"
        CR1 convention of :func:`measurement.linear_model.fit_linear_model`.

    Returns
    -------
    pandas.DataFrame
        One row per covariate with :data:`BALANCE_COLUMNS`.

    Raises
    ------
    TypeError
        ``responses`` is not a DataFrame; a covariate or ``treated`` is not numeric.
    ValueError
        An absent column; ``treated`` not 0/1; no covariates.
    DesignError
        Only one arm; an arm without an answer to a covariate; and as
        :func:`measurement.linear_model.fit_linear_model` (one cluster, a covariate without
        variation, ``treated`` constant within strata).

    Notes
    -----
    Each covariate uses its non-missing rows. The normalized difference does not grow with
    the sample size, unlike a t statistic; Imbens and Rubin suggest that absolute values above
    0.25 call for covariate adjustment. With stratum fixed effects the regression estimate is
    the within-stratum difference, which can differ from the raw difference of means.
    Balance tests in a randomized trial test the randomization, not the outcome model: a few
    rejections at 5% are expected among many covariates; use :func:`joint_orthogonality`.

    References
    ----------
    Imbens, G. W., & Rubin, D. B. (2015). Causal Inference for Statistics, Social, and
    Biomedical Sciences: An Introduction. Cambridge University Press, chapter 14.
    Imbens, G. W., & Wooldridge, J. M. (2009). Recent developments in the econometrics of
    program evaluation. Journal of Economic Literature, 47(1), 5-86.
    Bjärkefur, K., Cardoso de Andrade, L., Daniels, B., & Jones, M. R. (2021). Development
    Research in Practice: The DIME Analytics Data Handbook. World Bank (ietoolkit's
    ``iebaltab``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(20), 15)})
    >>> frame["treated"] = (frame["cluster"] % 2).astype(float)
    >>> frame["years"] = rng.normal(30, 8, size=300)
    >>> frame["kin_abroad"] = rng.integers(0, 2, size=300).astype(float)
    >>> table = baseline_balance(frame, covariates=["years", "kin_abroad"],
    ...                          treated="treated", cluster="cluster")
    >>> table[["covariate", "n_comparison", "n_treated", "n_clusters"]].to_dict("records")
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'covariate': 'years', 'n_comparison': 150, 'n_treated': 150, 'n_clusters': 20},
     {'covariate': 'kin_abroad', 'n_comparison': 150, 'n_treated': 150, 'n_clusters': 20}]
    """
    caller = "baseline_balance"
    check_responses(responses, caller=caller)
    names = check_names(covariates, what="covariates", caller=caller)
    check_columns(
        responses, [*names, treated, cluster, stratum], caller=caller, numeric=[*names, treated]
    )
    status = _check_treated(responses, treated, caller)
    fixed_effects = [stratum] if stratum is not None else []
    specification = (
        f"{{covariate}} ~ {treated}"
        + (f" | {stratum} fixed effects" if stratum is not None else "")
        + (
            f"; CR1 errors clustered on {cluster}, t(G-1) p-value"
            if cluster is not None
            else "; HC1 errors, t(N-K) p-value"
        )
    )
    rows = []
    for name in names:
        values = responses[name].to_numpy(dtype=float, na_value=np.nan)
        arms = {}
        for arm, label in ((0.0, "comparison"), (1.0, "treated")):
            answered = values[(status == arm) & ~np.isnan(values)]
            if answered.size == 0:
                raise DesignError(
                    f"{caller}: no row of the {label} arm answers {name!r}. Drop the covariate "
                    "or check its coding."
                )
            arms[label] = answered
        mean_c, mean_t = float(arms["comparison"].mean()), float(arms["treated"].mean())
        sd_c = float(arms["comparison"].std(ddof=1)) if arms["comparison"].size > 1 else np.nan
        sd_t = float(arms["treated"].std(ddof=1)) if arms["treated"].size > 1 else np.nan
        pooled = np.sqrt((sd_c**2 + sd_t**2) / 2)
        fit = fit_linear_model(
            responses,
            outcome=name,
            regressors=[treated],
            cluster=cluster,
            fixed_effects=fixed_effects,
            small_sample=small_sample,
        )
        summary = fit.term(treated)
        rows.append(
            {
                "covariate": name,
                "n_comparison": int(arms["comparison"].size),
                "mean_comparison": mean_c,
                "std_dev_comparison": sd_c,
                "n_treated": int(arms["treated"].size),
                "mean_treated": mean_t,
                "std_dev_treated": sd_t,
                "difference": mean_t - mean_c,
                "normalized_difference": (mean_t - mean_c) / pooled if pooled > 0 else np.nan,
                "estimate": summary["estimate"],
                "std_error": summary["std_error"],
                "statistic": summary["statistic"],
                "p_value": summary["p_value"],
                "n_obs": fit.n_obs,
                "n_clusters": fit.n_clusters,
                "specification": specification.replace("{covariate}", name),
            }
        )
    return pd.DataFrame(rows, columns=BALANCE_COLUMNS)


def joint_orthogonality(
    responses: pd.DataFrame,
    *,
    covariates: Sequence[str],
    treated: str,
    cluster: str | None = None,
    stratum: str | None = None,
    small_sample: SmallSample = "stata",
    vcov: VcovType | None = None,
) -> WaldTest:
    """Joint test that baseline characteristics do not predict assignment (iebaltab ``ftest``).

    Regresses ``treated`` on all covariates (with stratum fixed effects if given) by OLS
    with CR1 errors clustered on the unit of assignment and tests that every covariate
    coefficient is zero with a Wald F test on (q, G-1) degrees of freedom.

    Parameters
    ----------
    responses : pandas.DataFrame
        Baseline rows.
    covariates : sequence of str
        Numeric baseline characteristics (fewer than the number of clusters).
    treated : str
        0/1 assignment column.
    cluster : str or None, default None
        Cluster column; None for individually randomised designs.
    stratum : str or None, default None
        Randomization strata as fixed effects.
    small_sample : {"stata", "fixest"}, default "stata"
        CR1 convention.
    vcov : {"iid", "HC1", "HC2", "CR1", "CR2"} or None, default None (CR1, HC1 without cluster)
        ``"CR2"`` gives the HTZ Wald test (Pustejovsky and Tipton 2018), which holds its size
        with few clusters.

    Returns
    -------
    WaldTest
        ``tidy()`` gives one row: terms, statistic, df_numerator, df_denominator, p_value,
        n_obs, n_clusters, method.

    Raises
    ------
    TypeError
        As :func:`baseline_balance`.
    ValueError
        As :func:`baseline_balance`.
    DesignError
        Only one arm; at least as many covariates as clusters; collinear covariates; and as
        :func:`measurement.linear_model.fit_linear_model`.

    Notes
    -----
    Rows missing any covariate are dropped (``n_obs`` says how many remain), as in iebaltab.
    A linear probability model of assignment is used only as a test device; its coefficients
    are not interpreted.

    References
    ----------
    Bruhn, M., & McKenzie, D. (2009). In pursuit of balance: Randomization in practice in
    development field experiments. American Economic Journal: Applied Economics, 1(4),
    200-232.
    Bjärkefur, K., Cardoso de Andrade, L., Daniels, B., & Jones, M. R. (2021). Development
    Research in Practice: The DIME Analytics Data Handbook. World Bank (ietoolkit's
    ``iebaltab``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(20), 15)})
    >>> frame["treated"] = (frame["cluster"] % 2).astype(float)
    >>> frame["years"] = rng.normal(30, 8, size=300)
    >>> frame["kin_abroad"] = rng.integers(0, 2, size=300).astype(float)
    >>> result = joint_orthogonality(frame, covariates=["years", "kin_abroad"],
    ...                              treated="treated", cluster="cluster")
    >>> result.df_numerator, result.df_denominator, result.n_obs
    (2, 19.0, 300)
    """
    caller = "joint_orthogonality"
    check_responses(responses, caller=caller)
    names = check_names(covariates, what="covariates", caller=caller)
    check_columns(
        responses, [*names, treated, cluster, stratum], caller=caller, numeric=[*names, treated]
    )
    _check_treated(responses, treated, caller)
    fit = fit_linear_model(
        responses,
        outcome=treated,
        regressors=names,
        cluster=cluster,
        fixed_effects=[stratum] if stratum is not None else [],
        small_sample=small_sample,
        vcov=vcov,
    )
    if len(names) >= fit.n_clusters:
        raise DesignError(
            f"{caller}: {len(names)} covariates cannot be tested jointly with "
            f"{fit.n_clusters} clusters; the cluster-robust variance identifies at most "
            f"{fit.n_clusters - 1} restrictions. Test fewer covariates."
        )
    return wald_test(fit, names)
