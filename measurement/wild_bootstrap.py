"""Wild cluster restricted (WCR) bootstrap p-values and confidence intervals for few clusters.

Implements the WCR-11 bootstrap of Cameron, Gelbach and Miller (2008) with the cluster-level
algebra of Roodman, MacKinnon, Nielsen and Webb (2019): after one O(N k) pass over the data,
every bootstrap draw costs O(G k) (the CR1 denominator, its correction kept in low-rank form)
and O(G) (the numerator), and the
bootstrap t statistics are rational functions of the null value, so the confidence interval by
test inversion costs O(B) per evaluated null value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from measurement.effects import EffectModel
from measurement.linear_model import (
    Design,
    SmallSample,
    combine_columns,
    count_parameters,
    cross_product,
    demean,
    prepare_design,
)

__all__ = [
    "TIE_TOLERANCE",
    "BootstrapWeights",
    "WildBootstrapResult",
    "bootstrap_weights",
    "wild_bootstrap_effect",
    "wild_cluster_bootstrap",
]

BootstrapWeights = Literal["auto", "rademacher", "webb"]
WEBB_BELOW = 12
"""With ``weights="auto"``, Webb's six-point weights are used below this many clusters."""

TIE_TOLERANCE = 1e-9
"""A bootstrap |t*| within this relative distance of |t| is a tie, counted as an exceedance.

Under full enumeration the all-(+1) and all-(-1) sign vectors reproduce |t| exactly, so a
strict comparison would decide on rounding (rescaling the outcome moved an "exact" p-value
by 2/2^G). Counting ties as exceedances is the conservative rule."""

_WEBB_VALUES = np.array(
    [-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)], dtype=float
)


@dataclass(frozen=True, slots=True, kw_only=True)
class WildBootstrapResult:
    """Wild cluster restricted bootstrap test of one coefficient.

    ``p_value`` is the symmetric bootstrap p-value of H0: coefficient == ``null``: the share
    of bootstrap |t*| at or above |t|, ties (within :data:`TIE_TOLERANCE` relative) counted as
    exceedances (conservative; pyfixest and the wildboottest package count |t*| strictly
    above |t|, which differs only by ties, at least the two sign vectors +-1 under full
    enumeration);
    ``conf_low``/``conf_high`` invert that test at ``1 - confidence``.
    """

    term: str
    estimate: float
    null: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float
    confidence: float
    draws: int
    weights: str
    enumerated: bool
    n_obs: int
    n_clusters: int
    seed: int | None
    inference: str

    def tidy(self) -> pd.DataFrame:
        """One row."""
        return pd.DataFrame([asdict(self)])


def bootstrap_weights(
    n_clusters: int,
    draws: int,
    *,
    weights: BootstrapWeights = "auto",
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, str, bool]:
    """Draw the (draws x clusters) matrix of cluster weights.

    Rademacher weights (+1/-1 with equal probability) are enumerated exactly when
    ``2**n_clusters <= draws`` (all ``2**n_clusters`` sign vectors, deterministic); otherwise
    they are drawn with ``numpy.random.default_rng(seed)``. With ``weights="auto"``, Webb's
    six-point weights are used below 12 clusters (Webb 2023), where Rademacher weights have
    too few distinct draws.

    Returns
    -------
    matrix, name, enumerated
    """
    if weights not in ("auto", "rademacher", "webb"):
        raise ValueError(
            f"bootstrap_weights: weights must be 'auto', 'rademacher' or 'webb'; got "
            f"{weights!r}. Pass one of these."
        )
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise ValueError(
            f"bootstrap_weights: draws must be a positive integer; got {draws!r}. "
            "Pass for example 9999."
        )
    kind = weights
    if kind == "auto":
        kind = "webb" if n_clusters < WEBB_BELOW else "rademacher"
    if kind == "rademacher" and n_clusters < 31 and 2**n_clusters <= draws:
        codes = np.arange(2**n_clusters, dtype=np.int64)[:, None]
        bits = (codes >> np.arange(n_clusters, dtype=np.int64)[None, :]) & 1
        return (2.0 * bits - 1.0), "rademacher", True
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if kind == "rademacher":
        matrix = rng.integers(0, 2, size=(draws, n_clusters)).astype(float) * 2.0 - 1.0
        return matrix, "rademacher", False
    return _WEBB_VALUES[rng.integers(0, 6, size=(draws, n_clusters))], "webb", False


