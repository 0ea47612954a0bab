"""Many outcomes: false discovery rate q-values and step-down family-wise adjusted p-values.

Within a declared family of outcomes: Benjamini-Hochberg q-values, Anderson's (2008)
sharpened two-stage q-values (Benjamini, Krieger and Yekutieli 2006), and Romano-Wolf and
Westfall-Young step-down p-values from a wild cluster bootstrap whose draws are shared by
every outcome, so that the dependence between outcomes is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from measurement.arguments import check_columns, check_names, check_responses
from measurement.linear_model import SmallSample, fit_design, prepare_design
from measurement.wild_bootstrap import (
    BootstrapWeights,
    bootstrap_t_statistics,
    bootstrap_weights,
)

__all__ = [
    "FAMILY_ADJUSTED_COLUMNS",
    "STEPDOWN_COLUMNS",
    "adjust_within_families",
    "benjamini_hochberg",
    "romano_wolf_p_values",
    "sharpened_q_values",
    "stepdown_p_values",
    "westfall_young_p_values",
]

FAMILY_ADJUSTED_COLUMNS: list[str] = ["q_value_bh", "q_value_sharpened", "n_family"]
"""Columns :func:`adjust_within_families` appends: Benjamini-Hochberg and Anderson's sharpened
q-values within the row's family, and the number of p-values in that family."""

STEPDOWN_COLUMNS: list[str] = [
    "outcome",
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "p_value_romano_wolf",
    "p_value_westfall_young",
    "n_obs",
    "n_clusters",
    "draws",
    "bootstrap",
]
"""Columns of :func:`stepdown_p_values`: one row per outcome of the family.

``estimate`` to ``p_value`` are the CR1 estimate, standard error, t statistic and its t(G-1)
p-value; ``p_value_romano_wolf`` and ``p_value_westfall_young`` the family-wise adjusted
p-values; ``draws`` the number of bootstrap draws; ``bootstrap`` the scheme in words.
"""


