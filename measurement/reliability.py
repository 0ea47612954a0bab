"""Internal consistency of each construct's items: Cronbach's alpha with its interval."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd
import pingouin
from scipy import stats

from measurement.arguments import check_columns, check_confidence, check_names, check_responses
from measurement.errors import DesignError, LowReliabilityWarning

__all__ = ["RELIABILITY_COLUMNS", "construct_reliability", "feldt_interval"]

RELIABILITY_COLUMNS: list[str] = [
    "construct",
    "wave",
    "n_items",
    "n_obs",
    "estimate",
    "conf_low",
    "conf_high",
    "threshold",
    "below_threshold",
    "method",
]
"""Columns of :func:`construct_reliability`: one row per construct (and wave).

``estimate`` is Cronbach's alpha, ``conf_low``/``conf_high`` its Feldt interval, ``n_obs``
the respondents it rests on, ``below_threshold`` whether ``estimate < threshold``; ``wave`` is
None when no wave column was given; ``method`` describes the missing-data policy.
"""


def feldt_interval(
    alpha: float, *, n_obs: int, n_items: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Feldt's exact interval for Cronbach's alpha under normal items.

    :math:`(1-\\alpha)^{-1}(1-\\hat\\alpha)` follows an F distribution with
    :math:`(n-1, (n-1)(k-1))` degrees of freedom, which gives
    :math:`[1 - (1-\\hat\\alpha) F_{1-a/2}, 1 - (1-\\hat\\alpha) F_{a/2}]`.

    Parameters
    ----------
    alpha : float
        Estimated alpha.
    n_obs : int
        Respondents.
    n_items : int
        Items.
    confidence : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    tuple of float
        ``(conf_low, conf_high)``; the same as pingouin's interval before it rounds it to three
        decimals.

    Raises
    ------
    ValueError
        ``confidence`` outside (0, 1), fewer than two respondents or items.

    References
    ----------
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for coefficient
    alpha. Applied Psychological Measurement, 11(1), 93-103.

    Examples
    --------
    >>> [round(bound, 3) for bound in feldt_interval(0.8, n_obs=50, n_items=4)]
    [0.691, 0.877]
    """
    check_confidence(confidence, caller="feldt_interval")
    if n_obs < 2 or n_items < 2:
        raise ValueError(
            f"feldt_interval: alpha needs at least two respondents and two items; got "
            f"n_obs={n_obs!r}, n_items={n_items!r}. Pass larger counts."
        )
    tail = 1 - confidence
    df1 = n_obs - 1
    df2 = df1 * (n_items - 1)
    low = 1 - (1 - alpha) * stats.f.isf(tail / 2, df1, df2)
    high = 1 - (1 - alpha) * stats.f.isf(1 - tail / 2, df1, df2)
    return float(low), float(high)


