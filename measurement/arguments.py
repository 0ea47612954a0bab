"""Argument checks shared by the descriptive and testing functions of :mod:`measurement`.

Third-party libraries (pingouin in particular) check their arguments with ``assert``; every
public function here validates its inputs with these checks *before* calling them, so that a
caller gets a ``ValueError``/``TypeError`` in the house wording instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

__all__ = ["check_columns", "check_confidence", "check_names", "check_responses"]


def check_responses(responses: object, *, caller: str) -> pd.DataFrame:
    """Return ``responses`` if it is a DataFrame, else raise ``TypeError``."""
    if not isinstance(responses, pd.DataFrame):
        raise TypeError(
            f"{caller}: responses must be a pandas DataFrame; got {type(responses).__name__}. "
            "Pass the respondent-by-wave frame."
        )
    return responses


def check_names(names: object, *, what: str, caller: str, minimum: int = 1) -> list[str]:
    """Return ``names`` as a list of distinct strings with at least ``minimum`` entries."""
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise TypeError(
            f"{caller}: {what} must be a list of column names; got {names!r}. "
            f"Pass for example [{names!r}]."
        )
    listed = list(names)
    if not all(isinstance(name, str) for name in listed):
        raise TypeError(f"{caller}: {what} must hold strings; got {listed!r}. Pass column names.")
    if len(listed) < minimum:
        raise ValueError(
            f"{caller}: {what} needs at least {minimum} name(s); got {listed!r}. Pass more columns."
        )
    duplicated = sorted({name for name in listed if listed.count(name) > 1})
    if duplicated:
        raise ValueError(f"{caller}: {what} names {duplicated!r} twice. Pass each column once.")
    return listed


def check_columns(
    responses: pd.DataFrame,
    columns: Sequence[str | None],
    *,
    caller: str,
    numeric: Sequence[str] = (),
) -> None:
    """Raise ``ValueError`` for absent columns and ``TypeError`` for non-numeric ones."""
    wanted = [name for name in dict.fromkeys(columns) if name is not None]
    missing = [name for name in wanted if name not in responses.columns]
    if missing:
        raise ValueError(
            f"{caller}: columns {missing!r} are not in responses; found "
            f"{list(responses.columns)[:20]!r}. Pass existing column names."
        )
    for name in dict.fromkeys(numeric):
        column = responses[name]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            raise TypeError(
                f"{caller}: column {name!r} must be numeric; found dtype {column.dtype}. "
                "Code it as numbers."
            )


def check_confidence(confidence: float, *, caller: str) -> float:
    """Return ``confidence`` if it lies strictly between 0 and 1, else raise ``ValueError``."""
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise TypeError(
            f"{caller}: confidence must be a number; got {confidence!r}. Pass for example 0.95."
        )
    if not 0 < confidence < 1:
        raise ValueError(
            f"{caller}: confidence must lie strictly between 0 and 1; got {confidence!r}. "
            "Pass for example 0.95."
        )
    return float(confidence)
