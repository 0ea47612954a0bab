"""Pandas masks for suite expectations: the failing rows of each check, evaluated once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# Expectation types whose failing rows trustshift computes itself (GX's COMPLETE mode with
# index lists is too slow on large waves; see FIELD_NOTES GX 2).
ROW_EXPECTATION_TYPES: frozenset[str] = frozenset(
    {
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Failing:
    """The rows failing one expectation, with GX's own unexpected count and percent."""

    mask: np.ndarray
    reasons: np.ndarray
    unexpected_count: int
    unexpected_percent: float


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
        )
    if expectation_type == "expect_column_values_to_be_in_set":
        outside = ~column.isin(list(kwargs["value_set"]))
    else:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        outside = pd.Series(False, index=frame.index)
        if low is not None:
            outside |= (column < low).fillna(False).astype(bool)
        if high is not None:
            outside |= (column > high).fillna(False).astype(bool)
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
    )


def _format(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return repr(value) if isinstance(value, str) else str(value)