def construct_reliability(
    responses: pd.DataFrame,
    *,
    constructs: Mapping[str, Sequence[str]],
    wave: str | None = None,
    confidence: float = 0.95,
    threshold: float = 0.6,
    nan_policy: Literal["listwise", "pairwise"] = "listwise",
) -> pd.DataFrame:
    """Cronbach's alpha of each construct (per wave) with its interval and a threshold flag.

    For :math:`k` items with covariance matrix :math:`C`,
    :math:`\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\operatorname{tr} C}{\\mathbf 1' C
    \\mathbf 1}\\right)`: the share of the variance of the sum score that is common to the
    items, a lower bound on reliability under essentially tau-equivalent items.

    Parameters
    ----------
    responses : pandas.DataFrame
        Item columns recoded so that higher means more of the construct (see
        :func:`measurement.constructs.recode_items`) with special codes already missing.
    constructs : mapping of str to sequence of str
        Construct name -> its item columns (at least two each).
    wave : str or None, default None
        Column naming the wave; one row per construct and wave when given.
    confidence : float, default 0.95
        Coverage of the Feldt interval.
    threshold : float, default 0.6
        Alpha under which the construct is flagged and a :class:`LowReliabilityWarning` issued.
    nan_policy : {"listwise", "pairwise"}, default "listwise"
        "listwise" uses respondents who answered every item (R ``psych::alpha(use =
        "complete.obs")``); "pairwise" estimates each covariance from the pairs available and
        counts every respondent with at least one answer in ``n_obs``.

    Returns
    -------
    pandas.DataFrame
        One row per construct (and wave) with :data:`RELIABILITY_COLUMNS`.

    Raises
    ------
    TypeError
        ``responses`` is not a DataFrame; an item is not numeric.
    ValueError
        A construct with fewer than two items; an absent column; ``confidence`` or
        ``threshold`` out of range; unknown ``nan_policy``.
    DesignError
        Fewer than two usable respondents, or a sum score without variance, for a construct
        in a wave.

    Warns
    -----
    LowReliabilityWarning
        Once per call, naming every construct and wave with alpha under ``threshold``.

    Notes
    -----
    Alpha comes from :func:`pingouin.cronbach_alpha`; the interval is recomputed with the
    same Feldt formula (:func:`feldt_interval`) because pingouin rounds it to three decimals
    and, after listwise deletion, still uses the number of rows before deletion; here ``n_obs``
    is the number of respondents actually used.
    Alpha ignores clustering and assumes uncorrelated errors; it rises with the number of
    items, so compare constructs of similar length. The 0.6 default is a common floor for
    short attitude scales in field surveys (Nunnally's 0.7 is the usual target).

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16(3), 297-334.
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for coefficient
    alpha. Applied Psychological Measurement, 11(1), 93-103.
    Nunnally, J. C. (1978). Psychometric Theory (2nd ed.). McGraw-Hill.
    Vallat, R. (2018). Pingouin: statistics in Python. Journal of Open Source Software, 3(31),
    1026.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> trust = rng.normal(size=300)
    >>> frame = pd.DataFrame({f"trust_{k}": trust + rng.normal(size=300) for k in range(4)})
    >>> table = construct_reliability(frame, constructs={"trust": list(frame.columns)})
    >>> table[["construct", "n_items", "n_obs"]].to_dict("records")
    [{'construct': 'trust', 'n_items': 4, 'n_obs': 300}]
    >>> round(float(table["estimate"].iloc[0]), 2)
    0.83
    """
    caller = "construct_reliability"
    check_responses(responses, caller=caller)
    check_confidence(confidence, caller=caller)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold > 1:
        raise ValueError(
            f"{caller}: threshold must be a number no greater than 1; got {threshold!r}. "
            "Pass for example 0.6."
        )
    if nan_policy not in ("listwise", "pairwise"):
        raise ValueError(
            f"{caller}: nan_policy must be 'listwise' or 'pairwise'; got {nan_policy!r}. "
            "Pass one of these."
        )
    if not isinstance(constructs, Mapping) or not constructs:
        raise ValueError(
            f"{caller}: constructs must be a non-empty mapping of construct -> item columns; "
            f"got {constructs!r}. Pass for example {{'trust': ['trust_1', 'trust_2']}}."
        )
    item_lists = {
        construct: check_names(
            members, what=f"items of construct {construct!r}", caller=caller, minimum=2
        )
        for construct, members in constructs.items()
    }
    all_items = [name for members in item_lists.values() for name in members]
    check_columns(responses, [*all_items, wave], caller=caller, numeric=all_items)
    if wave is None:
        groups: list[tuple[str | None, pd.DataFrame]] = [(None, responses)]
    else:
        groups = [
            (str(value), part)
            for value, part in responses.groupby(wave, sort=False, dropna=True, observed=True)
        ]
    rows: list[dict[str, Any]] = []
    for wave_value, part in groups:
        for construct, members in item_lists.items():
            data = part[members].astype(float)
            data = data.dropna(how="any" if nan_policy == "listwise" else "all")
            where = f"construct {construct!r}" + (
                f" at wave {wave_value!r}" if wave_value is not None else ""
            )
            if len(data) < 2:
                raise DesignError(
                    f"{caller}: {where} has {len(data)} usable respondents ({nan_policy}); alpha "
                    "needs at least two. Check the items for missing values."
                )
            total_variance = float(data.cov().to_numpy().sum())
            if not total_variance > 0:
                raise DesignError(
                    f"{caller}: the sum score of {where} does not vary (total variance "
                    f"{total_variance!r}); alpha is undefined. Check the items' coding."
                )
            estimate, _ = pingouin.cronbach_alpha(data=data, nan_policy=nan_policy, ci=confidence)
            low, high = feldt_interval(
                float(estimate), n_obs=len(data), n_items=len(members), confidence=confidence
            )
            rows.append(
                {
                    "construct": construct,
                    "wave": wave_value,
                    "n_items": len(members),
                    "n_obs": len(data),
                    "estimate": float(estimate),
                    "conf_low": low,
                    "conf_high": high,
                    "threshold": float(threshold),
                    "below_threshold": bool(float(estimate) < threshold),
                    "method": f"Cronbach's alpha, {nan_policy} deletion, Feldt interval",
                }
            )
    table = pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)
    low_rows = [row for row in rows if row["below_threshold"]]
    if low_rows:
        listed = ", ".join(
            str(row["construct"])
            + (f" ({row['wave']})" if row["wave"] is not None else "")
            + f" alpha={float(row['estimate']):.2f}"
            for row in low_rows
        )
        warnings.warn(
            f"{caller}: alpha is under {threshold} for {listed}; these items agree poorly, so "
            "report them one by one or read their construct scores with care.",
            LowReliabilityWarning,
            stacklevel=2,
        )
    return table