@dataclass(frozen=True, slots=True)
class _Precomputed:
    """Cluster-level quantities; each pair (y, x) gives the value at null b0 as y - b0 * x.

    The (G x G) matrices K_y and K_x of the draw's score correction are kept as sums of
    low-rank products ``left @ right.T`` (rank k for the regressors, L for one non-nested
    fixed effect) plus an optional dense part (several non-nested fixed effects), so that a
    draw costs O(G (k + L)) rather than O(G^2) when there are many clusters.
    """

    estimate: float
    std_error: float
    factor: float
    c_y: np.ndarray
    c_x: np.ndarray
    k_y: tuple[tuple[np.ndarray, np.ndarray], ...]
    k_x: tuple[tuple[np.ndarray, np.ndarray], ...]
    dense_y: np.ndarray | None = None
    dense_x: np.ndarray | None = None


_DENSE_BELOW = 256
"""Below this many clusters K is formed densely: one small product per block of draws is
cheaper than the two thin ones of the low-rank form."""


def _apply(
    v: np.ndarray, factors: tuple[tuple[np.ndarray, np.ndarray], ...], dense: np.ndarray | None
) -> np.ndarray:
    """``v @ K.T`` for K = sum(left @ right.T) + dense."""
    if v.shape[1] < _DENSE_BELOW:
        full = np.zeros((v.shape[1], v.shape[1])) if dense is None else dense.copy()
        for left, right in factors:
            full += left @ right.T
        return v @ full.T
    # Thin products as einsum loops, not BLAS: on a busy machine threaded BLAS makes these
    # (B x G) by (G x k) products tens of times slower (see linear_model.cross_product).
    out = np.zeros((v.shape[0], v.shape[1]))
    for left, right in factors:
        out += np.einsum("bk,gk->bg", np.einsum("bg,gk->bk", v, right), left)
    if dense is not None:
        out += v @ dense.T
    return out


def _cluster_sums(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=size)
    return np.column_stack(
        [np.bincount(codes, weights=values[:, j], minlength=size) for j in range(values.shape[1])]
    )


def _precompute(design: Design, column: int, small_sample: SmallSample) -> _Precomputed:
    if design.cluster_codes is None:
        raise ValueError("wild_cluster_bootstrap: a cluster column is required.")
    root = np.ones(design.n_obs) if design.weights is None else np.sqrt(design.weights)
    x = design.x if design.weights is None else design.x * root[:, None]
    y = design.y if design.weights is None else design.y * root
    g = design.n_clusters
    codes = design.cluster_codes
    cross = cross_product(x, x)
    x_y = cross_product(x, y)
    inverse = np.linalg.inv(cross)
    beta = inverse @ x_y
    q = combine_columns(x, inverse[column])
    residuals = y - combine_columns(x, beta)
    n, k = design.n_obs, count_parameters(design, small_sample)
    factor = g / (g - 1) * (n - 1) / (n - k)
    score = _cluster_sums(codes, q * residuals, g)
    std_error = float(np.sqrt(factor * score @ score))
    if x.shape[1] > 1:
        # Normal equations reuse x'x instead of a QR of the N rows; the projection has a zero
        # for the tested column so that no N-row copy of the other regressors is made.
        keep = [index for index in range(x.shape[1]) if index != column]
        projection = np.zeros((x.shape[1], 2))
        projection[keep] = np.linalg.solve(
            cross[np.ix_(keep, keep)], np.column_stack([x_y, cross[:, column]])[keep]
        )
        fitted = combine_columns(x, projection)
        r_y = y - fitted[:, 0]
        r_x = x[:, column] - fitted[:, 1]
    else:
        r_y, r_x = y, x[:, column]
    c_y = _cluster_sums(codes, q * r_y, g)
    c_x = _cluster_sums(codes, q * r_x, g)
    h = _cluster_sums(codes, q[:, None] * x, g) @ inverse
    k_y = [(h, _cluster_sums(codes, x * r_y[:, None], g))]
    k_x = [(h, _cluster_sums(codes, x * r_x[:, None], g))]
    dense_y = dense_x = None
    nested = [
        _nested(level_codes, codes, levels)
        for level_codes, levels in zip(
            design.fixed_effect_codes, design.n_fixed_effect_levels, strict=True
        )
    ]
    if len(nested) == 1 and not nested[0]:
        # The bootstrap refit also re-estimates the fixed effects: the residual of the draw is
        # M_D(u * v), not u * v, when the fixed effect is not nested in the cluster (strata
        # containing several clusters). Its contribution to cluster h's score is
        # sum_l e[h, l] * sum_g v_g U[l, g], added here exactly for one fixed effect.
        level_codes = design.fixed_effect_codes[0]
        levels = design.n_fixed_effect_levels[0]
        level_weight = np.bincount(level_codes, weights=root**2, minlength=levels)
        pair = codes * levels + level_codes
        level_sums = np.bincount(pair, weights=q * root, minlength=g * levels)
        e = level_sums.reshape(g, levels) / np.where(level_weight > 0, level_weight, 1.0)[None, :]
        u_y = np.bincount(pair, weights=root * r_y, minlength=g * levels).reshape(g, levels)
        u_x = np.bincount(pair, weights=root * r_x, minlength=g * levels).reshape(g, levels)
        k_y.append((e, u_y))
        k_x.append((e, u_x))
    elif len(nested) > 1 and not all(nested):
        dense_y, dense_x = _fixed_effect_refit(design, codes, q / root, root * r_y, root * r_x)
    return _Precomputed(
        estimate=float(beta[column]),
        std_error=std_error,
        factor=factor,
        c_y=c_y,
        c_x=c_x,
        k_y=tuple(k_y),
        k_x=tuple(k_x),
        dense_y=dense_y,
        dense_x=dense_x,
    )


