"""Randomization inference: re-draw the cluster-level assignment within strata.

Each draw permutes the treated labels of the clusters within each stratum (the assignment
mechanism of a stratified cluster-randomised trial) and re-estimates the effect of the same
regression. The re-estimate is a ratio of quadratic forms in the cluster-level assignment
vector (Frisch-Waugh-Lovell), so after one pass over the data every draw costs O(G^2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from measurement.effects import EffectModel
from measurement.errors import DesignError
from measurement.linear_model import (
    INTERCEPT,
    combine_columns,
    cross_product,
    fit_design,
    prepare_design,
)

__all__ = [
    "RANDOMIZATION_COLUMNS",
    "RandomizationResult",
    "permute_within_strata",
    "randomization_inference",
    "randomization_inference_effect",
]

RANDOMIZATION_COLUMNS = [
    "term",
    "estimate",
    "p_value",
    "draws",
    "statistic",
    "n_obs",
    "n_clusters",
    "seed",
    "inference",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomizationResult:
    """Randomization-inference p-value of one coefficient.

    The statistic is the coefficient itself (not its t ratio); the two-sided p-value is
    ``(1 + #{|b*| >= |b|}) / (1 + draws)``.
    """

    term: str
    estimate: float
    p_value: float
    draws: int
    statistic: str
    n_obs: int
    n_clusters: int
    seed: int | None
    inference: str
    null_distribution: np.ndarray = field(repr=False)
    """The re-estimated coefficients, one per draw (left out of ``tidy()``)."""

    def tidy(self) -> pd.DataFrame:
        """One row (without the null distribution)."""
        row = {name: getattr(self, name) for name in RANDOMIZATION_COLUMNS}
        return pd.DataFrame([row])


def permute_within_strata(
    assignment: np.ndarray,
    strata: np.ndarray,
    draws: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return a (draws x clusters) matrix of assignments permuted within strata."""
    order = np.argsort(strata, kind="stable")
    sorted_strata = strata[order].astype(float)
    keys = sorted_strata[None, :] + rng.random((draws, assignment.size)) * 0.5
    permutation = np.argsort(keys, axis=1)
    permuted = np.empty((draws, assignment.size))
    permuted[:, order] = assignment[order][permutation]
    return permuted


def _by_pair(
    codes: np.ndarray, second: np.ndarray, size: int, width: int, values: np.ndarray
) -> np.ndarray:
    """Sum ``values`` by (codes, second) into a (size x width) table."""
    table = np.bincount(codes * width + second, weights=values, minlength=size * width)
    return table.reshape(size, width)


def randomization_inference(
    responses: pd.DataFrame,
    *,
    outcome: str,
    regressors: list[str],
    term: str,
    treated: str,
    cluster: str,
    permuted: dict[str, str | None],
    stratum: str | None = None,
    fixed_effects: list[str] | tuple[str, ...] = (),
    weight: str | None = None,
    draws: int = 9999,
    seed: int | np.random.Generator | None = None,
) -> RandomizationResult:
    """Randomization-inference p-value for an effect of a cluster-level assignment.

    Under the sharp null of no effect for anyone, the outcomes are fixed and only the
    assignment is random. Each draw permutes the clusters' ``treated`` values within
    ``stratum`` and re-estimates the coefficient of ``term`` in the same regression, with
    every regressor listed in ``permuted`` rebuilt from the new assignment (``None`` for the
    assignment itself, or the name of the column it multiplies, as ``post`` for the
    ``treated:post`` interaction of a difference-in-differences).

    Parameters
    ----------
    responses : pandas.DataFrame
        Data; rows with a missing used value are dropped.
    outcome, regressors, fixed_effects, weight
        The regression, as in :func:`measurement.linear_model.fit_linear_model`.
    term : str
        The coefficient whose randomization distribution is built (one of ``permuted``).
    treated : str
        0/1 assignment, constant within cluster.
    cluster : str
        Unit of assignment.
    permuted : dict
        Regressors that are functions of the assignment (see above).
    stratum : str or None
        Randomization strata (each cluster in one stratum); None permutes across all clusters.
    draws : int, default 9999
        Number of re-drawn assignments.
    seed : int, numpy Generator or None
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    RandomizationResult
        The statistic is the coefficient; p-value ``(1 + count) / (1 + draws)`` where count
        is the number of draws with an absolute coefficient at least the observed one.

    Raises
    ------
    ValueError
        ``term`` not in ``permuted``, a permuted regressor not among ``regressors``, bad
        ``draws``.
    DesignError
        ``treated`` varies within a cluster or a cluster lies in several strata.

    Notes
    -----
    Draws are independent permutations (with replacement over the permutation space), so the
    p-value is exact in expectation; the observed assignment counts once (the ``1 +``).

    References
    ----------
    Fisher, R. A. (1935). The Design of Experiments. Oliver and Boyd.
    Young, A. (2019). Channeling Fisher: Randomization tests and the statistical
    insignificance of seemingly significant experimental results. Quarterly Journal of
    Economics, 134(2), 557-598.
    Heß, S. (2017). Randomization inference with Stata: A guide and software. Stata Journal,
    17(3), 630-651.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(6)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(20), 10)})
    >>> frame["treated"] = (frame["cluster"] % 2).astype(float)
    >>> frame["outcome"] = rng.normal(size=200)
    >>> result = randomization_inference(frame, outcome="outcome", regressors=["treated"],
    ...     term="treated", treated="treated", cluster="cluster", permuted={"treated": None},
    ...     draws=999, seed=1)
    >>> result.draws
    999
    """
    caller = "randomization_inference"
    if term not in permuted:
        raise ValueError(
            f"{caller}: term {term!r} is not among the permuted regressors {list(permuted)!r}. "
            "Pass the treatment term."
        )
    strangers = [name for name in permuted if name not in regressors]
    if strangers:
        raise ValueError(
            f"{caller}: permuted regressors {strangers!r} are not among the regressors "
            f"{regressors!r}. List only regressors of the model."
        )
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise ValueError(
            f"{caller}: draws must be a positive integer; got {draws!r}. Pass for example 9999."
        )
    fixed = [name for name in regressors if name not in permuted]
    extra = [treated, *[m for m in permuted.values() if m is not None]]
    if stratum is not None:
        if stratum not in responses.columns:
            raise ValueError(
                f"{caller}: column {stratum!r} is not in responses. Pass an existing column."
            )
        responses = responses.loc[responses[stratum].notna()]
    full = prepare_design(
        responses,
        outcome=outcome,
        regressors=list(dict.fromkeys([*regressors, *extra])),
        cluster=cluster,
        fixed_effects=fixed_effects,
        weight=weight,
        caller=caller,
    )
    frame = responses.loc[full.rows]
    cluster_codes = full.cluster_codes
    if cluster_codes is None:
        raise ValueError(f"{caller}: a cluster column is required.")
    g = full.n_clusters
    n = full.n_obs
    w = np.ones(n) if full.weights is None else full.weights
    assignment_rows = frame[treated].to_numpy(dtype=float)
    low = np.full(g, np.inf)
    high = np.full(g, -np.inf)
    np.minimum.at(low, cluster_codes, assignment_rows)
    np.maximum.at(high, cluster_codes, assignment_rows)
    if np.any(low != high):
        raise DesignError(
            f"{caller}: {treated!r} varies within {int(np.sum(low != high))} clusters; "
            "randomization inference re-draws a cluster-level assignment. Check the cluster "
            "and treatment columns."
        )
    assignment = low
    if stratum is not None:
        strata_rows, _ = pd.factorize(frame[stratum], sort=True)
        s_low = np.full(g, np.iinfo(np.int64).max)
        s_high = np.full(g, -1)
        np.minimum.at(s_low, cluster_codes, strata_rows)
        np.maximum.at(s_high, cluster_codes, strata_rows)
        if np.any(s_low != s_high):
            raise DesignError(
                f"{caller}: {int(np.sum(s_low != s_high))} clusters lie in several strata of "
                f"{stratum!r}; assignment is re-drawn within strata. Check the stratum column."
            )
        cluster_strata = s_low
    else:
        cluster_strata = np.zeros(g, dtype=np.int64)

    # Residual-maker of [fixed effects, fixed regressors] in the W metric, applied through
    # cluster-level tables: Q_jl = P_j' W M P_l, r_j = P_j' W M y.
    base = (
        prepare_design(
            frame,
            outcome=outcome,
            regressors=fixed,
            cluster=cluster,
            fixed_effects=fixed_effects,
            weight=weight,
            caller=caller,
        )
        if (fixed or fixed_effects)
        else None
    )
    y = frame[outcome].to_numpy(dtype=float)
    if base is not None:
        if base.x.shape[1]:
            fitted = fit_design(base)
            residual_y = base.y - combine_columns(base.x, fitted.coefficients.to_numpy())
        else:
            residual_y = base.y
        z_columns = [frame[name].to_numpy(dtype=float) for name in fixed]
        if INTERCEPT in base.names:
            z_columns = [np.ones(n), *z_columns]
    else:
        residual_y = y - np.average(y, weights=w)
        z_columns = [np.ones(n)]
    z = np.column_stack(z_columns) if z_columns else np.empty((n, 0))
    multipliers = {
        name: (np.ones(n) if m is None else frame[m].to_numpy(dtype=float))
        for name, m in permuted.items()
    }
    names = list(permuted)
    # H = [D_1, ..., D_J, Z]: cross products with W.
    blocks_h: list[tuple[np.ndarray, int]] = [
        (codes, size)
        for codes, size in zip(full.fixed_effect_codes, full.n_fixed_effect_levels, strict=True)
    ]
    dim = sum(size for _, size in blocks_h) + z.shape[1]
    hwh = np.zeros((dim, dim))
    offsets = np.cumsum([0] + [size for _, size in blocks_h])
    for a, (codes_a, size_a) in enumerate(blocks_h):
        for b, (codes_b, _size_b) in enumerate(blocks_h):
            if b < a:
                continue
            table = _by_pair(codes_a, codes_b, size_a, blocks_h[b][1], w)
            hwh[offsets[a] : offsets[a + 1], offsets[b] : offsets[b] + table.shape[1]] = table
            hwh[offsets[b] : offsets[b] + table.shape[1], offsets[a] : offsets[a + 1]] = table.T
        for c in range(z.shape[1]):
            column = np.bincount(codes_a, weights=w * z[:, c], minlength=size_a)
            hwh[offsets[a] : offsets[a + 1], offsets[-1] + c] = column
            hwh[offsets[-1] + c, offsets[a] : offsets[a + 1]] = column
    zw = z * w[:, None]
    hwh[offsets[-1] :, offsets[-1] :] = cross_product(zw, z)
    inverse_hwh = np.linalg.pinv(hwh, rcond=1e-12, hermitian=True)
    hwp: dict[str, np.ndarray] = {}
    for name in names:
        m = multipliers[name]
        parts = [_by_pair(codes, cluster_codes, size, g, w * m) for codes, size in blocks_h]
        parts.append(_cluster_table(cluster_codes, zw * m[:, None], g).T)
        hwp[name] = np.vstack(parts)
    q: dict[tuple[str, str], np.ndarray] = {}
    r: dict[str, np.ndarray] = {}
    for position, first in enumerate(names):
        r[first] = np.bincount(
            cluster_codes, weights=w * multipliers[first] * residual_y, minlength=g
        )
        for second in names[position:]:
            products = w * multipliers[first] * multipliers[second]
            direct = np.diag(np.bincount(cluster_codes, weights=products, minlength=g))
            q[(first, second)] = direct - hwp[first].T @ inverse_hwh @ hwp[second]
            q[(second, first)] = q[(first, second)].T

    def coefficients(assignments: np.ndarray) -> np.ndarray:
        rhs = np.column_stack([assignments @ r[name] for name in names])
        gram = np.empty((assignments.shape[0], len(names), len(names)))
        for i, first in enumerate(names):
            for j, second in enumerate(names):
                if j < i:
                    gram[:, i, j] = gram[:, j, i]
                    continue
                gram[:, i, j] = np.einsum(
                    "bg,gh,bh->b", assignments, q[(first, second)], assignments
                )
        with np.errstate(divide="ignore", invalid="ignore"):
            if len(names) == 1:
                solution = rhs / gram[:, :, 0]
            else:
                solution = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
        return solution[:, names.index(term)]

    estimate = float(coefficients(assignment[None, :])[0])
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    redrawn = permute_within_strata(assignment, cluster_strata, draws, rng)
    estimates = np.concatenate(
        [coefficients(redrawn[start : start + 2048]) for start in range(0, draws, 2048)]
    )
    tolerance = 1e-10 * max(abs(estimate), 1e-12)
    count = int(np.sum(np.abs(estimates) >= abs(estimate) - tolerance))
    where = f"within strata of {stratum!r}" if stratum is not None else "across all clusters"
    return RandomizationResult(
        term=term,
        estimate=estimate,
        p_value=(1 + count) / (1 + draws),
        draws=draws,
        statistic="coefficient",
        n_obs=n,
        n_clusters=g,
        seed=seed if isinstance(seed, int) else None,
        inference=(
            f"randomization inference: {draws} permutations of the clusters' assignment "
            f"{where}; statistic |coefficient|; p = (1 + count) / (1 + draws)"
        ),
        null_distribution=estimates,
    )


def _cluster_table(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    return (
        np.column_stack(
            [
                np.bincount(codes, weights=values[:, j], minlength=size)
                for j in range(values.shape[1])
            ]
        )
        if values.shape[1]
        else np.empty((size, 0))
    )


def randomization_inference_effect(
    model: EffectModel,
    *,
    draws: int = 9999,
    seed: int | np.random.Generator | None = None,
) -> RandomizationResult:
    """:func:`randomization_inference` for the effect term of an :class:`EffectModel`."""
    if model.cluster is None:
        raise ValueError(
            "randomization_inference_effect: the model has no cluster (unit of assignment). "
            "Pass a model whose cluster names the unit that was randomised."
        )
    return randomization_inference(
        model.frame,
        outcome=model.outcome,
        regressors=model.regressors,
        term=model.term,
        treated=model.treated,
        cluster=model.cluster,
        permuted=model.permuted,
        stratum=model.stratum,
        fixed_effects=model.fixed_effects,
        weight=model.weight,
        draws=draws,
        seed=seed,
    )