def _as_p_values(p_values: object, caller: str) -> np.ndarray:
    try:
        values = np.asarray(p_values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{caller}: p_values must be numbers; got {p_values!r}. Pass a list or array."
        ) from None
    if values.ndim != 1:
        raise ValueError(
            f"{caller}: p_values must be one-dimensional; got shape {values.shape}. "
            "Pass one p-value per hypothesis."
        )
    finite = values[~np.isnan(values)]
    if ((finite < 0) | (finite > 1)).any():
        raise ValueError(
            f"{caller}: p-values must lie in [0, 1]; found {finite[(finite < 0) | (finite > 1)]}"
            ". Pass p-values, not statistics."
        )
    return values


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (false discovery rate adjusted p-values).

    For the ordered p-values :math:`p_{(1)} \\le \\dots \\le p_{(m)}`,
    :math:`q_{(i)} = \\min_{j \\ge i} \\min(1, m p_{(j)} / j)`: the smallest false discovery
    rate at which the hypothesis is rejected by the step-up procedure.

    Parameters
    ----------
    p_values : sequence of float
        One p-value per hypothesis of the family; NaN stays NaN and is not counted in m.

    Returns
    -------
    numpy.ndarray
        q-values in the input order.

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Not one-dimensional, or a value outside [0, 1].

    Notes
    -----
    Controls the false discovery rate at q under independence or positive regression
    dependence. Identical to ``statsmodels.stats.multitest.multipletests(method="fdr_bh")``
    and R's ``p.adjust(method = "BH")``.

    References
    ----------
    Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate: a practical
    and powerful approach to multiple testing. Journal of the Royal Statistical Society:
    Series B, 57(1), 289-300.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.20]).round(3).tolist()
    [0.04, 0.053, 0.053, 0.2]
    """
    values = _as_p_values(p_values, "benjamini_hochberg")
    result = np.full(values.shape, np.nan)
    present = np.flatnonzero(~np.isnan(values))
    m = present.size
    if m == 0:
        return result
    order = present[np.argsort(values[present], kind="stable")]
    scaled = values[order] * m / np.arange(1, m + 1)
    result[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return result


def sharpened_q_values(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Anderson's (2008) sharpened q-values: the two-stage procedure of Benjamini, Krieger and
    Yekutieli (2006), computed as Anderson's ``fdr_sharpened_qvalues.do`` does.

    For each q from 1 down to 0.001 in steps of 0.001: stage one runs the Benjamini-Hochberg
    step-up at :math:`q' = q / (1 + q)` and counts the rejections :math:`r_1`; stage two runs
    the step-up again at :math:`q' m / (m - r_1)` (every hypothesis is rejected when
    :math:`r_1 = m`). A hypothesis' sharpened q-value is the smallest q at which it is
    rejected in stage two (1 if never).

    Parameters
    ----------
    p_values : sequence of float
        One p-value per hypothesis; NaN stays NaN and is not counted in m.

    Returns
    -------
    numpy.ndarray
        Sharpened q-values in the input order, on the 0.001 grid.

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Not one-dimensional, or a value outside [0, 1].

    Notes
    -----
    The two-stage procedure estimates the number of true nulls in stage one and so rejects
    more than Benjamini-Hochberg when many hypotheses are false; it controls the false
    discovery rate under independence. The loop over q is what defines Anderson's numbers:
    the rejection set of the procedure is not monotone in q, and statsmodels'
    ``fdrcorrection_twostage`` (``method="fdr_tsbh"``) computes adjusted p-values at one
    level instead, which differ. Differences from the Stata code: q runs over the integer
    grid k/1000 (Stata subtracts 0.001 in floating point) and comparisons use doubles (Stata
    stores the intermediate variables as floats), so a p-value lying exactly on a threshold
    may land one grid step apart.

    References
    ----------
    Anderson, M. L. (2008). Multiple inference and gender differences in the effects of early
    intervention: A reevaluation of the Abecedarian, Perry Preschool, and Early Training
    projects. Journal of the American Statistical Association, 103(484), 1481-1495.
    Benjamini, Y., Krieger, A. M., & Yekutieli, D. (2006). Adaptive linear step-up
    procedures that control the false discovery rate. Biometrika, 93(3), 491-507.

    Examples
    --------
    >>> sharpened_q_values([0.001, 0.01, 0.02, 0.04, 0.3]).tolist()
    [0.006, 0.021, 0.026, 0.031, 0.064]
    """
    values = _as_p_values(p_values, "sharpened_q_values")
    result = np.full(values.shape, np.nan)
    present = np.flatnonzero(~np.isnan(values))
    m = present.size
    if m == 0:
        return result
    order = present[np.argsort(values[present], kind="stable")]
    ordered = values[order]
    ranks = np.arange(1, m + 1)
    q_values = np.ones(m)
    for step in range(1000, 0, -1):
        q = step / 1000
        q_adjusted = q / (1 + q)
        passed_first = q_adjusted * ranks / m >= ordered
        rejected_first = int(ranks[passed_first].max(initial=0))
        if rejected_first == m:
            # Stata: m / (m - m) is missing, and missing >= p is true, so all are rejected.
            rejected_second = m
        else:
            q_second = q_adjusted * m / (m - rejected_first)
            passed_second = q_second * ranks / m >= ordered
            rejected_second = int(ranks[passed_second].max(initial=0))
        q_values[ranks <= rejected_second] = q
    result[order] = q_values
    return result


def adjust_within_families(
    results: pd.DataFrame,
    *,
    family: str | None = "family",
    p_value: str = "p_value",
) -> pd.DataFrame:
    """Add Benjamini-Hochberg and sharpened q-values computed within each family of outcomes.

    Parameters
    ----------
    results : pandas.DataFrame
        One row per hypothesis (for example one effect per outcome) with a p-value column.
    family : str or None, default "family"
        Column naming each row's family; None treats all rows as one family. Rows with a
        missing family are left unadjusted (NaN).
    p_value : str, default "p_value"
        Column holding the p-values.

    Returns
    -------
    pandas.DataFrame
        A copy of ``results`` with :data:`FAMILY_ADJUSTED_COLUMNS` appended.

    Raises
    ------
    TypeError
        ``results`` is not a DataFrame; the p-value column is not numeric.
    ValueError
        An absent column, or p-values outside [0, 1].

    Notes
    -----
    Families must be declared before the data are seen (a pre-analysis plan); adjusting
    over a family chosen after the fact does not control the error rate it reports.

    References
    ----------
    Anderson, M. L. (2008). Multiple inference and gender differences in the effects of early
    intervention: A reevaluation of the Abecedarian, Perry Preschool, and Early Training
    projects. Journal of the American Statistical Association, 103(484), 1481-1495.
    Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate: a practical
    and powerful approach to multiple testing. Journal of the Royal Statistical Society:
    Series B, 57(1), 289-300.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"outcome": ["a", "b", "c"], "family": ["trust", "trust", "risk"],
    ...                       "p_value": [0.01, 0.04, 0.04]})
    >>> adjust_within_families(table)["q_value_bh"].tolist()
    [0.02, 0.04, 0.04]
    """
    caller = "adjust_within_families"
    check_responses(results, caller=caller)
    check_columns(results, [p_value, family], caller=caller, numeric=[p_value])
    adjusted = results.copy()
    p_values = _as_p_values(results[p_value].to_numpy(dtype=float, na_value=np.nan), caller)
    bh = np.full(len(results), np.nan)
    sharpened = np.full(len(results), np.nan)
    sizes = np.zeros(len(results), dtype=int)
    if family is None:
        groups = [np.arange(len(results))]
    else:
        codes, _ = pd.factorize(results[family])
        groups = [np.flatnonzero(codes == code) for code in range(codes.max(initial=-1) + 1)]
    for positions in groups:
        bh[positions] = benjamini_hochberg(p_values[positions])
        sharpened[positions] = sharpened_q_values(p_values[positions])
        sizes[positions] = int((~np.isnan(p_values[positions])).sum())
    adjusted["q_value_bh"] = bh
    adjusted["q_value_sharpened"] = sharpened
    adjusted["n_family"] = sizes
    return adjusted