def _nested(level_codes: np.ndarray, cluster_codes: np.ndarray, levels: int) -> bool:
    first = np.full(levels, -1, dtype=np.int64)
    first[level_codes[::-1]] = cluster_codes[::-1]
    return bool(np.all(first[level_codes] == cluster_codes))


def _fixed_effect_refit(
    design: Design,
    codes: np.ndarray,
    direction: np.ndarray,
    weighted_y: np.ndarray,
    weighted_x: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Score terms from re-estimating several non-nested fixed effects in each draw.

    The residual of a draw is M_[X, D](u * v); its D part adds to cluster h's score
    -sum_g v_g E[h, g] with E[h, g] = sum_{i in g} w_i [P_D(x~ 1_h)]_i u_i, where x~ is the
    tested column's direction ``(X'WX)^-1`` row applied to the within-transformed regressors
    and P_D the (weighted) projection on the fixed effects. P_D of G vectors costs G
    within-transformations (alternating projections), done in blocks of columns.
    """
    g = design.n_clusters
    extra_y = np.zeros((g, g))
    extra_x = np.zeros((g, g))
    block = max(1, min(g, 4_000_000 // max(design.n_obs, 1)))
    for start in range(0, g, block):
        members = np.arange(start, min(start + block, g))
        spread = np.where(codes[:, None] == members[None, :], direction[:, None], 0.0)
        projected = spread - demean(
            spread, design.fixed_effect_codes, design.n_fixed_effect_levels, design.weights
        )
        extra_y[members] = _cluster_sums(codes, projected * weighted_y[:, None], g).T
        extra_x[members] = _cluster_sums(codes, projected * weighted_x[:, None], g).T
    return extra_y, extra_x


class _Inversion:
    """Bootstrap p-value as a function of the null value, O(B) per evaluation."""

    def __init__(self, pre: _Precomputed, v: np.ndarray) -> None:
        self.pre = pre
        self.num_y = v @ pre.c_y
        self.num_x = v @ pre.c_x
        self.a = np.empty(v.shape[0])
        self.b = np.empty(v.shape[0])
        self.c = np.empty(v.shape[0])
        size = max(1, 2**21 // max(v.shape[1], 1))
        for start in range(0, v.shape[0], size):
            block = v[start : start + size]
            s_y = block * pre.c_y[None, :] - _apply(block, pre.k_y, pre.dense_y)
            s_x = block * pre.c_x[None, :] - _apply(block, pre.k_x, pre.dense_x)
            self.a[start : start + size] = np.einsum("bg,bg->b", s_y, s_y)
            self.b[start : start + size] = np.einsum("bg,bg->b", s_y, s_x)
            self.c[start : start + size] = np.einsum("bg,bg->b", s_x, s_x)

    def statistics(self, null: float) -> np.ndarray:
        numerator = self.num_y - null * self.num_x
        variance = self.a - 2 * null * self.b + null**2 * self.c
        with np.errstate(divide="ignore", invalid="ignore"):
            return numerator / np.sqrt(self.pre.factor * np.maximum(variance, 0.0))

    def observed(self, null: float) -> float:
        return (self.pre.estimate - null) / self.pre.std_error

    def p_value(self, null: float) -> float:
        t_star = np.abs(self.statistics(null))
        observed = abs(self.observed(null))
        return float(np.mean(t_star >= observed * (1 - TIE_TOLERANCE)))

    def bound(self, alpha: float, direction: float, start: float) -> float:
        """The null value beyond which the test rejects at ``alpha`` on one side."""
        inside = self.pre.estimate
        step = max(abs(start - inside), self.pre.std_error, 1e-12)
        outside = inside + direction * step
        for _ in range(60):
            if self.p_value(outside) < alpha:
                break
            inside, outside = outside, outside + direction * step
            step *= 2
        else:
            return direction * np.inf
        tolerance = 1e-7 * self.pre.std_error
        for _ in range(200):
            if abs(outside - inside) <= tolerance:
                break
            middle = (inside + outside) / 2
            if self.p_value(middle) < alpha:
                outside = middle
            else:
                inside = middle
        return (inside + outside) / 2


def bootstrap_t_statistics(
    design: Design,
    term: str,
    weights: np.ndarray,
    *,
    null: float = 0.0,
    small_sample: SmallSample = "stata",
) -> np.ndarray:
    """The wild cluster restricted bootstrap t statistics of one term, one per row of weights.

    ``weights`` is the (draws x clusters) matrix of cluster weights, its columns in the order
    of ``design``'s clusters. Shared by the step-down multiple-testing adjustments, which
    apply one weight matrix to several outcomes so that their dependence is kept.
    """
    precomputed = _precompute(design, design.names.index(term), small_sample)
    return _Inversion(precomputed, weights).statistics(null)


def wild_cluster_bootstrap(
    responses: pd.DataFrame,
    *,
    outcome: str,
    regressors: list[str],
    term: str,
    cluster: str,
    fixed_effects: list[str] | tuple[str, ...] = (),
    weight: str | None = None,
    null: float = 0.0,
    draws: int = 9999,
    weights: BootstrapWeights = "auto",
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
    small_sample: SmallSample = "stata",
    on_draws_done: Callable[[int], None] | None = None,
    design: Design | None = None,
) -> WildBootstrapResult:
    """Wild cluster restricted bootstrap p-value and interval for one coefficient.

    Tests H0: ``term`` == ``null`` in ``outcome ~ regressors | fixed_effects`` with the
    WCR-11 bootstrap: the bootstrap samples are generated from the model estimated under the
    null, residuals multiplied by one weight per cluster, and each draw's CR1 t statistic is
    compared with the original one. The interval collects the null values the test does not
    reject at ``1 - confidence`` (test inversion, bisection to 1e-7 standard errors).

    Parameters
    ----------
    responses : pandas.DataFrame
        Data; rows with a missing used value are dropped.
    outcome, regressors, cluster, fixed_effects, weight, small_sample
        As in :func:`measurement.linear_model.fit_linear_model`.
    term : str
        The regressor tested.
    null : float, default 0.0
        Null value for the p-value.
    draws : int, default 9999
        Bootstrap draws B (all 2**G sign vectors are used instead when 2**G <= B with
        Rademacher weights: an exact, deterministic p-value).
    weights : {"auto", "rademacher", "webb"}, default "auto"
        Cluster weights; "auto" is Webb below 12 clusters, Rademacher otherwise.
    confidence : float, default 0.95
        Level of the interval.
    seed : int, numpy Generator or None
        Seed of ``numpy.random.default_rng``; the same seed gives the same result.
    on_draws_done : callable or None, default None
        Called with ``draws`` once the draws are made (they are one matrix, computed
        together), for a progress display.
    design : Design or None, default None
        The design :func:`measurement.linear_model.prepare_design` returns for these
        ``responses`` and model arguments, when the caller holds it already (it is not
        prepared again); None prepares it.

    Returns
    -------
    WildBootstrapResult

    Raises
    ------
    ValueError
        ``term`` not among ``regressors``; bad ``draws``, ``weights`` or ``confidence``.
    DesignError
        As :func:`measurement.linear_model.fit_linear_model`.

    Notes
    -----
    Fixed effects are partialled out once (Frisch-Waugh-Lovell). When fixed effects are not
    nested in the clusters (strata that contain several clusters, enumerators who work in
    several communities), each draw's refit also re-estimates them; this is accounted for
    exactly: in O(N) for one such fixed effect, and with G within-transformations (one per
    cluster, alternating projections) for two or more, so the statistics equal a refit per
    draw to rounding. The CR1 factor cancels from the p-value. Ties between |t*| and |t|
    (relative distance below :data:`TIE_TOLERANCE`) count as exceedances, so p-values and
    intervals do not depend on the units of the outcome or the regressors. Cost: one pass
    over the N rows, then O(B G (k + L)) for k regressors and L levels of one non-nested
    fixed effect (O(B G^2) with several non-nested fixed effects).

    References
    ----------
    Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements for
    inference with clustered errors. Review of Economics and Statistics, 90(3), 414-427.
    Roodman, D., MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2019). Fast and wild:
    Bootstrap inference in Stata using boottest. Stata Journal, 19(1), 4-60.
    Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors.
    Canadian Journal of Economics, 56(3), 839-858.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(10), 30)})
    >>> frame["treated"] = (frame["cluster"] % 2).astype(float)
    >>> frame["outcome"] = rng.normal(size=300) + rng.normal(size=10)[frame["cluster"]]
    >>> result = wild_cluster_bootstrap(frame, outcome="outcome", regressors=["treated"],
    ...                                 term="treated", cluster="cluster", draws=999, seed=1)
    >>> result.weights, result.draws
    ('webb', 999)
    """
    if term not in regressors:
        raise ValueError(
            f"wild_cluster_bootstrap: term {term!r} is not among the regressors {regressors!r}. "
            "Pass one of the regressors."
        )
    if not 0 < confidence < 1:
        raise ValueError(
            f"wild_cluster_bootstrap: confidence must lie strictly between 0 and 1; got "
            f"{confidence!r}. Pass for example 0.95."
        )
    if design is None:
        design = prepare_design(
            responses,
            outcome=outcome,
            regressors=regressors,
            cluster=cluster,
            fixed_effects=fixed_effects,
            weight=weight,
            caller="wild_cluster_bootstrap",
        )
    column = design.names.index(term)
    pre = _precompute(design, column, small_sample)
    v, kind, enumerated = bootstrap_weights(design.n_clusters, draws, weights=weights, seed=seed)
    inversion = _Inversion(pre, v)
    alpha = 1 - confidence
    critical = float(stats.t.ppf(1 - alpha / 2, design.n_clusters - 1))
    low = inversion.bound(alpha, -1.0, pre.estimate - critical * pre.std_error)
    high = inversion.bound(alpha, 1.0, pre.estimate + critical * pre.std_error)
    if on_draws_done is not None:
        # The draws are one matrix of weights, inverted together: done all at once.
        on_draws_done(draws)
    how = "all 2^G sign vectors (exact)" if enumerated else f"{v.shape[0]} seeded draws"
    return WildBootstrapResult(
        term=term,
        estimate=pre.estimate,
        null=float(null),
        statistic=inversion.observed(null),
        p_value=inversion.p_value(null),
        conf_low=float(low),
        conf_high=float(high),
        confidence=confidence,
        draws=int(v.shape[0]),
        weights=kind,
        enumerated=enumerated,
        n_obs=design.n_obs,
        n_clusters=design.n_clusters,
        seed=seed if isinstance(seed, int) else None,
        inference=(
            f"wild cluster restricted bootstrap (WCR-11), {kind} weights, {how}; "
            "interval by test inversion"
        ),
    )


def wild_bootstrap_effect(
    model: EffectModel,
    *,
    draws: int = 9999,
    weights: BootstrapWeights = "auto",
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
    on_draws_done: Callable[[int], None] | None = None,
    design: Design | None = None,
) -> WildBootstrapResult:
    """:func:`wild_cluster_bootstrap` for the effect term of an :class:`EffectModel`.

    ``design`` is the model's prepared design when the caller holds it (see
    :func:`wild_cluster_bootstrap`).
    """
    if model.cluster is None:
        raise ValueError(
            "wild_bootstrap_effect: the model has no cluster; the wild cluster bootstrap "
            "resamples clusters. Use HC2 inference for individually randomised designs."
        )
    return wild_cluster_bootstrap(
        model.frame,
        outcome=model.outcome,
        regressors=model.regressors,
        term=model.term,
        cluster=model.cluster,
        fixed_effects=model.fixed_effects,
        weight=model.weight,
        draws=draws,
        weights=weights,
        confidence=confidence,
        seed=seed,
        on_draws_done=on_draws_done,
        design=design,
    )
