"""Intracluster correlations and baseline R-squared of outcomes, from a baseline or a pilot.

They are the two numbers a cluster design's power rests on most (see :mod:`measurement.power`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from measurement.arguments import check_columns, check_responses
from measurement.errors import DesignError

__all__ = [
    "BaselineRSquared",
    "IntraclusterCorrelation",
    "baseline_r_squared",
    "intracluster_correlation",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class IntraclusterCorrelation:
    """The one-way ANOVA ICC of one outcome with its interval and the cluster sizes."""

    outcome: str
    estimate: float
    conf_low: float
    conf_high: float
    n_obs: int
    n_clusters: int
    mean_cluster_size: float
    cluster_size_cv: float
    method: str

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def intracluster_correlation(
    responses: pd.DataFrame, *, outcome: str, cluster: str, confidence: float = 0.95
) -> IntraclusterCorrelation:
    """Estimate the intracluster correlation of ``outcome`` by one-way analysis of variance.

    ``ICC = (MSB - MSW) / (MSB + (n0 - 1) MSW)`` with ``n0 = (N - sum n_j^2 / N) / (k - 1)``
    the ANOVA mean cluster size (Donner 1986); the interval is Searle's F-based one,
    ``(F / F_u - 1) / (F / F_u + n0 - 1)`` to ``(F / F_l - 1) / (F / F_l + n0 - 1)`` with ``F
    = MSB / MSW`` and ``F_u, F_l`` the upper and lower quantiles of F(k - 1, N - k).

    Parameters
    ----------
    responses : DataFrame
        One row per respondent (a baseline or pilot wave).
    outcome, cluster : str
        Columns of the outcome and of the cluster of assignment.
    confidence : float
        Level of the interval.

    Returns
    -------
    IntraclusterCorrelation
        The estimate (negative estimates are kept: truncate at 0 for planning), interval,
        counts, and the mean and coefficient of variation of the cluster sizes.

    Raises
    ------
    DesignError
        With fewer than two clusters or no variation within clusters.

    Notes
    -----
    The interval is exact for equal cluster sizes and normal outcomes; with unequal sizes it
    is the usual approximation. It is wide with few clusters: plan on its upper end.

    References
    ----------
    Searle, S. R. (1971). *Linear Models*. Wiley, p. 414.

    Donner, A. (1986). A review of inference procedures for the intraclass correlation
    coefficient in the one-way random effects model. *International Statistical Review*,
    54(1), 67-82.

    Examples
    --------
    >>> frame = pd.DataFrame({"y": [1.0, 2, 3, 5, 6, 7], "c": [1, 1, 1, 2, 2, 2]})
    >>> round(intracluster_correlation(frame, outcome="y", cluster="c").estimate, 4)
    0.8846
    """
    caller = "intracluster_correlation"
    check_responses(responses, caller=caller)
    check_columns(responses, [outcome, cluster], caller=caller)
    rows = responses[[outcome, cluster]].dropna()
    values = pd.to_numeric(rows[outcome], errors="coerce").astype(float)
    groups = rows[cluster]
    sizes = values.groupby(groups).size()
    k, n = len(sizes), int(sizes.sum())
    if k < 2 or n - k < 1:
        raise DesignError(
            f"{caller}: {outcome!r} has answers in {k} cluster(s) ({n} respondents); an ICC "
            "needs at least two clusters and more respondents than clusters. Use a wave with "
            "more clusters."
        )
    means = values.groupby(groups).mean()
    grand = values.mean()
    between = float((sizes * (means - grand) ** 2).sum()) / (k - 1)
    within = float(((values - groups.map(means)) ** 2).sum()) / (n - k)
    if within <= 0:
        raise DesignError(
            f"{caller}: {outcome!r} does not vary within clusters. Check the outcome."
        )
    n0 = (n - float((sizes**2).sum()) / n) / (k - 1)
    estimate = (between - within) / (between + (n0 - 1) * within)
    ratio = between / within
    tail = (1 - confidence) / 2
    upper_quantile = stats.f.ppf(1 - tail, k - 1, n - k)
    lower_quantile = stats.f.ppf(tail, k - 1, n - k)
    low_ratio, high_ratio = ratio / upper_quantile, ratio / lower_quantile
    return IntraclusterCorrelation(
        outcome=outcome,
        estimate=float(estimate),
        conf_low=float((low_ratio - 1) / (low_ratio + n0 - 1)),
        conf_high=float((high_ratio - 1) / (high_ratio + n0 - 1)),
        n_obs=n,
        n_clusters=k,
        mean_cluster_size=float(sizes.mean()),
        cluster_size_cv=float(sizes.std(ddof=1) / sizes.mean()) if k > 1 else 0.0,
        method="one-way ANOVA ICC; Searle F interval",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineRSquared:
    """Share of a follow-up outcome's variance the baseline value explains, two levels."""

    outcome: str
    r_squared: float
    conf_low: float
    conf_high: float
    r_squared_cluster: float
    conf_low_cluster: float
    conf_high_cluster: float
    n_obs: int
    n_clusters: int
    draws: int

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def _r_squared(first: np.ndarray, second: np.ndarray) -> float:
    if len(first) < 3 or np.std(first) == 0 or np.std(second) == 0:
        return math.nan
    return float(np.corrcoef(first, second)[0, 1] ** 2)


