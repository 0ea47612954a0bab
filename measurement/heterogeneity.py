"""Heterogeneous effects: the intention-to-treat effect within each group of respondents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from measurement.arguments import check_columns, check_confidence, check_names, check_responses
from measurement.balance import wald_test
from measurement.errors import DesignError
from measurement.linear_model import LinearFit, SmallSample, VcovType, fit_linear_model

__all__ = ["HETEROGENEITY_COLUMNS", "estimate_effect_by_group"]

HETEROGENEITY_COLUMNS = (
    "outcome",
    "group",
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "n_obs",
    "n_clusters",
)
"""Columns of :func:`estimate_effect_by_group`, in order."""

_CALLER = "estimate_effect_by_group"


def _label(level: object) -> str:
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    return str(level)


def _cell_counts(clusters: pd.Series) -> dict[tuple[str, int], int]:
    """Clusters by (group, arm) with readable keys, for error messages."""
    return {
        (_label(key[0]), int(key[1])): int(count)
        for key, count in zip(clusters.index.tolist(), clusters.tolist(), strict=True)
    }


def _combination(fit: LinearFit, weights: dict[str, float], confidence: float) -> dict[str, float]:
    """Estimate, standard error, statistic, p-value and interval of sum(w * b).

    The reference is the fit's: t(G-1) with CR1, Satterthwaite degrees of freedom of the
    combination with CR2.
    """
    result = fit.combination(weights, confidence)
    result.pop("df")
    return result


def estimate_effect_by_group(
    responses: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    group: str,
    cluster: str | None = None,
    baseline: str | None = None,
    stratum: str | None = None,
    covariates: Sequence[str] = (),
    weight: str | None = None,
    confidence: float = 0.95,
    small_sample: SmallSample = "stata",
    vcov: VcovType | None = None,
) -> pd.DataFrame:
    """Estimate the effect of the campaign within each group and the difference between groups.

    One regression with the treatment interacted with group indicators,

    .. math:: y_i = \\beta T_i + \\sum_{g > 0} (\\gamma_g D_{gi} + \\delta_g T_i D_{gi})
              + \\theta y_{0i} + x_i'\\lambda + \\alpha_{s(i)} + u_i,

    where :math:`D_{gi}` marks group g and group 0 (the first level of ``group`` in sorted
    order, 0 for a 0/1 column) is the reference. The effect in the reference group is
    :math:`\\beta`, in group g :math:`\\beta + \\delta_g`, and :math:`\\delta_g` is the
    difference between them. Errors are CR1 on ``cluster`` with a t(G-1) reference
    (:func:`measurement.linear_model.fit_linear_model`).

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent at the wave where the effect is measured.
    outcome : str
        Numeric outcome.
    treated : str
        0/1 assignment of the respondent's cluster.
    group : str
        The grouping column: 0/1 or categorical (at least two levels among complete rows).
        Rows with a missing group are dropped.
    cluster : str or None, default None
        Unit of assignment; None for individually randomised designs (HC1, or ``vcov``).
    baseline : str or None, default None
        The outcome's baseline value (ANCOVA); its slope is common to all groups.
    stratum : str or None, default None
        Randomisation strata, absorbed as fixed effects.
    covariates : sequence of str, default ()
        Further numeric controls (slopes common to all groups).
    weight : str or None, default None
        Survey weights.
    confidence : float, default 0.95
        Level of the intervals.
    small_sample : {"stata", "fixest"}, default "stata"
        Small-sample convention of the CR1 factor (see ``fit_linear_model``).
    vcov : {"iid", "HC1", "HC2", "CR1", "CR2"} or None, default None (CR1, HC1 without cluster)
        With ``"CR2"`` every effect and difference has Satterthwaite degrees of freedom and
        the joint test of the differences is the HTZ Wald test (clubSandwich).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HETEROGENEITY_COLUMNS`. One ``term == "effect"`` row per group (the
        reference first; ``group`` holds the level as text); one ``term == "difference"`` row
        per other group (``group`` reads ``"<level> - <reference>"``; its p-value is the
        interaction coefficient's); with more than two groups one ``term == "joint_difference"``
        row (``group == "all"``) with the Wald F statistic and p-value that all differences
        are zero (:func:`measurement.balance.wald_test`; no estimate or interval).

    Raises
    ------
    TypeError
        ``responses`` is not a DataFrame; a numeric column is not numeric; ``covariates`` is a
        string.
    ValueError
        A named column is missing; ``treated`` is not 0/1; ``confidence`` outside (0, 1).
    DesignError
        Fewer than two groups; a group without a treated or without a comparison cluster;
        and every design error of ``fit_linear_model``.

    Notes
    -----
    Without ``baseline``, ``stratum`` and ``covariates`` the model is saturated in arm and
    group, so each group's effect equals the difference in (weighted) means within the group
    and the difference row equals the difference of two separate regressions' effects. With
    common controls the groups share the controls' slopes (pooling them, as is usual for
    pre-specified heterogeneity analyses). The test of a difference has less power than the
    main effect: about four times the sample is needed to detect an interaction of the size
    of the main effect.

    References
    ----------
    Gelman, A., Hill, J., & Vehtari, A. (2020). Regression and Other Stories. Cambridge
    University Press, section 16.4 (interactions need far larger samples).
    Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust
    inference. Journal of Human Resources, 50(2), 317-372.
    Athey, S., & Imbens, G. W. (2017). The econometrics of randomized experiments. In
    Handbook of Economic Field Experiments (Vol. 1, pp. 73-140), section 10.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> frame = pd.DataFrame({"cluster": np.repeat(np.arange(40), 25)})
    >>> frame["treated"] = (frame["cluster"] % 2).astype(float)
    >>> frame["alone"] = rng.integers(0, 2, size=1000).astype(float)
    >>> frame["y"] = frame["treated"] * (0.2 + 0.5 * frame["alone"]) + rng.normal(size=1000)
    >>> table = estimate_effect_by_group(frame, outcome="y", treated="treated",
    ...                                  group="alone", cluster="cluster")
    >>> table[["group", "term"]].to_numpy().tolist()
    [['0', 'effect'], ['1', 'effect'], ['1 - 0', 'difference']]
    """
    check_responses(responses, caller=_CALLER)
    covariate_list = check_names(covariates, what="covariates", caller=_CALLER, minimum=0)
    confidence = check_confidence(confidence, caller=_CALLER)
    controls = [name for name in (baseline, *covariate_list) if name is not None]
    used = [outcome, treated, group, cluster, *controls, stratum, weight]
    check_columns(responses, used, caller=_CALLER, numeric=[outcome, treated, *controls])
    frame = responses[[name for name in dict.fromkeys(used) if name is not None]]
    frame = frame[frame.notna().all(axis=1)].reset_index(drop=True)
    assignment = frame[treated].to_numpy(dtype=float)
    if not np.isin(assignment, [0.0, 1.0]).all():
        raise ValueError(
            f"{_CALLER}: column {treated!r} must hold 0/1; found "
            f"{np.unique(assignment[~np.isin(assignment, [0.0, 1.0])])[:5]!r}. Code it 1 for "
            "treated and 0 otherwise."
        )
    levels = sorted(frame[group].unique().tolist())
    if len(levels) < 2:
        raise DesignError(
            f"{_CALLER}: the group column {group!r} has {len(levels)} level(s) among the "
            f"{len(frame)} complete rows ({[_label(level) for level in levels]!r}); effects by "
            "group need at least two. Check the grouping column or its missing values."
        )
    clusters = (
        frame.groupby([group, treated])[cluster].nunique()
        if cluster is not None
        else frame.groupby([group, treated]).size()
    )
    for level in levels:
        for arm, words in ((1.0, "treated"), (0.0, "comparison")):
            if int(clusters.get((level, arm), 0)) == 0:
                raise DesignError(
                    f"{_CALLER}: group {group}={_label(level)} has no {words} cluster among the "
                    f"complete rows; found clusters by group and arm "
                    f"{_cell_counts(clusters)!r}. "
                    "Merge sparse groups or drop this grouping."
                )
    reference = levels[0]
    regressors = [treated]
    interactions: dict[object, str] = {}
    for index, level in enumerate(levels[1:], start=1):
        indicator = (frame[group] == level).to_numpy(dtype=float)
        frame[f"__group_{index}"] = indicator
        frame[f"__treated_x_group_{index}"] = indicator * assignment
        regressors += [f"__group_{index}", f"__treated_x_group_{index}"]
        interactions[level] = f"__treated_x_group_{index}"
    frame[treated] = assignment
    fit = fit_linear_model(
        frame,
        outcome=outcome,
        regressors=[*regressors, *controls],
        cluster=cluster,
        fixed_effects=[stratum] if stratum is not None else [],
        weight=weight,
        small_sample=small_sample,
        vcov=vcov,
    )
    counts: dict[str, object] = {"n_obs": fit.n_obs, "n_clusters": fit.n_clusters}
    rows: list[dict[str, object]] = [
        dict[str, object](outcome=outcome, group=_label(reference), term="effect")
        | _combination(fit, {treated: 1.0}, confidence)
        | counts
    ]
    for level, name in interactions.items():
        rows.append(
            dict[str, object](outcome=outcome, group=_label(level), term="effect")
            | _combination(fit, {treated: 1.0, name: 1.0}, confidence)
            | counts
        )
    for level, name in interactions.items():
        rows.append(
            dict[str, object](
                outcome=outcome,
                group=f"{_label(level)} - {_label(reference)}",
                term="difference",
            )
            | _combination(fit, {name: 1.0}, confidence)
            | counts
        )
    if len(interactions) > 1:
        joint = wald_test(fit, list(interactions.values()))
        rows.append(
            {
                "outcome": outcome,
                "group": "all",
                "term": "joint_difference",
                "estimate": float("nan"),
                "std_error": float("nan"),
                "statistic": joint.statistic,
                "p_value": joint.p_value,
                "conf_low": float("nan"),
                "conf_high": float("nan"),
            }
            | counts
        )
    return pd.DataFrame(rows, columns=list(HETEROGENEITY_COLUMNS))
