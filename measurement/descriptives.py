"""Descriptive statistics per wave and arm: n, mean, sd, and missing answers by reason."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from measurement.arguments import check_columns, check_names, check_responses

__all__ = [
    "BLANK_REASON",
    "DESCRIPTIVE_COLUMNS",
    "MISSING_COLUMNS",
    "describe_responses",
    "missing_by_reason",
]

BLANK_REASON = "blank"
"""Reason given to a missing value (NaN) that carries no special code: skipped or not asked."""

DESCRIPTIVE_COLUMNS: list[str] = [
    "variable",
    "wave",
    "arm",
    "n_obs",
    "n_valid",
    "n_missing",
    "mean",
    "std_dev",
    "minimum",
    "median",
    "maximum",
]
"""Columns of :func:`describe_responses`: one row per variable, wave and arm.

``n_obs`` counts the rows of the cell, ``n_valid`` the usable answers (not NaN, not a special
code), ``n_missing = n_obs - n_valid``; ``mean``, ``std_dev`` (ddof = 1), ``minimum``,
``median`` and ``maximum`` describe the usable answers. ``wave``/``arm`` are None when the
corresponding column was not given.
"""

MISSING_COLUMNS: list[str] = [
    "variable",
    "wave",
    "arm",
    "reason",
    "n_missing",
    "n_obs",
    "share_missing",
]
"""Columns of :func:`missing_by_reason`: one row per variable, wave, arm and reason.