def baseline_r_squared(
    responses: pd.DataFrame,
    *,
    outcome: str,
    respondent: str,
    cluster: str,
    wave: str,
    baseline_wave: str,
    follow_up_wave: str,
    draws: int = 999,
    seed: int = 20261130,
    confidence: float = 0.95,
) -> BaselineRSquared:
    """R-squared of the follow-up outcome on its baseline value, respondents and cluster means.

    The individual R-squared is the squared correlation of the two waves' answers among
    respondents interviewed in both; the cluster R-squared the same for cluster means. The
    intervals are percentile intervals of a bootstrap that resamples whole clusters (``draws``
    draws, ``seed``), which respects the clustering a Fisher interval would ignore.

    Raises
    ------
    DesignError
        When fewer than three clusters link the two waves.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> base = rng.normal(size=200)
    >>> frame = pd.DataFrame({
    ...     "id": np.tile(np.arange(200), 2), "c": np.tile(np.arange(200) % 20, 2),
    ...     "w": ["b"] * 200 + ["f"] * 200,
    ...     "y": np.concatenate([base, 0.7 * base + rng.normal(scale=0.7, size=200)])})
    >>> fit = baseline_r_squared(frame, outcome="y", respondent="id", cluster="c", wave="w",
    ...                          baseline_wave="b", follow_up_wave="f", draws=99)
    >>> 0.35 < fit.r_squared < 0.65
    True
    """
    caller = "baseline_r_squared"
    check_responses(responses, caller=caller)
    check_columns(responses, [outcome, respondent, cluster, wave], caller=caller)
    before = responses.loc[responses[wave] == baseline_wave, [respondent, cluster, outcome]]
    after = responses.loc[responses[wave] == follow_up_wave, [respondent, outcome]]
    linked = before.merge(after, on=respondent, suffixes=("_before", "_after")).dropna()
    linked = linked.drop_duplicates(respondent)
    first, second = f"{outcome}_before", f"{outcome}_after"
    clusters = linked[cluster].unique()
    if len(clusters) < 3:
        raise DesignError(
            f"{caller}: {len(clusters)} cluster(s) link {baseline_wave!r} and "
            f"{follow_up_wave!r} for {outcome!r}; at least 3 are needed. Use a panel with "
            "respondents interviewed in both waves."
        )
    means = linked.groupby(cluster)[[first, second]].mean()
    individual = _r_squared(linked[first].to_numpy(float), linked[second].to_numpy(float))
    grouped = _r_squared(means[first].to_numpy(float), means[second].to_numpy(float))
    generator = np.random.default_rng(seed)
    by_cluster = {key: rows for key, rows in linked.groupby(cluster)}
    draws_individual, draws_cluster = [], []
    for _ in range(draws):
        chosen = generator.choice(clusters, size=len(clusters), replace=True)
        sample = pd.concat([by_cluster[key] for key in chosen], ignore_index=True)
        draws_individual.append(
            _r_squared(sample[first].to_numpy(float), sample[second].to_numpy(float))
        )
        chosen_means = means.loc[chosen]
        draws_cluster.append(
            _r_squared(chosen_means[first].to_numpy(float), chosen_means[second].to_numpy(float))
        )
    tail = (1 - confidence) / 2 * 100

    def bounds(values: list[float]) -> tuple[float, float]:
        kept = np.asarray([value for value in values if math.isfinite(value)])
        if kept.size == 0:
            return math.nan, math.nan
        return float(np.percentile(kept, tail)), float(np.percentile(kept, 100 - tail))

    low, high = bounds(draws_individual)
    low_cluster, high_cluster = bounds(draws_cluster)
    return BaselineRSquared(
        outcome=outcome,
        r_squared=individual,
        conf_low=low,
        conf_high=high,
        r_squared_cluster=grouped,
        conf_low_cluster=low_cluster,
        conf_high_cluster=high_cluster,
        n_obs=len(linked),
        n_clusters=len(clusters),
        draws=draws,
    )
