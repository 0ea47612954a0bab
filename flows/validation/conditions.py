"""Pandas masks for suite expectations: the failing rows of each check, evaluated once.

Great Expectations decides whether an expectation passes; these masks pick the rows it
quarantines. Both read the same suite file, so every argument a row-level expectation may
carry is listed in :data:`ROW_EXPECTATION_ARGUMENTS` and implemented here (``mostly``,
``strict_min``, ``strict_max``, ``row_condition`` included); a suite using any other argument
is refused when it is loaded (:func:`check_row_arguments`), never half-read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

_COMMON_ARGUMENTS = frozenset({"column", "mostly", "row_condition", "condition_parser"})

# Expectation types whose failing rows trustshift computes itself (GX's COMPLETE result
# format, with index lists, is too slow on large waves), with the arguments the masks
# implement, under GX's names and with GX's meaning.
ROW_EXPECTATION_ARGUMENTS: dict[str, frozenset[str]] = {
    "expect_column_values_to_be_in_set": _COMMON_ARGUMENTS | {"value_set"},
    "expect_column_values_to_be_between": _COMMON_ARGUMENTS
    | {"min_value", "max_value", "strict_min", "strict_max"},
    "expect_column_values_to_not_be_null": _COMMON_ARGUMENTS,
    "expect_column_values_to_be_unique": _COMMON_ARGUMENTS,
}
ROW_EXPECTATION_TYPES: frozenset[str] = frozenset(ROW_EXPECTATION_ARGUMENTS)


def check_row_arguments(expectation_type: str, kwargs: Mapping[str, Any], *, source: str) -> None:
    """Refuse an argument of a row-level expectation that the quarantine would not apply."""
    allowed = ROW_EXPECTATION_ARGUMENTS.get(expectation_type)
    if allowed is None:
        return
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ValueError(
            f"load_suites: {expectation_type!r} on column {kwargs.get('column')!r} of {source} "
            f"has argument(s) {unknown} that trustshift cannot apply when it picks the rows to "
            f"quarantine; found {sorted(kwargs)}. Use only {sorted(allowed)}, or express the "
            "rule with those arguments."
        )
    condition = kwargs.get("row_condition")
    if condition is not None and not (
        isinstance(condition, Mapping) and condition.get("type") == "comparison"
    ):
        raise ValueError(
            f"load_suites: {expectation_type!r} on column {kwargs.get('column')!r} of {source} "
            f"has a row_condition of type {type(condition).__name__!r}; the quarantine applies "
            "only GX's comparison conditions (a mapping with type 'comparison'). Rewrite the "
            "condition as one."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Failing:
    """The rows failing one expectation, with GX's own unexpected count and percent.

    ``tolerated`` is True when the expectation passes despite its failing rows (its share of
    conforming rows reaches ``mostly``, as in GX): those rows are then not quarantined.
    """

    mask: np.ndarray
    reasons: np.ndarray
    unexpected_count: int
    unexpected_percent: float
    tolerated: bool = False


def _condition_mask(frame: pd.DataFrame, condition: Any) -> pd.Series:
    """Rows a GX row_condition keeps (comparison conditions of the GX parser)."""
    if condition is None:
        return pd.Series(True, index=frame.index)
    if hasattr(condition, "dict"):
        condition = condition.dict()
    if not isinstance(condition, Mapping) or condition.get("type") != "comparison":
        raise ValueError(
            f"validate_wave: row_condition {condition!r} is not supported for a row-level "
            "check; use a comparison condition (NOT_IN, IN, ==, !=, <, <=, >, >=) or give the "
            "expectation meta.severity 'warning'."
        )
    column = frame[condition["column"]["name"]]
    operator = str(condition["operator"])
    parameter = condition["parameter"]
    operations = {
        "IN": lambda: column.isin(parameter),
        "NOT_IN": lambda: ~column.isin(parameter),
        "==": lambda: column == parameter,
        "!=": lambda: column != parameter,
        "<": lambda: column < parameter,
        "<=": lambda: column <= parameter,
        ">": lambda: column > parameter,
        ">=": lambda: column >= parameter,
    }
    if operator not in operations:
        raise ValueError(
            f"validate_wave: row_condition operator {operator!r} is not supported; use one of "
            f"{sorted(operations)}."
        )
    return operations[operator]().fillna(False).astype(bool)


def _percent(count: int, denominator: int) -> float:
    return 100.0 * count / denominator if denominator else 0.0


def _tolerated(kwargs: Mapping[str, Any], count: int, denominator: int) -> bool:
    """GX's rule for ``mostly``: the share of conforming values among those checked."""
    mostly = kwargs.get("mostly")
    if mostly is None or count == 0:
        return count == 0
    if denominator == 0:
        return True
    return (denominator - count) / denominator >= float(mostly)