``reason`` is a key of ``missing_codes`` (for example ``dont_know``, ``refused``) or
:data:`BLANK_REASON`; every reason appears in every cell, with zero counts, so that tables
line up across waves; ``share_missing = n_missing / n_obs``.
"""


def _check_codes(
    missing_codes: Mapping[str, Collection[float]], caller: str
) -> dict[str, np.ndarray]:
    if not isinstance(missing_codes, Mapping):
        raise TypeError(
            f"{caller}: missing_codes must map a reason to its codes; got "
            f"{type(missing_codes).__name__}. Pass for example {{'dont_know': [-88]}}."
        )
    if BLANK_REASON in missing_codes:
        raise ValueError(
            f"{caller}: the reason {BLANK_REASON!r} is reserved for values missing without a "
            f"code; found it in missing_codes {sorted(missing_codes)!r}. Rename that reason."
        )
    codes = {
        str(reason): np.asarray([float(code) for code in values], dtype=float)
        for reason, values in missing_codes.items()
    }
    seen: dict[float, str] = {}
    for reason, values in codes.items():
        for code in values.tolist():
            if code in seen:
                raise ValueError(
                    f"{caller}: code {code!r} is listed under both {seen[code]!r} and "
                    f"{reason!r}. Give each code one reason."
                )
            seen[code] = reason
    return codes


def _cells(
    responses: pd.DataFrame, wave: str | None, arm: str | None
) -> list[tuple[Any, Any, np.ndarray | slice]]:
    """(wave, arm, row positions) of each cell, in sorted order of the cells.

    Only the key columns are grouped: grouping the whole frame copied every column of it
    for each cell, and it was done again for every variable.
    """
    keys = [name for name in (wave, arm) if name is not None]
    if not keys:
        return [(None, None, slice(None))]
    cells: list[tuple[Any, Any, np.ndarray | slice]] = []
    grouped = responses[keys].reset_index(drop=True)
    for values, part in grouped.groupby(keys, sort=True, dropna=False, observed=True):
        values = values if isinstance(values, tuple) else (values,)
        lookup = dict(zip(keys, values, strict=True))
        cells.append(
            (
                lookup.get(wave) if wave else None,
                lookup.get(arm) if arm else None,
                part.index.to_numpy(),
            )
        )
    return cells


def _prepare(
    responses: pd.DataFrame,
    variables: Sequence[str],
    wave: str | None,
    arm: str | None,
    missing_codes: Mapping[str, Collection[float]],
    caller: str,
) -> tuple[list[str], dict[str, np.ndarray]]:
    check_responses(responses, caller=caller)
    names = check_names(variables, what="variables", caller=caller)
    check_columns(responses, [*names, wave, arm], caller=caller, numeric=names)
    return names, _check_codes(missing_codes, caller)


def describe_responses(
    responses: pd.DataFrame,
    *,
    variables: Sequence[str],
    wave: str | None = None,
    arm: str | None = None,
    missing_codes: Mapping[str, Collection[float]] | None = None,
) -> pd.DataFrame:
    """Count, mean and spread of each item or construct score per wave and arm.

    Summary statistics of the usable answers of every variable in every cell defined by the
    wave and arm columns, with special codes (don't know, refused, ...) excluded.

    Parameters
    ----------
    responses : pandas.DataFrame
        The coded wave(s): items as answered (special codes in place) and, if wanted,
        construct scores (which carry only NaN when not scored).
    variables : sequence of str
        Numeric columns to describe.
    wave : str or None, default None
        Column naming the wave.
    arm : str or None, default None
        Column naming the arm (or the 0/1 treated column).
    missing_codes : mapping of str to collection of float, optional
        Reason -> codes meaning "no usable answer", exactly the shape of a study's
        ``special_codes()`` (for example ``{"dont_know": [-88], "refused": [-99]}``).

    Returns
    -------
    pandas.DataFrame
        One row per variable, wave and arm with :data:`DESCRIPTIVE_COLUMNS`.

    Raises
    ------
    TypeError
        ``responses`` is not a DataFrame; a variable is not numeric; ``missing_codes`` is not a
        mapping.
    ValueError
        An absent column; duplicated variables; a code given two reasons; a reason named
        :data:`BLANK_REASON`.

    Notes
    -----
    Statistics are unweighted and describe the sample, not the population; rows whose wave or
    arm is missing form their own cell (NaN) rather than being dropped silently. Apply
    :func:`measurement.constructs.recode_items` first if reversed items should be described
    in the construct's direction.

    References
    ----------
    Wickham, H. (2014). Tidy data. Journal of Statistical Software, 59(10), 1-23.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"wave": ["baseline"] * 4, "trust_iom": [1.0, 3.0, -88.0, 5.0]})
    >>> table = describe_responses(frame, variables=["trust_iom"], wave="wave",
    ...                            missing_codes={"dont_know": [-88.0]})
    >>> table[["variable", "wave", "n_obs", "n_valid", "mean"]].to_dict("records")
    [{'variable': 'trust_iom', 'wave': 'baseline', 'n_obs': 4, 'n_valid': 3, 'mean': 3.0}]
    """
    caller = "describe_responses"
    names, codes = _prepare(responses, variables, wave, arm, missing_codes or {}, caller)
    all_codes = np.concatenate([np.empty(0), *codes.values()])
    rows = []
    cells = _cells(responses, wave, arm)
    for name in names:
        column = responses[name].to_numpy(dtype=float, na_value=np.nan)
        for wave_value, arm_value, positions in cells:
            values = column[positions]
            valid = values[~np.isnan(values) & ~np.isin(values, all_codes)]
            has_values = valid.size > 0
            rows.append(
                {
                    "variable": name,
                    "wave": wave_value,
                    "arm": arm_value,
                    "n_obs": int(values.size),
                    "n_valid": int(valid.size),
                    "n_missing": int(values.size - valid.size),
                    "mean": float(valid.mean()) if has_values else np.nan,
                    "std_dev": float(valid.std(ddof=1)) if valid.size > 1 else np.nan,
                    "minimum": float(valid.min()) if has_values else np.nan,
                    "median": float(np.median(valid)) if has_values else np.nan,
                    "maximum": float(valid.max()) if has_values else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=DESCRIPTIVE_COLUMNS)


def missing_by_reason(
    responses: pd.DataFrame,
    *,
    variables: Sequence[str],
    wave: str | None = None,
    arm: str | None = None,
    missing_codes: Mapping[str, Collection[float]] | None = None,
) -> pd.DataFrame:
    """Missing answers of each variable per wave and arm, counted by reason.

    For every cell, the number and share of rows whose value is one of a reason's special
    codes, and of rows left blank (NaN, :data:`BLANK_REASON`): "don't know" and "never heard
    of this source" answer different questions and are reported apart.

    Parameters
    ----------
    responses : pandas.DataFrame
        The coded wave(s) with special codes still in place.
    variables : sequence of str
        Numeric columns to describe.
    wave : str or None, default None
        Column naming the wave.
    arm : str or None, default None
        Column naming the arm.
    missing_codes : mapping of str to collection of float, optional
        Reason -> codes, as a study's ``special_codes()``.

    Returns
    -------
    pandas.DataFrame
        One row per variable, wave, arm and reason with :data:`MISSING_COLUMNS`; reasons in
        the order of ``missing_codes`` followed by :data:`BLANK_REASON`.

    Raises
    ------
    TypeError
        As :func:`describe_responses`.
    ValueError
        As :func:`describe_responses`.

    Notes
    -----
    Differential missingness by arm after the campaign (for example more "don't know" in
    the comparison arm on a quiz) is itself a finding and a threat to comparisons of means.

    References
    ----------
    Wickham, H. (2014). Tidy data. Journal of Statistical Software, 59(10), 1-23.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"trust_iom": [1.0, -66.0, -88.0, -88.0, None]})
    >>> table = missing_by_reason(frame, variables=["trust_iom"],
    ...                           missing_codes={"dont_know": [-88.0], "never_heard": [-66.0]})
    >>> table[["reason", "n_missing"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'reason': 'dont_know', 'n_missing': 2}, {'reason': 'never_heard', 'n_missing': 1},
     {'reason': 'blank', 'n_missing': 1}]
    """
    caller = "missing_by_reason"
    names, codes = _prepare(responses, variables, wave, arm, missing_codes or {}, caller)
    rows = []
    cells = _cells(responses, wave, arm)
    for name in names:
        column = responses[name].to_numpy(dtype=float, na_value=np.nan)
        for wave_value, arm_value, positions in cells:
            values = column[positions]
            counts = {reason: int(np.isin(values, found).sum()) for reason, found in codes.items()}
            counts[BLANK_REASON] = int(np.isnan(values).sum())
            for reason, count in counts.items():
                rows.append(
                    {
                        "variable": name,
                        "wave": wave_value,
                        "arm": arm_value,
                        "reason": reason,
                        "n_missing": count,
                        "n_obs": int(values.size),
                        "share_missing": count / values.size if values.size else np.nan,
                    }
                )
    return pd.DataFrame(rows, columns=MISSING_COLUMNS)
