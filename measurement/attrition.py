"""Attrition in panels: follow-up rates by arm, differential attrition and Lee (2009) bounds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from measurement.balance import wald_test
from measurement.errors import DesignError
from measurement.lee_draws import DrawLayout, block_draws
from measurement.linear_model import fit_linear_model

__all__ = [
    "ATTRITION_COLUMNS",
    "DifferentialAttrition",
    "LeeBounds",
    "attrition_table",
    "differential_attrition",
    "follow_up_status",
    "lee_bounds",
]

ATTRITION_COLUMNS = [
    "group",
    "n_baseline",
    "n_followed_up",
    "follow_up_rate",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "n_clusters",
]
"""Columns of :func:`attrition_table`."""

DRAWS_PER_CALLBACK = 50
"""Bootstrap draws between two calls of a progress callback (``on_draws_done``)."""


def _require(responses: pd.DataFrame, columns: list[str], caller: str) -> None:
    if not isinstance(responses, pd.DataFrame):
        raise TypeError(
            f"{caller}: responses must be a pandas DataFrame; got {type(responses).__name__}. "
            "Pass the baseline respondents."
        )
    missing = [name for name in dict.fromkeys(columns) if name not in responses.columns]
    if missing:
        raise ValueError(
            f"{caller}: columns {missing!r} are not in responses; found "
            f"{list(responses.columns)[:20]!r}. Pass existing column names."
        )


def follow_up_status(
    responses: pd.DataFrame,
    *,
    respondent: str,
    wave: str,
    baseline_wave: str,
    follow_up_wave: str,
) -> pd.DataFrame:
    """One row per baseline respondent with ``followed_up`` = 1 if interviewed at follow-up.

    Parameters
    ----------
    responses : pandas.DataFrame
        Respondent-by-wave panel.
    respondent, wave : str
        Identifier and wave columns.
    baseline_wave, follow_up_wave : str
        Wave names compared.

    Returns
    -------
    pandas.DataFrame
        The baseline rows plus an integer column ``followed_up``.

    Raises
    ------
    ValueError
        Missing columns.
    DesignError
        No respondent at the baseline wave.
    """
    caller = "follow_up_status"
    _require(responses, [respondent, wave], caller)
    at_baseline = (responses[wave] == baseline_wave).to_numpy(dtype=bool, na_value=False)
    baseline = responses.loc[at_baseline].copy()
    if baseline.empty:
        raise DesignError(
            f"{caller}: no row at the baseline wave {baseline_wave!r}; found waves "
            f"{sorted(map(str, responses[wave].dropna().unique()))!r}. Pass the baseline wave name."
        )
    # Identifiers as codes of one factorization: matching the strings themselves (a Python
    # set, then a membership test per baseline row) took most of the function's time.
    codes = pd.factorize(responses[respondent])[0]
    at_follow_up = codes[(responses[wave] == follow_up_wave).to_numpy(dtype=bool, na_value=False)]
    seen = np.zeros(codes.max() + 2, dtype=bool)
    seen[at_follow_up[at_follow_up >= 0]] = True
    # A missing identifier (code -1) reads the last entry, which no respondent sets.
    baseline["followed_up"] = seen[codes[at_baseline]].astype(int)
    return baseline


def attrition_table(
    responses: pd.DataFrame,
    *,
    followed_up: str,
    treated: str,
    cluster: str,
    stratum: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Follow-up rates by arm and the clustered test of differential attrition.

    The difference row is the coefficient of ``treated`` in the linear probability model
    ``followed_up ~ treated [+ stratum fixed effects]`` on the baseline respondents, with CR1
    errors on ``cluster`` and a t(G-1) reference.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per baseline respondent (see :func:`follow_up_status`).
    followed_up : str
        0/1: interviewed at follow-up.
    treated : str
        0/1 assignment.
    cluster : str
        Unit of assignment.
    stratum : str or None
        Strata absorbed as fixed effects in the difference.
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ATTRITION_COLUMNS`; rows ``comparison``, ``treatment`` and
        ``difference`` (treatment minus comparison follow-up rate, stratum-adjusted when
        ``stratum`` is given).

    Raises
    ------
    ValueError
        Missing columns.
    DesignError
        An arm without baseline respondents or fewer than two clusters.

    References
    ----------
    Ghanem, D., Hirshleifer, S., & Ortiz-Becerra, K. (2023). Testing attrition bias in
    field experiments. Journal of Human Resources.
    """
    caller = "attrition_table"
    columns = [followed_up, treated, cluster] + ([stratum] if stratum else [])
    _require(responses, columns, caller)
    rows: list[dict[str, object]] = []
    counts: list[int] = []
    rates: list[float] = []
    for group, value in (("comparison", 0), ("treatment", 1)):
        arm = responses.loc[responses[treated] == value]
        if arm.empty:
            raise DesignError(
                f"{caller}: the {group} arm ({treated}={value}) has no baseline respondent; "
                f"found {responses[treated].value_counts().to_dict()!r}. Check the assignment."
            )
        present = arm[followed_up].dropna()
        counts.append(int(present.sum()))
        rates.append(float(present.mean()))
        rows.append(
            {
                "group": group,
                "n_baseline": len(arm),
                "n_followed_up": int(present.sum()),
                "follow_up_rate": float(present.mean()),
                "n_clusters": int(arm[cluster].nunique()),
            }
        )
    fit = fit_linear_model(
        responses,
        outcome=followed_up,
        regressors=[treated],
        cluster=cluster,
        fixed_effects=[stratum] if stratum else [],
    )
    difference = fit.term(treated, confidence)
    rows.append(
        {
            "group": "difference",
            "n_baseline": fit.n_obs,
            "n_followed_up": sum(counts),
            "follow_up_rate": rates[1] - rates[0],
            "n_clusters": fit.n_clusters,
            **difference,
        }
    )
    return pd.DataFrame(rows).reindex(columns=ATTRITION_COLUMNS)