def failing_rows(
    frame: pd.DataFrame,
    expectation_type: str,
    kwargs: Mapping[str, Any],
    *,
    reasons: Mapping[str, pd.Series] | None = None,
    missing_codes: Sequence[float] = (),
) -> Failing:
    """The rows of ``frame`` failing one column-map expectation, and why.

    ``reasons`` gives prepared texts for derived flag columns (indexed like ``frame``);
    ``missing_codes`` are set aside like missing values (see suites.MISSING_CODES_META).
    """
    if expectation_type not in ROW_EXPECTATION_TYPES:
        raise ValueError(
            f"validate_wave: expectation type {expectation_type!r} cannot quarantine rows; "
            f"row-level checks use {sorted(ROW_EXPECTATION_TYPES)}. Give it meta.severity "
            "'warning' or 'structural'."
        )
    column_name = kwargs["column"]
    column = frame[column_name]
    kept = _condition_mask(frame, kwargs.get("row_condition"))
    if missing_codes:
        kept &= ~column.isin(list(missing_codes))
    present = column.notna() & kept
    denominator = int(present.sum())
    prepared = (reasons or {}).get(column_name)
    if expectation_type == "expect_column_values_to_not_be_null":
        mask = (column.isna() & kept).to_numpy(dtype=bool)
        count = int(mask.sum())
        texts = np.full(count, f"{column_name} is missing", dtype=object)
        return Failing(
            mask=mask,
            reasons=texts,
            unexpected_count=count,
            unexpected_percent=_percent(count, int(kept.sum())),
            tolerated=_tolerated(kwargs, count, int(kept.sum())),
        )
    if expectation_type == "expect_column_values_to_be_unique":
        values = column.where(present)
        repeated_any = values.duplicated(keep=False) & present
        mask = (values.duplicated(keep="first") & present).to_numpy(dtype=bool)
        count = int(repeated_any.sum())
        first = (
            frame.loc[present, "row_number"].groupby(values[present], sort=False).transform("first")
        )
        texts = np.array(
            [f"{column_name} repeated (first in row {int(row)})" for row in first[mask[present]]]
            if mask.any()
            else [],
            dtype=object,
        )
        return Failing(
            mask=mask,
            reasons=texts,
            unexpected_count=count,
            unexpected_percent=_percent(count, denominator),
            tolerated=_tolerated(kwargs, count, denominator),
        )
    if expectation_type == "expect_column_values_to_be_in_set":
        outside = ~column.isin(list(kwargs["value_set"]))
    else:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        outside = pd.Series(False, index=frame.index)
        if low is not None:
            below = column <= low if kwargs.get("strict_min") else column < low
            outside |= below.fillna(False).astype(bool)
        if high is not None:
            above = column >= high if kwargs.get("strict_max") else column > high
            outside |= above.fillna(False).astype(bool)
    mask = (outside & present).to_numpy(dtype=bool)
    count = int(mask.sum())
    if prepared is not None and count:
        texts = (
            prepared.reindex(frame.index[mask])
            .fillna(f"{column_name} flagged")
            .to_numpy(dtype=object)
        )
    else:
        texts = np.array(
            [f"{column_name} = {_format(value)}" for value in column.to_numpy()[mask]],
            dtype=object,
        )
    return Failing(
        mask=mask,
        reasons=texts,
        unexpected_count=count,
        unexpected_percent=_percent(count, denominator),
        tolerated=_tolerated(kwargs, count, denominator),
    )


def _format(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return repr(value) if isinstance(value, str) else str(value)
