"""Power, minimum detectable effects and sample sizes of two-arm randomised designs.

Effects are in standard deviations of the outcome (Cohen's d): an effect of 0.2 is a fifth of
the outcome's standard deviation in the comparison arm. A planned design is a
:class:`PlannedDesign`; :func:`design_power`, :func:`minimum_detectable_effect` and
:func:`required_size` answer the three questions of a design stage (power given sample and
effect; the effect given sample and power; the sample given effect and power).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

from measurement.errors import DesignError

__all__ = [
    "POWER_COLUMNS",
    "PlannedDesign",
    "PowerResult",
    "design_effect",
    "design_power",
    "effect_standard_error",
    "minimum_detectable_effect",
    "minimum_detectable_effect_from_standard_error",
    "power_from_standard_error",
    "required_size",
]

Analysis = Literal["ancova", "did", "endline"]
Distribution = Literal["t", "normal"]

POWER_COLUMNS = [
    "analysis",
    "n_clusters",
    "cluster_size",
    "n_respondents",
    "icc",
    "cluster_size_cv",
    "r_squared",
    "attrition",
    "treated_share",
    "n_strata",
    "alpha",
    "design_effect",
    "std_error",
    "df",
    "effect",
    "power",
]
"""Columns of :meth:`PowerResult.tidy`: the design, its standard error (in SD units) and
degrees of freedom, the effect (SD units) and the power of a two-sided test of it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedDesign:
    """A planned two-arm evaluation, individually or cluster-randomised.

    Parameters
    ----------
    n_clusters : int or None
        Clusters randomised (both arms together); None for an individually randomised design.
    cluster_size : float
        Mean respondents interviewed per cluster at baseline (1 for individual designs).
    n_respondents : int or None
        Respondents of an individually randomised design (both arms); ignored with clusters.
    icc : float
        Intracluster correlation of the outcome, ``rho`` in [0, 1).
    cluster_size_cv : float
        Coefficient of variation of the cluster sizes (0: equal clusters).
    analysis : {"ancova", "did", "endline"}
        ANCOVA on the follow-up with the baseline outcome (a panel), difference-in-differences
        of repeated cross-sections, or a comparison of follow-up means.
    r_squared : float
        Share of the individual-level outcome variance explained by the baseline outcome and
        strata (ANCOVA) or by covariates (the other analyses).
    r_squared_cluster : float or None
        The same at the cluster level (cluster means); ``r_squared`` when None.
    cluster_autocorrelation : float
        Correlation of a cluster's mean between baseline and follow-up (``did`` only).
    attrition : float
        Share of respondents lost by the follow-up, in [0, 1).
    treated_share : float
        Share of clusters (or respondents) assigned to the campaign.
    n_strata : int
        Randomisation strata; each costs one degree of freedom (strata fixed effects).
    alpha : float
        Two-sided significance level.
    distribution : {"t", "normal"}
        The reference distribution of the test: t with the design's degrees of freedom (the
        few-clusters correction) or the normal approximation.
    """

    n_clusters: int | None = None
    cluster_size: float = 1.0
    n_respondents: int | None = None
    icc: float = 0.0
    cluster_size_cv: float = 0.0
    analysis: Analysis = "endline"
    r_squared: float = 0.0
    r_squared_cluster: float | None = None
    cluster_autocorrelation: float = 0.0
    attrition: float = 0.0
    treated_share: float = 0.5
    n_strata: int = 1
    alpha: float = 0.05
    distribution: Distribution = "t"

    def __post_init__(self) -> None:
        caller = "PlannedDesign"
        if self.n_clusters is None and self.n_respondents is None:
            raise ValueError(
                f"{caller}: neither n_clusters nor n_respondents is given. Pass n_clusters "
                "(cluster-randomised) or n_respondents (individually randomised)."
            )
        if self.n_clusters is not None and self.n_clusters < 2:
            raise DesignError(
                f"{caller}: n_clusters must be at least 2; got {self.n_clusters!r}. A design "
                "needs a cluster in each arm."
            )
        if self.n_clusters is None and self.n_respondents is not None and self.n_respondents < 3:
            raise DesignError(
                f"{caller}: n_respondents must be at least 3; got {self.n_respondents!r}."
            )
        if self.cluster_size < 1:
            raise ValueError(
                f"{caller}: cluster_size must be at least 1; got {self.cluster_size!r}."
            )
        for name in ("icc", "attrition"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ValueError(f"{caller}: {name} must lie in [0, 1); got {value!r}.")
        for name in ("r_squared", "r_squared_cluster"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise ValueError(f"{caller}: {name} must lie in [0, 1); got {value!r}.")
        if not -1 < self.cluster_autocorrelation <= 1:
            raise ValueError(
                f"{caller}: cluster_autocorrelation must lie in (-1, 1]; got "
                f"{self.cluster_autocorrelation!r}."
            )
        if self.cluster_size_cv < 0:
            raise ValueError(
                f"{caller}: cluster_size_cv must be non-negative; got {self.cluster_size_cv!r}."
            )
        if not 0 < self.treated_share < 1:
            raise ValueError(
                f"{caller}: treated_share must lie in (0, 1); got {self.treated_share!r}."
            )
        if not 0 < self.alpha < 1:
            raise ValueError(f"{caller}: alpha must lie in (0, 1); got {self.alpha!r}.")
        if self.n_strata < 1:
            raise ValueError(f"{caller}: n_strata must be at least 1; got {self.n_strata!r}.")
        if self.analysis not in ("ancova", "did", "endline"):
            raise ValueError(
                f"{caller}: analysis must be 'ancova', 'did' or 'endline'; got {self.analysis!r}."
            )
        if self.distribution not in ("t", "normal"):
            raise ValueError(
                f"{caller}: distribution must be 't' or 'normal'; got {self.distribution!r}."
            )

    @property
    def clustered(self) -> bool:
        return self.n_clusters is not None

    @property
    def units(self) -> float:
        """Randomised units: clusters, or respondents of an individual design."""
        return float(self.n_clusters if self.n_clusters is not None else self.n_respondents or 0)

    @property
    def df(self) -> float:
        """Degrees of freedom of the test: units minus arms' and strata's parameters.

        Cluster designs: ``G - 2 - (S - 1)`` (the between-cluster comparison); individual
        designs: ``N' - 2 - (S - 1)`` less one for the baseline covariate of ANCOVA, with
        ``N'`` the respondents left after attrition.
        """
        if self.distribution == "normal":
            return math.inf
        if self.clustered:
            return self.units - 1 - self.n_strata
        analysed = self.units * (1 - self.attrition)
        return analysed - 1 - self.n_strata - (1 if self.analysis == "ancova" else 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerResult:
    """The power of one planned design against one effect."""

    design: PlannedDesign
    design_effect: float
    std_error: float
    df: float
    effect: float
    power: float

    def tidy(self) -> pd.DataFrame:
        planned = self.design
        row = {
            "analysis": planned.analysis,
            "n_clusters": planned.n_clusters if planned.clustered else 0,
            "cluster_size": planned.cluster_size if planned.clustered else 1.0,
            "n_respondents": int(
                round(planned.units * planned.cluster_size) if planned.clustered else planned.units
            ),
            "icc": planned.icc,
            "cluster_size_cv": planned.cluster_size_cv,
            "r_squared": planned.r_squared,
            "attrition": planned.attrition,
            "treated_share": planned.treated_share,
            "n_strata": planned.n_strata,
            "alpha": planned.alpha,
            "design_effect": self.design_effect,
            "std_error": self.std_error,
            "df": self.df,
            "effect": self.effect,
            "power": self.power,
        }
        return pd.DataFrame([row], columns=POWER_COLUMNS)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "design": asdict(self.design)}


def design_effect(*, cluster_size: float, icc: float, cluster_size_cv: float = 0.0) -> float:
    """The variance inflation of cluster sampling, ``1 + ((cv^2 + 1) m - 1) rho``.

    With equal clusters (``cv = 0``) this is Kish's ``1 + (m - 1) rho``; with unequal
    clusters it is the approximation of Eldridge, Ashby and Kerry (2006) for a mean cluster
    size ``m`` and coefficient of variation ``cv`` of the sizes.

    References
    ----------
    Eldridge, S. M., Ashby, D., & Kerry, S. (2006). Sample size for cluster randomized trials:
    effect of coefficient of variation of cluster size and analysis method. *International
    Journal of Epidemiology*, 35(5), 1292-1300.

    Examples
    --------
    >>> round(design_effect(cluster_size=10, icc=0.3), 6)
    3.7
    """
    return 1.0 + ((cluster_size_cv**2 + 1.0) * cluster_size - 1.0) * icc


def effect_standard_error(planned: PlannedDesign) -> float:
    """Standard error of the estimated effect, in outcome standard deviations.

    Cluster designs with ``G`` clusters, treated share ``P``, ``m'`` respondents per cluster
    left after attrition, ICC ``rho`` and size variation ``cv`` (Bloom 2005, with the
    unequal-size term of Eldridge et al. 2006)::

        endline/ancova:  V = [rho (1 + cv^2)(1 - R2_c) + (1 - rho)(1 - R2_i) / m'] / (P (1-P) G)
        did (repeated cross-sections, cluster autocorrelation pi):
                         V = 2 [rho (1 + cv^2)(1 - pi) + (1 - rho) / m'] (1 - R2) / (P (1-P) G)

    Individual designs are the case ``rho = 0``, ``m' = 1`` with ``N'`` units.

    References
    ----------
    Bloom, H. S. (2005). Randomizing groups to evaluate place-based programs. In H. S. Bloom
    (Ed.), *Learning More from Social Experiments* (pp. 115-172). Russell Sage Foundation.

    Teerenstra, S., Eldridge, S., Graff, M., de Hoop, E., & Borm, G. F. (2012). A simple
    sample size formula for analysis of covariance in cluster randomized trials. *Statistics
    in Medicine*, 31(20), 2169-2178.

    Examples
    --------
    >>> round(effect_standard_error(PlannedDesign(n_respondents=100)), 4)
    0.2
    """
    share = planned.treated_share * (1 - planned.treated_share)
    r2_i = planned.r_squared
    r2_c = planned.r_squared if planned.r_squared_cluster is None else planned.r_squared_cluster
    if not planned.clustered:
        analysed = planned.units * (1 - planned.attrition)
        factor = 2.0 * (1 - r2_i) if planned.analysis == "did" else (1 - r2_i)
        return math.sqrt(factor / (share * analysed))
    size = planned.cluster_size * (1 - planned.attrition)
    between = planned.icc * (1 + planned.cluster_size_cv**2)
    within = (1 - planned.icc) / size
    if planned.analysis == "did":
        variance = 2 * (between * (1 - planned.cluster_autocorrelation) + within) * (1 - r2_i)
    else:
        variance = between * (1 - r2_c) + within * (1 - r2_i)
    return math.sqrt(variance / (share * planned.units))


def power_from_standard_error(
    effect: float | np.ndarray, *, std_error: float, df: float, alpha: float = 0.05
) -> float | np.ndarray:
    """Power of a two-sided test at level ``alpha`` when the estimate has this SE and df.

    The noncentral t distribution with ``df`` degrees of freedom and noncentrality
    ``effect / std_error`` (both tails), as R's ``pwr.t.test`` and statsmodels'
    ``TTestIndPower``; the normal distribution when ``df`` is infinite.

    Examples
    --------
    >>> round(float(power_from_standard_error(0.0, std_error=1.0, df=math.inf)), 4)
    0.05
    """
    if std_error <= 0 or not math.isfinite(std_error):
        raise ValueError(
            f"power_from_standard_error: std_error must be positive and finite; got {std_error!r}."
        )
    if not df > 0:
        raise DesignError(
            f"power_from_standard_error: the test has {df!r} degrees of freedom. Add clusters "
            "or respondents, or drop strata."
        )
    noncentrality = np.asarray(effect, dtype=float) / std_error
    if math.isinf(df):
        critical = stats.norm.ppf(1 - alpha / 2)
        value = stats.norm.sf(critical - noncentrality) + stats.norm.cdf(-critical - noncentrality)
    else:
        critical = stats.t.ppf(1 - alpha / 2, df)
        value = np.asarray(
            stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality),
            dtype=float,
        )
        unstable = np.isnan(value)
        if unstable.any():
            # scipy's noncentral t returns NaN for some (df, noncentrality) pairs (for example
            # df = 1 with noncentrality 8, or df = 5 with 16): integrate over the chi-square.
            value = np.where(
                unstable,
                np.vectorize(lambda delta: _power_by_integration(critical, df, delta))(
                    noncentrality
                ),
                value,
            )
    return float(value) if np.ndim(value) == 0 else np.asarray(value)


def _power_by_integration(critical: float, df: float, noncentrality: float) -> float:
    """P(|T| > c) for T noncentral t, as E[Phi(d - c S) + Phi(-d - c S)], S^2 = chi2_df / df."""

    def integrand(variance: float) -> float:
        scale = critical * math.sqrt(variance / df)
        tails = stats.norm.cdf(noncentrality - scale) + stats.norm.cdf(-noncentrality - scale)
        return float(tails * stats.chi2.pdf(variance, df))

    value, _ = integrate.quad(integrand, 0.0, math.inf, limit=200)
    return float(min(max(value, 0.0), 1.0))


def design_power(planned: PlannedDesign, *, effect: float) -> PowerResult:
    """Power of the planned design to detect ``effect`` (SD units) with a two-sided test.

    Parameters
    ----------
    planned : PlannedDesign
        The design, its sizes and its variance assumptions.
    effect : float
        The true effect in outcome standard deviations.

    Returns
    -------
    PowerResult
        The design effect, the standard error and df of the estimate, and the power.

    Raises
    ------
    DesignError
        When the design leaves no degrees of freedom.

    Notes
    -----
    With the t reference on ``G - 2`` (less strata) degrees of freedom the power is that of a
    t-test on cluster means, which is what inference clustered on few clusters can deliver;
    the normal approximation overstates power when clusters are few.

    Examples
    --------
    >>> planned = PlannedDesign(n_clusters=40, cluster_size=15, icc=0.05)
    >>> round(design_power(planned, effect=0.3).power, 3)
    0.784
    """
    std_error = effect_standard_error(planned)
    value = power_from_standard_error(
        effect, std_error=std_error, df=planned.df, alpha=planned.alpha
    )
    return PowerResult(
        design=planned,
        design_effect=_design_effect_of(planned),
        std_error=std_error,
        df=planned.df,
        effect=float(effect),
        power=float(value),
    )


def _design_effect_of(planned: PlannedDesign) -> float:
    if not planned.clustered:
        return 1.0
    return design_effect(
        cluster_size=planned.cluster_size * (1 - planned.attrition),
        icc=planned.icc,
        cluster_size_cv=planned.cluster_size_cv,
    )


def minimum_detectable_effect_from_standard_error(
    *, std_error: float, df: float, power: float = 0.8, alpha: float = 0.05
) -> float:
    """The smallest effect a two-sided test with this SE and df detects with ``power``.

    Solves the noncentral-t power equation exactly (the Bloom multiplier
    ``t_{1-alpha/2} + t_{power}`` is its close approximation).

    Examples
    --------
    >>> round(minimum_detectable_effect_from_standard_error(std_error=0.1, df=math.inf), 3)
    0.28
    """
    if not 0 < power < 1 or power <= alpha:
        raise ValueError(
            f"minimum_detectable_effect: power must lie in (alpha, 1); got {power!r}. Pass "
            "for example 0.8."
        )
    if not df > 0:
        raise DesignError(
            f"minimum_detectable_effect: the test has {df!r} degrees of freedom. Add clusters "
            "or respondents, or drop strata."
        )

    def gap(noncentrality: float) -> float:
        return (
            float(power_from_standard_error(noncentrality, std_error=1.0, df=df, alpha=alpha))
            - power
        )

    upper = 4.0
    while gap(upper) < 0:
        upper *= 2
    return float(optimize.brentq(gap, 0.0, upper, xtol=1e-12)) * std_error


def minimum_detectable_effect(planned: PlannedDesign, *, power: float = 0.8) -> PowerResult:
    """The smallest effect (SD units) the planned design detects with ``power``.

    Examples
    --------
    >>> planned = PlannedDesign(n_clusters=40, cluster_size=15, icc=0.05)
    >>> round(minimum_detectable_effect(planned).effect, 3)
    0.306
    """
    std_error = effect_standard_error(planned)
    effect = minimum_detectable_effect_from_standard_error(
        std_error=std_error, df=planned.df, power=power, alpha=planned.alpha
    )
    return design_power(planned, effect=effect)


def required_size(
    planned: PlannedDesign,
    *,
    effect: float,
    power: float = 0.8,
    solve_for: Literal["clusters", "cluster_size", "respondents"] = "clusters",
) -> PowerResult:
    """The smallest sample that detects ``effect`` with ``power``; the other sizes held fixed.

    ``solve_for`` is ``"clusters"`` (clusters of ``cluster_size``), ``"cluster_size"``
    (respondents per cluster for ``n_clusters`` clusters) or ``"respondents"`` (individual
    designs). Sizes are rounded up to whole clusters or respondents; the returned power is
    that of the rounded design.

    Raises
    ------
    DesignError
        When no cluster size reaches the power with the fixed clusters (more respondents per
        cluster cannot remove the between-cluster variance); the message gives the largest
        power those clusters can reach.

    Examples
    --------
    >>> planned = PlannedDesign(n_clusters=2, cluster_size=10, icc=0.3, distribution="normal")
    >>> required_size(planned, effect=0.8).design.n_clusters
    19
    """
    if effect == 0 or not math.isfinite(effect):
        raise ValueError(
            f"required_size: effect must be a non-zero number of standard deviations; got "
            f"{effect!r}."
        )
    if not 0 < power < 1:
        raise ValueError(f"required_size: power must lie in (0, 1); got {power!r}.")

    def achieved(candidate: PlannedDesign) -> float:
        try:
            return design_power(candidate, effect=effect).power
        except DesignError:
            return 0.0

    if solve_for == "clusters":
        if not planned.clustered:
            raise ValueError(
                "required_size: solve_for='clusters' needs a cluster design (n_clusters). "
                "Use solve_for='respondents' for an individually randomised design."
            )
        size = _smallest(lambda g: replace(planned, n_clusters=g), achieved, power, start=2)
        return design_power(replace(planned, n_clusters=size), effect=effect)
    if solve_for == "respondents":
        if planned.clustered:
            raise ValueError(
                "required_size: solve_for='respondents' is for individually randomised "
                "designs; use 'clusters' or 'cluster_size' with n_clusters."
            )
        size = _smallest(lambda n: replace(planned, n_respondents=n), achieved, power, start=3)
        return design_power(replace(planned, n_respondents=size), effect=effect)
    if solve_for == "cluster_size":
        if not planned.clustered:
            raise ValueError("required_size: solve_for='cluster_size' needs n_clusters.")
        ceiling = achieved(replace(planned, cluster_size=1e9))
        if ceiling < power:
            raise DesignError(
                f"required_size: {planned.n_clusters} clusters cannot reach power {power:g} "
                f"for an effect of {effect:g} SD at any cluster size (at most {ceiling:.3f}: "
                "the between-cluster variance does not shrink with more respondents). Add "
                "clusters."
            )
        size = _smallest(lambda m: replace(planned, cluster_size=m), achieved, power, start=1)
        return design_power(replace(planned, cluster_size=size), effect=effect)
    raise ValueError(
        f"required_size: solve_for must be 'clusters', 'cluster_size' or 'respondents'; got "
        f"{solve_for!r}."
    )


def _smallest(
    build: Callable[[int], PlannedDesign],
    achieved: Callable[[PlannedDesign], float],
    power: float,
    *,
    start: int,
) -> int:
    """The smallest integer size >= start whose design reaches ``power`` (doubling, bisection)."""
    low, high = start, max(start, 2) * 2
    while achieved(build(high)) < power:
        low, high = high, high * 2
        if high > 10**9:
            raise DesignError(
                f"required_size: no sample up to {high:,} reaches power {power:g}. Check the "
                "effect, ICC and R-squared."
            )
    if achieved(build(low)) >= power:
        return low
    while high - low > 1:
        middle = (low + high) // 2
        if achieved(build(middle)) >= power:
            high = middle
        else:
            low = middle
    return high
