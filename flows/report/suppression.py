"""The minimum cell rule: no published cell describes fewer respondents than the study's minimum.

A table row is one cell (a wave-by-arm group, an arm at baseline, an estimate's arms). Its size
is the smallest of its count columns. A row under the minimum keeps its labels and loses every
number; a count column of another row that is under the minimum but above zero shows as
"<minimum". Plots draw only rows that pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

SUPPRESSED = "suppressed"
NOT_ESTIMABLE = "not estimable"

WAVE_COLUMNS = frozenset({"wave", "wave_after", "waves_compared"})
"""Columns holding wave names."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One displayed column: the source column, its header and how to show a value."""

    name: str
    header: str
    # text; count (of respondents: under the minimum shows "<minimum"); integer (of anything
    # else: communities, items); number; share; p_value; estimate; interval ("low|high").
    kind: str = "number"

    def show(self, value: object, row: pd.Series, minimum: int) -> str:
        """The text of one cell."""
        if self.kind == "interval":
            low, high = (row.get(part) for part in self.name.split("|"))
            if _missing(low) or _missing(high):
                return "–"
            return f"[{_fixed(float(low))}, {_fixed(float(high))}]"  # type: ignore[arg-type]
        if _missing(value):
            return "–"
        if self.kind == "text":
            # wave names are the study's identifiers: read as words (follow_up: "follow up")
            return str(value).replace("_", " ") if self.name in WAVE_COLUMNS else str(value)
        number = float(value)  # type: ignore[arg-type]
        if self.kind == "count":
            if 0 < number < minimum:
                return f"<{minimum}"
            return f"{int(number):,}"
        if self.kind == "integer":
            return f"{int(number):,}"
        if self.kind == "share":
            return f"{100 * number:.0f}%"
        if self.kind == "p_value":
            return "<0.001" if number < 0.001 else f"{number:.3f}"
        if self.kind == "estimate":
            return _fixed(number)
        return f"{number:.2f}"


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def _fixed(number: float) -> str:
    if not math.isfinite(number):
        return "–"
    if abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:.3f}" if abs(number) < 1 else f"{number:.2f}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DisplayTable:
    """A table ready for the template: headers, rows of text, each row's cell size."""

    headers: list[str]
    kinds: list[str]
    rows: list[list[str]]
    sizes: list[int | None]
    suppressed: list[bool]
    minimum: int
    not_estimable: list[bool] = field(default_factory=list)

    @property
    def n_suppressed(self) -> int:
        """Rows withheld for describing fewer respondents than the minimum."""
        unknown = self.not_estimable or [False] * len(self.suppressed)
        return sum(
            hidden and not none for hidden, none in zip(self.suppressed, unknown, strict=True)
        )

    @property
    def n_not_estimable(self) -> int:
        """Rows without any count: nothing could be estimated for them (no data, no baseline)."""
        return sum(self.not_estimable)

    @property
    def empty(self) -> bool:
        return not self.rows


def cell_size(row: pd.Series, size_columns: Sequence[str]) -> int | None:
    """The smallest count of a row among its size columns (None when it has none)."""
    values = [row[name] for name in size_columns if name in row and not _missing(row[name])]
    return int(min(float(value) for value in values)) if values else None


def passes(frame: pd.DataFrame, size_columns: Sequence[str], minimum: int) -> pd.Series:
    """Which rows may be published: every size column at least the minimum.

    A row with a missing size is withheld: an unknown cell size cannot be shown to pass.
    """
    if frame.empty:
        return pd.Series(dtype=bool)
    keep = pd.Series(True, index=frame.index)
    for name in size_columns:
        values = pd.to_numeric(frame[name], errors="coerce")
        keep &= values.notna() & (values >= minimum)
    return keep


def display_table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    size_columns: Sequence[str],
    minimum: int,
    label_columns: int = 1,
    row_filter: Callable[[pd.Series], bool] | None = None,
    counts_only: bool = False,
) -> DisplayTable:
    """Format ``frame`` for the report, withholding the numbers of rows under the minimum.

    The first ``label_columns`` displayed columns are labels and stay visible; the others of a
    suppressed row read "suppressed". With ``counts_only`` (tables that count interviews, not
    answers: data quality) no row is withheld and a count under the minimum reads "<minimum".
    """
    if not size_columns:
        raise ValueError(
            "display_table: size_columns is empty; got []. Name the count columns that give "
            "each row's number of respondents so that the minimum cell rule can be applied."
        )
    keep = passes(frame, size_columns, minimum)
    if counts_only:
        keep = pd.Series(True, index=frame.index)
    rows, sizes, suppressed, unknown = [], [], [], []
    for position_of_row, (_, row) in enumerate(frame.iterrows()):
        if row_filter is not None and not row_filter(row):
            continue
        allowed = bool(keep.iloc[position_of_row])
        # No count and no value: not a small cell but a row nothing could be estimated for.
        none = (
            not allowed
            and cell_size(row, size_columns) is None
            and all(
                _missing(row.get(column.name))
                for column in columns[label_columns:]
                if "|" not in column.name and column.kind in ("estimate", "p_value")
            )
            and any(column.kind == "estimate" for column in columns[label_columns:])
        )
        cells = []
        for position, column in enumerate(columns):
            if position < label_columns or allowed:
                value = row.get(column.name)
                cells.append(column.show(value, row, minimum))
            else:
                cells.append(NOT_ESTIMABLE if none else SUPPRESSED)
        rows.append(cells)
        size = cell_size(row, size_columns) if allowed else None
        sizes.append(None if size is not None and 0 < size < minimum else size)
        suppressed.append(not allowed)
        unknown.append(none)
    return DisplayTable(
        headers=[column.header for column in columns],
        kinds=[column.kind for column in columns],
        rows=rows,
        sizes=sizes,
        suppressed=suppressed,
        minimum=minimum,
        not_estimable=unknown,
    )