def romano_wolf_p_values(
    statistics: Sequence[float] | np.ndarray, bootstrap_statistics: np.ndarray
) -> np.ndarray:
    """Romano-Wolf step-down p-values from observed and bootstrap (null) t statistics.

    Hypotheses are ordered by :math:`|t|` from the largest; the j-th gets
    :math:`\\tilde p_j = (1 + \\#\\{b : \\max_{l \\ge j} |t^*_{b,l}| \\ge |t_j|\\}) / (B + 1)`,
    the maximum taken over the hypotheses not yet rejected, then made monotone
    (:math:`p^{adj}_j = \\max_{i \\le j} \\tilde p_i`).

    Parameters
    ----------
    statistics : sequence of float
        The S observed t statistics.
    bootstrap_statistics : numpy.ndarray
        (B x S) bootstrap t statistics generated under the null.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.

    Raises
    ------
    ValueError
        Shapes that do not match.

    Notes
    -----
    Same counting convention as pyfixest's ``rwolf()`` and Stata's ``rwolf``. Controls the
    family-wise error rate under subset pivotality, without assuming independence.

    References
    ----------
    Romano, J. P., & Wolf, M. (2005). Stepwise multiple testing as formalized data snooping.
    Econometrica, 73(4), 1237-1282.
    Romano, J. P., & Wolf, M. (2016). Efficient computation of adjusted p-values for
    resampling-based stepdown multiple testing. Statistics & Probability Letters, 113, 38-40.

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.random.default_rng(0).normal(size=(999, 3))
    >>> romano_wolf_p_values([3.5, 0.2, 2.4], draws).round(2).tolist()
    [0.0, 0.86, 0.03]
    """
    observed, draws = _check_statistics(statistics, bootstrap_statistics, "romano_wolf_p_values")
    size = draws.shape[0]
    order = np.argsort(-observed, kind="stable")
    initial = np.empty(observed.size)
    for position, hypothesis in enumerate(order):
        remaining = draws[:, order[position:]].max(axis=1)
        initial[position] = min(1.0, (np.sum(remaining >= observed[hypothesis]) + 1) / (size + 1))
    adjusted = np.empty(observed.size)
    adjusted[order] = np.maximum.accumulate(initial)
    return adjusted


def westfall_young_p_values(
    p_values: Sequence[float] | np.ndarray, bootstrap_p_values: np.ndarray
) -> np.ndarray:
    """Westfall-Young free step-down (minP) adjusted p-values from bootstrap null p-values.

    Hypotheses are ordered by p-value from the smallest; for each draw, the successive minima
    :math:`q^*_{b,j} = \\min_{l \\ge j} p^*_{b,l}` over the not-yet-rejected hypotheses are
    compared with :math:`p_j`: :math:`\\tilde p_j = B^{-1} \\#\\{b : q^*_{b,j} \\le p_j\\}`,
    then made monotone.

    Parameters
    ----------
    p_values : sequence of float
        The S observed p-values.
    bootstrap_p_values : numpy.ndarray
        (B x S) p-values of the bootstrap statistics generated under the null.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.

    Raises
    ------
    ValueError
        Shapes that do not match.

    Notes
    -----
    Same convention as pyfixest's ``wyoung()`` (no +1 in numerator and denominator).

    References
    ----------
    Westfall, P. H., & Young, S. S. (1993). Resampling-Based Multiple Testing: Examples and
    Methods for p-Value Adjustment. Wiley. (Algorithm 2.8, free step-down resampling.)

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.random.default_rng(0).uniform(size=(1000, 2))
    >>> westfall_young_p_values([0.01, 0.5], draws).round(2).tolist()
    [0.03, 0.52]
    """
    observed = _as_p_values(p_values, "westfall_young_p_values")
    draws = np.asarray(bootstrap_p_values, dtype=float)
    if draws.ndim != 2 or draws.shape[1] != observed.size:
        raise ValueError(
            f"westfall_young_p_values: bootstrap_p_values must have shape (B, {observed.size}); "
            f"got {draws.shape}. Pass one column per hypothesis."
        )
    order = np.argsort(observed, kind="stable")
    successive = np.minimum.accumulate(draws[:, order[::-1]], axis=1)[:, ::-1]
    initial = np.mean(successive <= observed[order][None, :], axis=0)
    adjusted = np.empty(observed.size)
    adjusted[order] = np.maximum.accumulate(initial)
    return adjusted


