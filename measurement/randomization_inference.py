"""Randomization inference: re-draw the cluster-level assignment within strata.

Each draw permutes the treated labels of the clusters within each stratum (the assignment
mechanism of a stratified cluster-randomised trial) and re-estimates the effect of the same
regression. After one pass over the data (cluster sums, the Frisch-Waugh-Lovell
residualisation on the fixed effects and fixed regressors done once), every draw's
coefficient, and its CR1 t ratio, is computed from cluster-level tables in O(G) work for a
fixed number of regressors: an individually randomised trial of thousands runs 9,999 draws
in seconds. When the assignment space is small it is enumerated exactly, and a recorded
re-randomization rule restricts the re-drawn assignments to the ones the study could have
chosen.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from measurement.assignment_record import AssignmentRecord
from measurement.effects import EffectModel
from measurement.errors import DesignError
from measurement.linear_model import (
    Design,
    _nested_in_cluster,
    combine_columns,
    count_parameters,
    cross_product,
    demean,
    prepare_design,
)
from measurement.rerandomization import BalanceRule, standardized_differences

__all__ = [
    "RANDOMIZATION_COLUMNS",
    "TIE_TOLERANCE",
    "Enumeration",
    "RandomizationResult",
    "RandomizationStatistic",
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
    "enumerated",
    "observed_statistic",
]

RandomizationStatistic = Literal["coefficient", "studentized"]
Enumeration = Literal["auto", "never"]
TIE_TOLERANCE = 1e-10
"""A re-drawn statistic within this relative distance of the observed one is a tie, counted
as at least as extreme (conservative; the identity permutation always ties)."""
_CHUNK_CELLS = 2**22
_ENUMERATION_LIMIT = 10**7
_MAXIMUM_ATTEMPTS_PER_DRAW = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomizationResult:
    """Randomization-inference p-value of one coefficient.

    The statistic is the coefficient (``statistic="coefficient"``) or its CR1 t ratio
    (``"studentized"``); the two-sided p-value is ``(1 + #{|T*| >= |T|}) / (1 + draws)`` for
    random draws and ``#{|T*| >= |T|} / draws`` under exact enumeration (``enumerated``),
    where the observed assignment is one of the ``draws`` assignments.
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
    enumerated: bool = False
    observed_statistic: float = float("nan")
    """The statistic on the observed assignment (the coefficient or its CR1 t)."""
    null_distribution: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    """The re-drawn statistics, one per draw or enumerated assignment (not in ``tidy()``)."""

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
    statistic: RandomizationStatistic = "coefficient",
    enumeration: Enumeration = "auto",
    rerandomization: BalanceRule | AssignmentRecord | None = None,
    on_draws_done: Callable[[int], None] | None = None,
    design: Design | None = None,
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
    statistic : {"coefficient", "studentized"}, default "coefficient"
        The statistic compared: the coefficient, or its CR1 t ratio (the same small-sample
        factor for every draw). The studentized statistic keeps its size when the campaign
        changes the spread of the outcome and not only its mean (Wu and Ding 2021), where
        the sharp null is false but the average effect is zero.
    enumeration : {"auto", "never"}, default "auto"
        "auto" enumerates every assignment reachable by permuting within strata when there
        are at most ``draws`` of them (an exact, deterministic p-value); "never" always draws.
    rerandomization : BalanceRule, AssignmentRecord or None, default None
        How the study randomised, so that the reference distribution is that of the design
        actually used (Morgan and Rubin 2012). A
        :class:`measurement.rerandomization.BalanceRule` judges the clusters' means of its
        covariates in ``responses``; re-drawn (or enumerated) assignments that it rejects
        are discarded. An :class:`measurement.assignment_record.AssignmentRecord` (written
        at assignment) carries each unit's stratum, arm and covariate values: every
        recorded unit is re-drawn within its recorded stratum (units absent from the data
        take part in the rule), the draws the record's rule rejects are discarded, and the
        statistic is computed on the clusters in the data (``cluster`` values matched to
        the record's units as text). Without a rule in the record, it only checks the data
        against it.
    on_draws_done : callable or None, default None
        Called with the number of draws just finished (after each block of draws), for a
        progress display; the calls add up to ``draws`` (at once under enumeration).
    design : Design or None, default None
        The design :func:`measurement.linear_model.prepare_design` returns for
        ``responses`` and the model arguments, when the caller holds it. It is used when no
        row lacks the stratum, the assignment or a column it multiplies (the rows it was
        prepared on are then the rows used here); otherwise the design is prepared anew.

    Returns
    -------
    RandomizationResult
        ``estimate`` the coefficient, ``observed_statistic`` the statistic on the observed
        assignment; p-value ``(1 + count) / (1 + draws)`` for random draws, ``count /
        draws`` under enumeration (the observed assignment is among them), where count is
        the number of re-drawn statistics at least as large in absolute value as the
        observed one (ties within :data:`TIE_TOLERANCE` relative count).

    Raises
    ------
    ValueError
        ``term`` not in ``permuted``, a permuted regressor not among ``regressors``, bad
        ``draws``, ``statistic`` or ``enumeration``; a rule covariate not in ``responses``.
    DesignError
        ``treated`` varies within a cluster or a cluster lies in several strata; no stratum
        holds clusters of both arms (the observed assignment is the only one); the
        observed assignment fails the re-randomization rule; the rule accepts too few
        permuted assignments (fewer than one in 1,000); a record that does not match the
        data (a cluster it does not list, a cluster whose arm differs from the recorded one,
        or a rule covariate present in ``responses`` whose cluster means differ from the
        recorded values).

    Notes
    -----
    Draws are independent permutations (with replacement over the permutation space), so the
    p-value is exact in expectation; the observed assignment counts once (the ``1 +``). Cost:
    one pass over the N rows, then O(G (J + k)) per draw for J permuted regressors and k
    fixed regressors and non-nested fixed-effect levels (O(G (J + k)^2) studentized); the
    draws are generated in blocks, and the same seed gives the same draws and p-value as
    the former O(G^2)-per-draw implementation.

    References
    ----------
    Fisher, R. A. (1935). The Design of Experiments. Oliver and Boyd.
    Young, A. (2019). Channeling Fisher: Randomization tests and the statistical
    insignificance of seemingly significant experimental results. Quarterly Journal of
    Economics, 134(2), 557-598.
    Heß, S. (2017). Randomization inference with Stata: A guide and software. Stata Journal,
    17(3), 630-651.
    Morgan, K. L., & Rubin, D. B. (2012). Rerandomization to improve covariate balance in
    experiments. Annals of Statistics, 40(2), 1263-1282.
    Wu, J., & Ding, P. (2021). Randomization tests for weak null hypotheses in randomized
    experiments. Journal of the American Statistical Association, 116(536), 1898-1913.

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
    if statistic not in ("coefficient", "studentized"):
        raise ValueError(
            f"{caller}: statistic must be 'coefficient' or 'studentized'; got {statistic!r}. "
            "Pass one of these."
        )
    if enumeration not in ("auto", "never"):
        raise ValueError(
            f"{caller}: enumeration must be 'auto' or 'never'; got {enumeration!r}. "
            "Pass one of these."
        )
    if rerandomization is not None and not isinstance(
        rerandomization, BalanceRule | AssignmentRecord
    ):
        raise TypeError(
            f"{caller}: rerandomization must be a BalanceRule, an AssignmentRecord or None; got "
            f"{type(rerandomization).__name__}. Build it with BalanceRule(covariates=..., "
            "threshold=...) or read the record written at assignment."
        )
    fixed = [name for name in regressors if name not in permuted]
    extra = [treated, *[m for m in permuted.values() if m is not None]]
    kept = len(responses)
    if stratum is not None:
        if stratum not in responses.columns:
            raise ValueError(
                f"{caller}: column {stratum!r} is not in responses. Pass an existing column."
            )
        responses = responses.loc[responses[stratum].notna()]
    absent = [name for name in dict.fromkeys(extra) if name not in responses.columns]
    if absent:
        raise ValueError(
            f"{caller}: columns {absent!r} are not in responses. Pass existing column names."
        )
    # The assignment and the columns it multiplies must be present, but are not regressors
    # themselves (a cluster fixed effect absorbs the assignment in two-way fixed effects).
    responses = responses.loc[responses[list(dict.fromkeys(extra))].notna().all(axis=1)]
    if design is not None and len(responses) == kept and design.rows.shape[0] == kept:
        # No row was dropped above: the caller's design was prepared on these very rows.
        full = design
    else:
        full = prepare_design(
            responses,
            outcome=outcome,
            regressors=list(regressors),
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

    universe = _Universe(assignment=assignment, strata=cluster_strata)
    if isinstance(rerandomization, AssignmentRecord):
        labels = pd.Series(frame[cluster].to_numpy()).groupby(cluster_codes).first()
        universe = _recorded_universe(
            rerandomization, list(labels), assignment, frame, cluster_codes, caller
        )
    elif rerandomization is not None:
        universe = _Universe(
            assignment=assignment,
            strata=cluster_strata,
            values=_cluster_means(frame, rerandomization.covariates, cluster_codes, g, caller),
            rule=rerandomization,
        )
    if (
        universe.rule is not None
        and universe.values is not None
        and not bool(universe.rule.accepts(universe.values, universe.assignment[None, :])[0])
    ):
        observed_differences = standardized_differences(
            universe.values, universe.assignment[None, :]
        )
        raise DesignError(
            f"{caller}: the observed assignment does not satisfy the re-randomization "
            f"rule; its largest |standardized difference| is "
            f"{float(np.nanmax(np.abs(observed_differences))):.3g} against "
            f"{universe.rule.threshold:g}. Check the rule recorded at assignment and "
            "its covariates."
        )
    algebra = _ClusterAlgebra.build(
        frame,
        full,
        outcome=outcome,
        fixed=fixed,
        permuted=permuted,
        term=term,
        studentized=statistic == "studentized",
    )
    observed = float(algebra.statistics(assignment[None, :])[0])
    estimate = float(algebra.coefficients(assignment[None, :])[0])
    space = _assignment_count(universe.assignment, universe.strata)
    if space < 2:
        raise DesignError(
            f"{caller}: no stratum holds clusters of both arms; found "
            f"{universe.assignment.size} clusters in {int(np.unique(universe.strata).size)} "
            "strata, so the observed assignment is the only one to re-draw. Declare coarser "
            "strata or read the model-based p-values."
        )
    enumerated = enumeration == "auto" and space <= draws
    if enumerated:
        redrawn = _enumerate_within_strata(universe.assignment, universe.strata)
        redrawn = universe.project(redrawn[universe.accepted(redrawn)])
        values = np.concatenate([algebra.statistics(chunk) for chunk in _chunks(redrawn, g)])
        if on_draws_done is not None:
            on_draws_done(draws)
    else:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        values = _draw_statistics(algebra, universe, draws, rng, on_draws_done)
    tolerance = TIE_TOLERANCE * max(abs(observed), 1e-12)
    count = int(np.sum(np.abs(values) >= abs(observed) - tolerance))
    where = f"within strata of {stratum!r}" if stratum is not None else "across all clusters"
    if isinstance(rerandomization, AssignmentRecord):
        where = f"of all {universe.assignment.size} recorded units within their recorded strata"
    rule_words = f"; {universe.rule.describe()}" if universe.rule is not None else ""
    words = "|t| (CR1)" if statistic == "studentized" else "|coefficient|"
    if enumerated:
        p_value = count / values.size
        how = (
            f"all {values.size} assignments of the clusters {where} (exact enumeration)"
            f"{rule_words}; statistic {words}; p = count / assignments, the observed one "
            "included"
        )
    else:
        p_value = (1 + count) / (1 + draws)
        how = (
            f"{draws} permutations of the clusters' assignment {where}{rule_words}; statistic "
            f"{words}; p = (1 + count) / (1 + draws)"
        )
    return RandomizationResult(
        term=term,
        estimate=estimate,
        p_value=p_value,
        draws=int(values.size),
        statistic="studentized" if statistic == "studentized" else "coefficient",
        n_obs=n,
        n_clusters=g,
        seed=seed if isinstance(seed, int) and not enumerated else None,
        inference=f"randomization inference: {how}",
        enumerated=enumerated,
        observed_statistic=observed,
        null_distribution=values,
    )


def _chunks(assignments: np.ndarray, clusters: int) -> list[np.ndarray]:
    size = max(1, _CHUNK_CELLS // max(clusters, 1))
    return [assignments[start : start + size] for start in range(0, len(assignments), size)]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Universe:
    """The units re-drawn: their assignment, strata and rule, and where the data's clusters are.

    ``positions[c]`` is the unit of the data's cluster c (None: the units are the clusters).
    """

    assignment: np.ndarray
    strata: np.ndarray
    values: np.ndarray | None = None
    rule: BalanceRule | None = None
    positions: np.ndarray | None = None

    def accepted(self, assignments: np.ndarray) -> np.ndarray:
        if self.rule is None or self.values is None:
            return np.ones(assignments.shape[0], dtype=bool)
        return self.rule.accepts(self.values, assignments)

    def project(self, assignments: np.ndarray) -> np.ndarray:
        return assignments if self.positions is None else assignments[:, self.positions]


def _recorded_universe(
    record: AssignmentRecord,
    labels: list[object],
    assignment: np.ndarray,
    frame: pd.DataFrame,
    codes: np.ndarray,
    caller: str,
) -> _Universe:
    """Match the data's clusters to the record's units and check the data against it."""
    positions = record.locate(labels, assignment, caller=caller)
    values = record.value_matrix()
    present = [name for name in record.covariates if name in frame.columns]
    if record.rule is not None and present:
        means = _cluster_means(frame, tuple(present), codes, len(labels), caller)
        columns = [record.covariates.index(name) for name in present]
        expected = values[positions][:, columns]
        scale = np.maximum(np.abs(expected), 1.0)
        off = np.abs(means - expected) > 1e-9 * scale
        if off.any():
            names = [present[j] for j in np.flatnonzero(off.any(axis=0))]
            raise DesignError(
                f"{caller}: the recorded covariate values of {names!r} do not match the data "
                f"in {int(off.any(axis=1).sum())} clusters. The rule must judge the values used "
                "at assignment: restore them, or the record written with them."
            )
    _, strata = np.unique(np.asarray(record.strata), return_inverse=True)
    return _Universe(
        assignment=record.treated_array(),
        strata=strata.astype(np.int64),
        values=values if record.rule is not None else None,
        rule=record.rule,
        positions=positions,
    )


def _draw_statistics(
    algebra: _ClusterAlgebra,
    universe: _Universe,
    draws: int,
    rng: np.random.Generator,
    on_draws_done: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Statistics of ``draws`` permuted assignments (accepted by the rule, if any)."""
    size = max(1, _CHUNK_CELLS // max(universe.assignment.size, 1))
    found: list[np.ndarray] = []
    total = 0
    attempts = 0
    while total < draws:
        if universe.rule is None:
            chunk = permute_within_strata(
                universe.assignment, universe.strata, min(size, draws - total), rng
            )
        else:
            if attempts > _MAXIMUM_ATTEMPTS_PER_DRAW * draws:
                raise DesignError(
                    f"randomization_inference: the re-randomization rule accepted {total} of "
                    f"{attempts} permuted assignments; {draws} are needed. Check the rule's "
                    "threshold against the one used at assignment, or pass fewer draws."
                )
            batch = min(size, 4 * (draws - total) + 64)
            candidates = permute_within_strata(universe.assignment, universe.strata, batch, rng)
            attempts += batch
            chunk = candidates[universe.accepted(candidates)][: draws - total]
        found.append(algebra.statistics(universe.project(chunk)))
        total += chunk.shape[0]
        if on_draws_done is not None and chunk.shape[0]:
            on_draws_done(chunk.shape[0])
    return np.concatenate(found)


def _cluster_means(
    frame: pd.DataFrame,
    covariates: tuple[str, ...],
    codes: np.ndarray,
    clusters: int,
    caller: str,
) -> np.ndarray:
    missing = [name for name in covariates if name not in frame.columns]
    if missing:
        raise ValueError(
            f"{caller}: the re-randomization rule's covariates {missing!r} are not in "
            f"responses. Pass the columns the rule was computed on."
        )
    out = np.empty((clusters, len(covariates)))
    for index, name in enumerate(covariates):
        values = frame[name].to_numpy(dtype=float, na_value=np.nan)
        present = np.isfinite(values)
        counts = np.bincount(codes[present], minlength=clusters)
        if np.any(counts == 0):
            raise DesignError(
                f"{caller}: the re-randomization covariate {name!r} is missing in every row of "
                f"{int(np.sum(counts == 0))} clusters. Fill the cluster-level values."
            )
        out[:, index] = np.bincount(codes[present], weights=values[present], minlength=clusters)
        out[:, index] /= counts
    return out


def _assignment_count(assignment: np.ndarray, strata: np.ndarray) -> int:
    """Number of distinct assignments reachable by permuting within strata."""
    total = 1
    for level in np.unique(strata):
        members = assignment[strata == level]
        remaining = members.size
        for count in np.unique(members, return_counts=True)[1]:
            total *= math.comb(remaining, int(count))
            remaining -= int(count)
        if total > _ENUMERATION_LIMIT:
            return total
    return total


def _arrangements(values: np.ndarray) -> np.ndarray:
    """Every distinct ordering of a multiset of values, one per row."""
    levels, counts = np.unique(values, return_counts=True)
    rows = [np.full(values.size, np.nan)]
    free = [np.arange(values.size)]
    for level, count in zip(levels, counts, strict=True):
        next_rows, next_free = [], []
        for row, open_positions in zip(rows, free, strict=True):
            for chosen in itertools.combinations(range(open_positions.size), int(count)):
                filled = row.copy()
                filled[open_positions[list(chosen)]] = level
                next_rows.append(filled)
                next_free.append(np.delete(open_positions, list(chosen)))
        rows, free = next_rows, next_free
    return np.array(rows)


def _enumerate_within_strata(assignment: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """All assignments reachable by permuting within strata, the observed one included."""
    result = np.empty((1, assignment.size))
    for level in np.unique(strata):
        members = np.flatnonzero(strata == level)
        options = _arrangements(assignment[members])
        result = np.repeat(result, options.shape[0], axis=0)
        result[:, members] = np.tile(options, (result.shape[0] // options.shape[0], 1))
    return result


@dataclass(frozen=True, slots=True)
class _ClusterAlgebra:
    """Cluster-level tables from which each draw's regression is O(G) to refit.

    With P_j the N x G matrix mapping the cluster assignment a to the j-th permuted regressor
    (multiplier m_j in the rows of each cluster) and M the W-residual-maker of the fixed
    effects and fixed regressors H, the draw's cross products are
    (P_j a)'W M (P_l a) = sum_g a_g^2 d_jl[g] - (A_j'a)' (H'WH)^+ (A_l'a) and
    (P_j a)'W M y = a' r_j, with d_jl[g] = sum_{i in g} w m_j m_l, A_j[g] = sum_{i in g}
    w m_j H_i and r_j[g] = sum_{i in g} w m_j (My)_i. Fixed effects nested in the clusters
    are partialled out of every row quantity first (their projection acts within a cluster,
    so it maps P_j a to P~_j a with within-transformed multipliers), which keeps H to the
    other fixed effects' dummies and the fixed regressors.
    """

    names: list[str]
    term_index: int
    inverse: np.ndarray
    tables: list[np.ndarray]
    diagonal: dict[tuple[int, int], np.ndarray]
    responses: list[np.ndarray]
    products: np.ndarray | None
    """(p^2 x G): the vectorised per-cluster sums of w f f' over the row features f =
    [multipliers, H, residual], for the studentized statistic."""
    factor: float

    @classmethod
    def build(
        cls,
        frame: pd.DataFrame,
        full: Design,
        *,
        outcome: str,
        fixed: list[str],
        permuted: dict[str, str | None],
        term: str,
        studentized: bool,
    ) -> _ClusterAlgebra:
        codes = full.cluster_codes
        if codes is None:
            raise ValueError("randomization_inference: a cluster column is required.")
        g, n = full.n_clusters, full.n_obs
        w = np.ones(n) if full.weights is None else full.weights
        nested = [
            _nested_in_cluster(level_codes, size, codes)
            for level_codes, size in zip(
                full.fixed_effect_codes, full.n_fixed_effect_levels, strict=True
            )
        ]
        inner = [c for c, keep in zip(full.fixed_effect_codes, nested, strict=True) if keep]
        inner_levels = [
            size for size, keep in zip(full.n_fixed_effect_levels, nested, strict=True) if keep
        ]
        outer = [
            (c, size)
            for c, size, keep in zip(
                full.fixed_effect_codes, full.n_fixed_effect_levels, nested, strict=True
            )
            if not keep
        ]
        names = list(permuted)
        columns = [frame[outcome].to_numpy(dtype=float)]
        columns += [frame[name].to_numpy(dtype=float) for name in fixed]
        if not full.fixed_effect_codes:
            columns.append(np.ones(n))
        columns += [
            np.ones(n) if m is None else frame[m].to_numpy(dtype=float) for m in permuted.values()
        ]
        for level_codes, size in outer:
            columns += [(level_codes == level).astype(float) for level in range(size)]
        stacked = demean(np.column_stack(columns), inner, inner_levels, w)
        y = stacked[:, 0]
        width = len(fixed) + (0 if full.fixed_effect_codes else 1)
        multipliers = stacked[:, 1 + width : 1 + width + len(names)]
        h = np.column_stack([stacked[:, 1 : 1 + width], stacked[:, 1 + width + len(names) :]])
        hw = h * w[:, None]
        inverse = (
            np.linalg.pinv(cross_product(hw, h), rcond=1e-12, hermitian=True)
            if h.shape[1]
            else np.zeros((0, 0))
        )
        residual = y - combine_columns(h, inverse @ cross_product(hw, y)) if h.shape[1] else y
        tables = [_cluster_table(codes, hw * multipliers[:, [j]], g) for j in range(len(names))]
        diagonal = {
            (j, k): np.bincount(
                codes, weights=w * multipliers[:, j] * multipliers[:, k], minlength=g
            )
            for j in range(len(names))
            for k in range(j, len(names))
        }
        responses = [
            np.bincount(codes, weights=w * multipliers[:, j] * residual, minlength=g)
            for j in range(len(names))
        ]
        products = None
        if studentized:
            features = np.column_stack([multipliers, h, residual])
            p = features.shape[1]
            cube = np.empty((g, p, p))
            for a in range(p):
                for b in range(a, p):
                    sums = np.bincount(
                        codes, weights=w * features[:, a] * features[:, b], minlength=g
                    )
                    cube[:, a, b] = sums
                    cube[:, b, a] = sums
            products = cube.reshape(g, p * p).T
        k = count_parameters(full, "stata")
        return cls(
            names=names,
            term_index=names.index(term),
            inverse=inverse,
            tables=tables,
            diagonal=diagonal,
            responses=responses,
            products=products,
            factor=g / (g - 1) * (n - 1) / (n - k),
        )

    def _solve(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Gram matrices, coefficients and projected directions z_j for a (B x G) block."""
        j_count = len(self.names)
        projected = [a @ table for table in self.tables]
        directions = [u @ self.inverse for u in projected]
        squares = a * a
        gram = np.empty((a.shape[0], j_count, j_count))
        for j in range(j_count):
            for k in range(j, j_count):
                value = squares @ self.diagonal[(j, k)] - np.einsum(
                    "bd,bd->b", directions[j], projected[k]
                )
                gram[:, j, k] = value
                gram[:, k, j] = value
        rhs = np.column_stack([a @ r for r in self.responses])
        with np.errstate(divide="ignore", invalid="ignore"):
            if j_count == 1:
                solution = rhs / gram[:, :, 0]
            else:
                solution = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
        return gram, solution, directions

    def coefficients(self, a: np.ndarray) -> np.ndarray:
        """The term's coefficient for each row of assignments."""
        return self._solve(a)[1][:, self.term_index]

    def statistics(self, a: np.ndarray) -> np.ndarray:
        """The test statistic (coefficient, or its CR1 t ratio) for each row of assignments."""
        gram, solution, directions = self._solve(a)
        if self.products is None:
            return solution[:, self.term_index]
        with np.errstate(divide="ignore", invalid="ignore"):
            row = (
                1 / gram[:, :, 0]
                if len(self.names) == 1
                else np.linalg.inv(gram)[:, self.term_index, :]
            )
        spread = sum(row[:, [j]] * directions[j] for j in range(len(self.names)))
        shift = sum(solution[:, [j]] * directions[j] for j in range(len(self.names)))
        # The cluster-h score is left_h' C_h right_h with left_h = a_h L1 + L0 and right_h =
        # a_h R1 + R0 (L1 = [row, 0, 0], L0 = [0, -spread, 0], R1 = [-b, 0, 0], R0 = [0,
        # shift, 1]); each of the three products is one (B x p^2) by (p^2 x G) matrix product.
        blocks, j_count, d = a.shape[0], len(self.names), spread.shape[1]
        zeros_j, zeros_d = np.zeros((blocks, j_count)), np.zeros((blocks, d))
        one = np.ones((blocks, 1))
        l1 = np.column_stack([row, zeros_d, np.zeros((blocks, 1))])
        l0 = np.column_stack([zeros_j, -spread, np.zeros((blocks, 1))])
        r1 = np.column_stack([-solution, zeros_d, np.zeros((blocks, 1))])
        r0 = np.column_stack([zeros_j, shift, one])

        def paired(left: np.ndarray, right: np.ndarray) -> np.ndarray:
            return (left[:, :, None] * right[:, None, :]).reshape(blocks, -1) @ self.products

        scores = a * a * paired(l1, r1) + a * (paired(l1, r0) + paired(l0, r1)) + paired(l0, r0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return solution[:, self.term_index] / np.sqrt(self.factor * np.sum(scores**2, axis=1))


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
    statistic: RandomizationStatistic = "coefficient",
    enumeration: Enumeration = "auto",
    rerandomization: BalanceRule | AssignmentRecord | None = None,
    on_draws_done: Callable[[int], None] | None = None,
    design: Design | None = None,
) -> RandomizationResult:
    """:func:`randomization_inference` for the effect term of an :class:`EffectModel`.

    ``design`` is the model's prepared design when the caller holds it (see
    :func:`randomization_inference`).
    """
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
        statistic=statistic,
        enumeration=enumeration,
        rerandomization=rerandomization,
        on_draws_done=on_draws_done,
        design=design,
    )