@dataclass(frozen=True, slots=True, kw_only=True)
class DifferentialAttrition:
    """Differential attrition by baseline characteristics.

    ``terms`` holds the treated-by-characteristic interactions (broom columns); the joint
    Wald test of all interactions is F(``df_numerator``, G-1) with clustered variance.
    """

    terms: pd.DataFrame
    statistic: float
    df_numerator: int
    df_denominator: float
    p_value: float
    n_obs: int
    n_clusters: int

    def tidy(self) -> pd.DataFrame:
        """One row: the joint test."""
        row = asdict(self)
        row.pop("terms")
        return pd.DataFrame([{"term": "joint: treated x characteristics", **row}])


def differential_attrition(
    responses: pd.DataFrame,
    *,
    followed_up: str,
    treated: str,
    characteristics: list[str],
    cluster: str,
    stratum: str | None = None,
    confidence: float = 0.95,
) -> DifferentialAttrition:
    """Test whether attrition depends on baseline characteristics differently by arm.

    Fits ``followed_up ~ treated + X + treated:X [+ stratum fixed effects]`` with CR1 errors
    on ``cluster``, characteristics X centred at their means, and tests jointly that all
    ``treated:X`` interactions are zero: F = W / q with W the clustered Wald statistic and an
    F(q, G-1) reference (as Stata's ``test`` after ``regress, vce(cluster)``).

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per baseline respondent.
    followed_up, treated, cluster, stratum, confidence
        As in :func:`attrition_table`.
    characteristics : list of str
        Numeric baseline characteristics.

    Returns
    -------
    DifferentialAttrition

    Raises
    ------
    ValueError
        Missing columns or no characteristic.
    DesignError
        As :func:`measurement.linear_model.fit_linear_model`; and when the variance of the
        interactions is singular (more characteristics than the clusters can test), from
        :func:`measurement.balance.wald_test`, the one Wald test of the package.

    References
    ----------
    Ghanem, D., Hirshleifer, S., & Ortiz-Becerra, K. (2023). Testing attrition bias in
    field experiments. Journal of Human Resources.
    """
    caller = "differential_attrition"
    if not characteristics:
        raise ValueError(
            f"{caller}: no baseline characteristic given; got characteristics=[]. "
            "Pass the baseline columns to test."
        )
    columns = [followed_up, treated, cluster, *characteristics] + ([stratum] if stratum else [])
    _require(responses, columns, caller)
    frame = responses[list(dict.fromkeys(columns))].dropna().copy()
    interactions = []
    for name in characteristics:
        frame[name] = frame[name].astype(float) - frame[name].astype(float).mean()
        interaction = f"{treated}:{name}"
        frame[interaction] = frame[treated].astype(float) * frame[name]
        interactions.append(interaction)
    fit = fit_linear_model(
        frame,
        outcome=followed_up,
        regressors=[treated, *characteristics, *interactions],
        cluster=cluster,
        fixed_effects=[stratum] if stratum else [],
    )
    joint = wald_test(fit, interactions)
    terms = fit.tidy(confidence)
    terms = terms.loc[terms["term"].isin(interactions)].reset_index(drop=True)
    return DifferentialAttrition(
        terms=terms,
        statistic=joint.statistic,
        df_numerator=joint.df_numerator,
        df_denominator=joint.df_denominator,
        p_value=joint.p_value,
        n_obs=fit.n_obs,
        n_clusters=fit.n_clusters,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LeeBounds:
    """Lee (2009) sharp bounds on the effect for always-observed respondents."""

    outcome: str
    lower: float
    upper: float
    std_error_lower: float
    std_error_upper: float
    conf_low: float
    conf_high: float
    trimming_share: float
    trimmed_arm: str
    follow_up_rate_treatment: float
    follow_up_rate_comparison: float
    n_obs: int
    n_clusters: int
    draws: int
    inference: str

    def tidy(self) -> pd.DataFrame:
        """One row."""
        return pd.DataFrame([asdict(self)])


def _trimmed_mean(
    values: np.ndarray,
    keep: float,
    *,
    from_top: bool,
    weights: np.ndarray | None = None,
    presorted: bool = False,
) -> float:
    """Weighted mean of the lowest (or highest) share ``keep`` of the weight of ``values``.

    The boundary observation contributes the fraction of its weight needed to reach the
    share; with unit weights this is the trimmed mean that splits the boundary row.
    ``presorted`` says ``values`` are in ascending order already (no sort needed).
    """
    w = np.ones(values.size) if weights is None else weights
    if presorted:
        ordered, mass = (values[::-1], w[::-1]) if from_top else (values, w)
    else:
        order = np.argsort(-values if from_top else values, kind="stable")
        ordered, mass = values[order], w[order]
    before = np.cumsum(mass) - mass
    taken = np.clip(keep * mass.sum() - before, 0.0, mass)
    return float(taken @ ordered / taken.sum())


def _cell_bounds(
    y: np.ndarray,
    treated: np.ndarray,
    observed: np.ndarray,
    w: np.ndarray,
    presorted: bool = False,
) -> tuple[float, float, float, float, float]:
    """Lee bounds in one cell: (lower, upper, trimming share, rate treated, rate comparison)."""
    arm_t, arm_c = treated == 1, treated == 0
    rate_t = float(w[arm_t & observed].sum() / w[arm_t].sum()) if arm_t.any() else np.nan
    rate_c = float(w[arm_c & observed].sum() / w[arm_c].sum()) if arm_c.any() else np.nan
    seen_t, seen_c = arm_t & observed, arm_c & observed
    if not seen_t.any() or not seen_c.any():
        return (np.nan, np.nan, np.nan, rate_t, rate_c)
    y_t, w_t, y_c, w_c = y[seen_t], w[seen_t], y[seen_c], w[seen_c]
    mean_t = float(w_t @ y_t / w_t.sum())
    mean_c = float(w_c @ y_c / w_c.sum())
    if rate_t >= rate_c:
        share = (rate_t - rate_c) / rate_t
        lower = _trimmed_mean(y_t, 1 - share, from_top=False, weights=w_t, presorted=presorted)
        upper = _trimmed_mean(y_t, 1 - share, from_top=True, weights=w_t, presorted=presorted)
        lower, upper = lower - mean_c, upper - mean_c
    else:
        share = (rate_c - rate_t) / rate_c
        lower = mean_t - _trimmed_mean(
            y_c, 1 - share, from_top=True, weights=w_c, presorted=presorted
        )
        upper = mean_t - _trimmed_mean(
            y_c, 1 - share, from_top=False, weights=w_c, presorted=presorted
        )
    return (lower, upper, share, rate_t, rate_c)


def _bounds(
    y: np.ndarray,
    treated: np.ndarray,
    observed: np.ndarray,
    w: np.ndarray | None = None,
    strata: np.ndarray | list[tuple[int, int]] | None = None,
    presorted: bool = False,
) -> tuple[float, ...]:
    """Lee bounds, trimmed within strata and averaged over the always-observed.

    ``strata`` is a stratum code per row, or (for rows grouped by stratum) the (start, stop)
    positions of each stratum's rows, which spares a search of the codes per call.

    Returns (lower, upper, trimming share, rate treated, rate comparison, cells trimmed in
    the treatment arm, cells trimmed in the comparison arm). Each stratum's bounds are
    weighted by its estimated number of always-observed respondents: its (weighted) size
    times the follow-up rate of its arm with the lower rate (Lee 2009, section 4).
    """
    weights = np.ones(y.size) if w is None else w
    rate_t = float(weights[(treated == 1) & observed].sum() / weights[treated == 1].sum())
    rate_c = float(weights[(treated == 0) & observed].sum() / weights[treated == 0].sum())
    if strata is None:
        cell = _cell_bounds(y, treated, observed, weights, presorted)
        side = (1, 0) if cell[3] >= cell[4] else (0, 1)
        return (cell[0], cell[1], cell[2], rate_t, rate_c, *side)
    if not isinstance(strata, list):
        # Rows grouped by stratum once (a stable sort keeps each stratum's rows in their
        # order, so every cell sums as its mask did): a mask and five copies of every row
        # per stratum cost more than the cells' bounds.
        order = np.argsort(strata, kind="stable")
        y, treated, observed, weights = y[order], treated[order], observed[order], weights[order]
        edges = np.flatnonzero(np.diff(strata[order])) + 1
        starts = np.concatenate([[0], edges])
        stops = np.concatenate([edges, [y.size]])
        strata = list(zip(starts.tolist(), stops.tolist(), strict=True)) if y.size else []
    cells = [slice(start, stop) for start, stop in strata if stop > start]
    lowers, uppers, shares, masses, sizes = [], [], [], [], []
    trimmed_t = trimmed_c = 0
    for members in cells:
        cell = _cell_bounds(
            y[members], treated[members], observed[members], weights[members], presorted
        )
        if not np.isfinite(cell[0]):
            return (np.nan, np.nan, np.nan, rate_t, rate_c, 0, 0)
        size = float(weights[members].sum())
        lowers.append(cell[0])
        uppers.append(cell[1])
        shares.append(cell[2])
        masses.append(size * min(cell[3], cell[4]))
        sizes.append(size)
        trimmed_t += int(cell[3] >= cell[4])
        trimmed_c += int(cell[3] < cell[4])
    mass = np.array(masses)
    return (
        float(np.array(lowers) @ mass / mass.sum()),
        float(np.array(uppers) @ mass / mass.sum()),
        float(np.array(shares) @ np.array(sizes) / np.sum(sizes)),
        rate_t,
        rate_c,
        trimmed_t,
        trimmed_c,
    )


def _first_rows(codes: np.ndarray, n_units: int) -> np.ndarray:
    """The position of each code's first row, for codes 0 .. n_units - 1 (all present)."""
    positions = np.flatnonzero(~pd.Series(codes).duplicated().to_numpy())
    first = np.empty(n_units, dtype=np.intp)
    first[codes[positions]] = positions
    return first


def _collapsed_rows(
    y: np.ndarray,
    treated: np.ndarray,
    observed: np.ndarray,
    codes: np.ndarray,
    w: np.ndarray | None,
    strata: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """One row per (stratum, outcome value, unit, arm, follow-up status) with the summed
    weight, by stratum and in ascending order of the outcome within it (rows not followed up
    carry NaN)."""
    keys = pd.DataFrame(
        {
            "y": np.where(observed, y, 0.0),
            "unit": codes,
            "treated": treated,
            "observed": observed,
            "stratum": np.zeros(y.size, dtype=np.int64) if strata is None else strata,
            "w": np.ones(y.size) if w is None else w,
        }
    )
    grouped = keys.groupby(["stratum", "y", "unit", "treated", "observed"], sort=True)["w"].sum()
    index = grouped.index
    observed_rows = index.get_level_values("observed").to_numpy(dtype=bool)
    values = np.where(observed_rows, index.get_level_values("y").to_numpy(dtype=float), np.nan)
    return (
        values,
        index.get_level_values("treated").to_numpy(dtype=float),
        observed_rows,
        index.get_level_values("unit").to_numpy(dtype=np.int64),
        grouped.to_numpy(dtype=float),
        None if strata is None else index.get_level_values("stratum").to_numpy(dtype=np.int64),
    )


def lee_bounds(
    responses: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    cluster: str | None = None,
    stratum: str | None = None,
    weight: str | None = None,
    draws: int = 500,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
    on_draws_done: Callable[[int], None] | None = None,
) -> LeeBounds:
    """Lee (2009) bounds on the effect for the always-observed, under differential attrition.

    The bounds are for the always-observed: the respondents who would be followed up
    whichever arm they were assigned to, not for everyone at baseline. Assumes random
    assignment (within strata) and monotonicity (the campaign moves follow-up response in
    one direction only). In the arm with the higher follow-up rate, the share
    ``p = (q_high - q_low) / q_high`` of its observed outcomes is trimmed from the top (lower
    bound) or from the bottom (upper bound); the bounds are differences in means between the
    trimmed arm and the other arm. With ``stratum``, trimming is done within each stratum
    and the stratum bounds are averaged with weights equal to each stratum's estimated
    number of always-observed respondents (Lee 2009, section 4; Tauchmann's Stata
    ``leebounds, tight()``), which gives bounds at least as narrow when strata predict the
    outcome. With ``weight``, follow-up rates, trimming and means use the survey weights.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per baseline respondent; ``outcome`` missing means not followed up.
    outcome : str
        Follow-up outcome.
    treated : str
        0/1 assignment.
    cluster : str or None
        Resampling unit of the bootstrap standard errors (clusters are drawn with
        replacement, within strata when ``stratum`` is given); None resamples respondents.
    stratum : str or None, default None
        Randomization strata: trimming within strata (see above); rows without a stratum
        are left out.
    weight : str or None, default None
        Survey weights (non-negative; rows with a missing weight are left out).
    draws : int, default 500
        Bootstrap draws for the standard errors.
    confidence : float, default 0.95
        Level of the Imbens-Manski (2004) interval for the effect.
    seed : int, numpy Generator or None
        Seed of the bootstrap.
    on_draws_done : callable or None, default None
        Called with the number of bootstrap draws just finished (every
        ``DRAWS_PER_CALLBACK`` draws and at the end), for a progress display.

    Returns
    -------
    LeeBounds
        Bounds, bootstrap standard errors, the Imbens-Manski interval, the trimming share
        and which arm was trimmed.

    Raises
    ------
    ValueError
        Missing columns, ``treated`` not 0/1, bad ``draws``.
    DesignError
        An arm with no observed outcome.

    Notes
    -----
    Standard errors come from a (cluster, stratified) bootstrap rather than Lee's analytic
    formula, so that the clustering of the design is respected. Within strata the direction
    of trimming is chosen per stratum (``trimmed_arm`` is "mixed" when it differs).

    References
    ----------
    Lee, D. S. (2009). Training, wages, and sample selection: Estimating sharp bounds on
    treatment effects. Review of Economic Studies, 76(3), 1071-1102.
    Imbens, G. W., & Manski, C. F. (2004). Confidence intervals for partially identified
    parameters. Econometrica, 72(6), 1845-1857.
    Tauchmann, H. (2014). Lee (2009) treatment-effect bounds for nonrandom sample selection.
    Stata Journal, 14(4), 884-894.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> frame = pd.DataFrame({"treated": np.repeat([0.0, 1.0], 200)})
    >>> frame["outcome"] = rng.normal(size=400) + frame["treated"]
    >>> frame.loc[rng.random(400) < 0.2 - 0.1 * frame["treated"], "outcome"] = np.nan
    >>> bounds = lee_bounds(frame, outcome="outcome", treated="treated", draws=50, seed=1)
    >>> bounds.lower <= bounds.upper
    True
    """
    caller = "lee_bounds"
    optional = [name for name in (cluster, stratum, weight) if name is not None]
    _require(responses, [outcome, treated, *optional], caller)
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 2:
        raise ValueError(
            f"{caller}: draws must be an integer of at least 2; got {draws!r}. Pass e.g. 500."
        )
    present = responses[treated].notna()
    for name in optional:
        present &= responses[name].notna()
    frame = responses.loc[present]
    treatment = frame[treated].to_numpy(dtype=float)
    if not np.isin(treatment, [0.0, 1.0]).all():
        raise ValueError(
            f"{caller}: column {treated!r} must hold 0/1; found "
            f"{np.unique(treatment)[:5]!r}. Code it 1 for treated and 0 otherwise."
        )
    y = frame[outcome].to_numpy(dtype=float)
    observed = np.isfinite(y)
    w = None
    if weight is not None:
        w = frame[weight].to_numpy(dtype=float)
        if np.any(w < 0):
            raise ValueError(
                f"{caller}: weight column {weight!r} holds negative values in "
                f"{int(np.sum(w < 0))} rows. Pass non-negative survey weights."
            )
    strata = pd.factorize(frame[stratum], sort=True)[0] if stratum is not None else None
    for value, group in ((0.0, "comparison"), (1.0, "treatment")):
        if not observed[treatment == value].any():
            raise DesignError(
                f"{caller}: the {group} arm has no observed {outcome!r} at follow-up; found "
                f"{int((treatment == value).sum())} baseline respondents and none followed up. "
                "Lee bounds need outcomes in both arms."
            )
        if strata is not None:
            empty = [
                level
                for level in np.unique(strata)
                if not (observed & (treatment == value) & (strata == level)).any()
            ]
            if empty:
                raise DesignError(
                    f"{caller}: {len(empty)} strata of {stratum!r} have no observed {outcome!r} "
                    f"in the {group} arm; trimming within strata needs both arms in each. "
                    "Merge small strata or pass stratum=None."
                )
    lower, upper, share, rate_t, rate_c, trimmed_t, trimmed_c = _bounds(
        y, treatment, observed, w, strata
    )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if cluster is not None:
        codes, uniques = pd.factorize(frame[cluster])
        n_units = len(uniques)
    else:
        codes, n_units = np.arange(len(frame)), len(frame)
    n_clusters = n_units
    # The unit of each stratum: the stratum of its first row, as the resampling pools.
    # (np.unique's return_index sorts every row to find them.)
    first_rows = _first_rows(codes, n_units)
    unit_strata = strata[first_rows] if strata is not None else np.zeros(n_units, dtype=np.int64)
    pools = [np.flatnonzero(unit_strata == level) for level in np.unique(unit_strata)]
    # A draw is a count of copies per unit; rows are collapsed once into one row per unit,
    # arm, stratum, follow-up status and outcome value (its weight the rows' summed weight)
    # and sorted by outcome, so each draw weights those rows by their unit's count instead
    # of copying and re-sorting respondents: the bounds of a draw depend on the weighted
    # distribution of outcomes only, so they are those of the copied rows up to rounding,
    # in O(collapsed rows) per draw (a 1-5 rating in clusters of 500 is a few rows per
    # cluster).
    y_sorted, treated_sorted, observed_sorted, codes_sorted, w_sorted, strata_sorted = (
        _collapsed_rows(y, treatment, observed, codes, w, strata)
    )
    layout = DrawLayout.build(
        y_sorted, treated_sorted, observed_sorted, codes_sorted, w_sorted, strata_sorted, n_units
    )
    block = block_draws(layout, DRAWS_PER_CALLBACK)
    replicates = np.full((draws, 2), np.nan)
    for start in range(0, draws, block):
        stop = min(start + block, draws)
        # The draws are made one by one, in order, so a seed gives the same draws as ever.
        copies = np.empty((stop - start, n_units))
        for row in range(stop - start):
            chosen = (
                rng.integers(0, n_units, size=n_units)
                if strata is None
                else np.concatenate([rng.choice(pool, size=pool.size) for pool in pools])
            )
            copies[row] = np.bincount(chosen, minlength=n_units)
        replicates[start:stop] = layout.bounds(copies)
        if on_draws_done is not None and stop % DRAWS_PER_CALLBACK == 0:
            on_draws_done(DRAWS_PER_CALLBACK)
    if on_draws_done is not None and draws % DRAWS_PER_CALLBACK:
        on_draws_done(draws % DRAWS_PER_CALLBACK)
    se_lower, se_upper = np.nanstd(replicates, axis=0, ddof=1)
    width = max(upper - lower, 0.0)
    sigma = max(se_lower, se_upper, 1e-300)
    critical = optimize.brentq(
        lambda c: stats.norm.cdf(c + width / sigma) - stats.norm.cdf(-c) - confidence,
        0.0,
        10.0,
    )
    unit = "clusters" if cluster else "respondents"
    return LeeBounds(
        outcome=outcome,
        lower=float(lower),
        upper=float(upper),
        std_error_lower=float(se_lower),
        std_error_upper=float(se_upper),
        conf_low=float(lower - critical * se_lower),
        conf_high=float(upper + critical * se_upper),
        trimming_share=float(share),
        trimmed_arm=(
            "mixed" if trimmed_t and trimmed_c else "treatment" if trimmed_t else "comparison"
        ),
        follow_up_rate_treatment=float(rate_t),
        follow_up_rate_comparison=float(rate_c),
        n_obs=len(frame),
        n_clusters=int(n_clusters),
        draws=draws,
        inference=(
            "Lee (2009) bounds on the effect for the always-observed (respondents followed up "
            "whichever arm they were in)"
            + (f", trimmed within strata of {stratum!r}" if stratum is not None else "")
            + (f", weighted by {weight!r}" if weight is not None else "")
            + f"; standard errors from {draws} bootstrap draws of {unit}"
            + (" within strata" if stratum is not None else "")
            + "; Imbens-Manski (2004) interval"
        ),
    )