def _check_statistics(
    statistics: Sequence[float] | np.ndarray, bootstrap_statistics: np.ndarray, caller: str
) -> tuple[np.ndarray, np.ndarray]:
    observed = np.abs(np.asarray(statistics, dtype=float))
    draws = np.abs(np.asarray(bootstrap_statistics, dtype=float))
    if observed.ndim != 1 or draws.ndim != 2 or draws.shape[1] != observed.size:
        raise ValueError(
            f"{caller}: bootstrap statistics must have shape (B, {observed.size}); got "
            f"{draws.shape}. Pass one column per hypothesis."
        )
    return observed, draws


def stepdown_p_values(
    responses: pd.DataFrame,
    *,
    outcomes: Sequence[str],
    term: str,
    regressors: Sequence[str] | Mapping[str, Sequence[str]],
    cluster: str,
    fixed_effects: Sequence[str] = (),
    weight: str | None = None,
    draws: int = 9999,
    weights: BootstrapWeights = "auto",
    seed: int | np.random.Generator | None = None,
    small_sample: SmallSample = "stata",
) -> pd.DataFrame:
    """Romano-Wolf and Westfall-Young adjusted p-values for one term across a family of outcomes.

    For each outcome :math:`k`, ``outcome_k ~ regressors_k | fixed_effects`` is fitted with
    CR1 errors and :math:`H_{0k}`: the coefficient of ``term`` is zero is tested. The joint
    null distribution of the S t statistics comes from the wild cluster restricted bootstrap
    (WCR-11): each draw multiplies every cluster's null-restricted residuals by one weight,
    the same weight for that cluster in every outcome, so the bootstrap keeps the correlation
    between outcomes (and within clusters); strata enter as fixed effects. The step-down
    procedures then adjust for testing S hypotheses.

    Parameters
    ----------
    responses : pandas.DataFrame
        Data with every outcome, regressor, cluster and fixed-effect column.
    outcomes : sequence of str
        The family of outcomes (at least two).
    term : str
        The tested regressor (for example ``treated``), present in every model.
    regressors : sequence of str or mapping of str to sequence of str
        The regressors of every model, or outcome -> its own regressors (ANCOVA: each outcome
        with its own baseline value).
    cluster : str
        Cluster (unit of assignment).
    fixed_effects : sequence of str, default ()
        Absorbed fixed effects (the stratum).
    weight : str or None, default None
        Survey weights.
    draws : int, default 9999
        Bootstrap draws B (all 2**G sign vectors when that is fewer, with Rademacher weights).
    weights : {"auto", "rademacher", "webb"}, default "auto"
        Bootstrap weights; "auto" is Webb's six-point weights below 12 clusters.
    seed : int or None, default None
        Seed of the bootstrap draws; the same seed gives the same p-values.
    small_sample : {"stata", "fixest"}, default "stata"
        CR1 convention of :func:`measurement.linear_model.fit_linear_model`.

    Returns
    -------
    pandas.DataFrame
        One row per outcome with :data:`STEPDOWN_COLUMNS`.

    Raises
    ------
    TypeError
        ``responses`` is not a DataFrame; a used column is not numeric.
    ValueError
        Fewer than two outcomes; ``term`` not among an outcome's regressors; an absent column;
        bad ``draws`` or ``weights``.
    DesignError
        As :func:`measurement.linear_model.fit_linear_model`, for any outcome.

    Notes
    -----
    Romano-Wolf uses the maximum of the bootstrap :math:`|t^*|`; Westfall-Young the minimum of
    the bootstrap p-values from t(G-1), as pyfixest's ``rwolf()`` and ``wyoung()``. Outcomes
    may be missing in different rows: each model uses its complete rows, and a cluster's
    bootstrap weight is shared by all models. Fixed effects that contain several clusters
    (strata) are handled as in :func:`measurement.wild_bootstrap.wild_cluster_bootstrap`.
    Clusters are never split, so the bootstrap respects the design; it does not redraw the
    assignment (for that, see randomization inference).

    References
    ----------
    Romano, J. P., & Wolf, M. (2005). Stepwise multiple testing as formalized data snooping.
    Econometrica, 73(4), 1237-1282.
    Westfall, P. H., & Young, S. S. (1993). Resampling-Based Multiple Testing: Examples and
    Methods for p-Value Adjustment. Wiley.
    Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements for
    inference with clustered errors. Review of Economics and Statistics, 90(3), 414-427.
    Clarke, D., Romano, J. P., & Wolf, M. (2020). The Romano-Wolf multiple-hypothesis
    correction in Stata. Stata Journal, 20(4), 812-843.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(30), 20)})
    >>> frame["treated"] = (frame["cluster"] % 2).astype(float)
    >>> shock = rng.normal(size=30)[frame["cluster"]]
    >>> for k in range(3):
    ...     frame[f"y{k}"] = 0.4 * (k == 0) * frame["treated"] + shock + rng.normal(size=600)
    >>> table = stepdown_p_values(frame, outcomes=["y0", "y1", "y2"], term="treated",
    ...                           regressors=["treated"], cluster="cluster", draws=999, seed=1)
    >>> table["p_value_romano_wolf"].round(2).tolist()
    [0.55, 0.1, 0.12]
    """
    caller = "stepdown_p_values"
    check_responses(responses, caller=caller)
    names = check_names(outcomes, what="outcomes", caller=caller, minimum=2)
    if isinstance(regressors, Mapping):
        absent = [name for name in names if name not in regressors]
        if absent:
            raise ValueError(
                f"{caller}: regressors gives no model for outcomes {absent!r}. Map every "
                "outcome to its regressors."
            )
        models = {name: list(regressors[name]) for name in names}
    else:
        shared = check_names(regressors, what="regressors", caller=caller)
        models = {name: shared for name in names}
    for name, model in models.items():
        if term not in model:
            raise ValueError(
                f"{caller}: term {term!r} is not among the regressors {model!r} of outcome "
                f"{name!r}. Include it in every model."
            )
    check_columns(responses, [*names, cluster, *fixed_effects, weight], caller=caller)
    cluster_labels = pd.Index(pd.factorize(responses[cluster], sort=True)[1])
    matrix, kind, enumerated = bootstrap_weights(
        len(cluster_labels), draws, weights=weights, seed=seed
    )
    rows: list[dict[str, object]] = []
    boot_t = np.empty((matrix.shape[0], len(names)))
    boot_p = np.empty_like(boot_t)
    observed_p = np.empty(len(names))
    observed_t = np.empty(len(names))
    for position, name in enumerate(names):
        design = prepare_design(
            responses,
            outcome=name,
            regressors=models[name],
            cluster=cluster,
            fixed_effects=list(fixed_effects),
            weight=weight,
            caller=caller,
        )
        fit = fit_design(design, small_sample=small_sample)
        summary = fit.term(term)
        local = pd.factorize(responses.loc[design.rows, cluster], sort=True)[1]
        columns = cluster_labels.get_indexer(local)
        boot_t[:, position] = bootstrap_t_statistics(
            design, term, matrix[:, columns], small_sample=small_sample
        )
        boot_p[:, position] = 2 * stats.t.sf(np.abs(boot_t[:, position]), fit.df_resid)
        observed_p[position] = summary["p_value"]
        observed_t[position] = summary["statistic"]
        rows.append(
            {
                "outcome": name,
                "term": term,
                "estimate": summary["estimate"],
                "std_error": summary["std_error"],
                "statistic": summary["statistic"],
                "p_value": summary["p_value"],
                "n_obs": fit.n_obs,
                "n_clusters": fit.n_clusters,
            }
        )
    romano_wolf = romano_wolf_p_values(observed_t, boot_t)
    westfall_young = westfall_young_p_values(observed_p, boot_p)
    how = "all 2^G sign vectors (exact)" if enumerated else f"{matrix.shape[0]} seeded draws"
    words = (
        f"wild cluster restricted bootstrap (WCR-11), {kind} weights, {how}, one weight per "
        "cluster shared across outcomes"
    )
    for row, adjusted_rw, adjusted_wy in zip(rows, romano_wolf, westfall_young, strict=True):
        row["p_value_romano_wolf"] = float(adjusted_rw)
        row["p_value_westfall_young"] = float(adjusted_wy)
        row["draws"] = int(matrix.shape[0])
        row["bootstrap"] = words
    return pd.DataFrame(rows, columns=STEPDOWN_COLUMNS)
