"""Turn one raw column into numeric codes: numbers, answer labels, file value labels."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flows.errors import IngestError

# Text that means "no value" in exports whose cells are read as text.
BLANK_TEXT = frozenset({"", "nan", "NaN", "null", "NULL", "None", "."})
INTEGER_TEXT = re.compile(r"^(-?\d+)\.0+$")
SHOWN_LABELS = 16
# What a spreadsheet writes in a cell whose formula failed; never an answer.
EXCEL_ERRORS = frozenset(
    {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!", "#CALC!"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """Where a value sits, for error messages: the file, the raw column and what it feeds."""

    file: str
    column: str
    target: str
    rows: np.ndarray  # 1-based data-row numbers of the frame being coded

    @property
    def described(self) -> str:
        if self.target and self.target != self.column:
            return f"column {self.column!r} ({self.target}) in {self.file}"
        return f"column {self.column!r} in {self.file}"

    def first_rows(self, mask: np.ndarray) -> tuple[int, int]:
        """How many rows the mask marks and the number of the first."""
        positions = np.flatnonzero(mask)
        return len(positions), int(self.rows[positions[0]])


# What a message may quote of a cell: a short number, or a lowercase code-like word.
_SHOWN_NUMBER = re.compile(r"^[-+]?[0-9][0-9.,]{0,5}$")
_SHOWN_CODE = re.compile(r"^[a-z][a-z0-9_\-]{0,23}$")


def shown_value(value: object) -> str:
    """A cell's value for a message, quoted only when it cannot be free text.

    Messages reach logs, captured output and the Prefect database; a shifted column puts
    names, phone numbers or GPS points where codes belong. A short number (at most 6
    characters) or a lowercase code-like word (``control``, ``midline``) is quoted; anything
    else (a capitalised or spaced text, a long number) is described by its length only.
    """
    text = str(value).strip()
    if isinstance(value, float) and float(value).is_integer():
        text = str(int(value))
    if _SHOWN_NUMBER.fullmatch(text) or _SHOWN_CODE.fullmatch(text):
        return repr(text)
    if re.fullmatch(r"[-+]?[0-9][0-9.,eE+\-]*", text):
        return f"a number of {len(text)} characters"
    return f"a text value of {len(text)} character(s)"


def label_key(text: object) -> str:
    """Case-, width-, apostrophe- and space-insensitive form of an answer label."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    folded = folded.replace("’", "'").replace("‘", "'").replace("`", "'")
    return " ".join(folded.split())


def show_number(value: float) -> str:
    """A code as people write it: 7, not 7.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def text_of(series: pd.Series) -> pd.Series:
    """The column as stripped text, blank cells as empty strings; 12.0 written as 12."""
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(object)
    text = series.astype(str).fillna("").str.strip()
    # Excel and SPSS write whole numbers as 12.0; pyarrow has no back-references, so the
    # suffix is cut only where the whole value is such a number.
    whole = text.str.fullmatch(INTEGER_TEXT.pattern)
    if whole.any():
        text = text.where(~whole, text.str.replace(r"\.0+$", "", regex=True))
    return text


def file_recoding(
    file_labels: Mapping[Any, str] | None, labels: Mapping[str, float]
) -> dict[float, float]:
    """File code -> instrument code, where the file's value label names another code."""
    recode: dict[float, float] = {}
    for code, label in (file_labels or {}).items():
        target = labels.get(label_key(label))
        number = _as_number(code)
        if target is not None and number is not None and number != target:
            recode[number] = target
    return recode


def _as_number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def _recode(values: np.ndarray, recode: Mapping[float, float]) -> np.ndarray:
    if not recode:
        return values
    result = values.copy()
    for source, target in recode.items():
        result[values == source] = target
    return result


def codes_from(
    series: pd.Series,
    *,
    labels: Mapping[str, float],
    file_labels: Mapping[Any, str] | None,
    place: Place,
    describe_expected: str,
    fix: str = "Write codes or these labels in the export, or declare the label in the instrument.",
) -> np.ndarray:
    """Float codes of a column: numbers kept, labels looked up; unknown text raises."""
    recode = file_recoding(file_labels, labels)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        _reject_non_finite(values, np.arange(len(values)), place)
        return _recode(values, recode)
    # Survey columns hold few distinct values: convert each distinct value once.
    positions, uniques = pd.factorize(series, use_na_sentinel=True)
    text = text_of(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    numbers = np.array(
        pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    )
    _reject_excel_errors(text, positions, place)
    _reject_non_finite(numbers, positions, place)
    numbers = _recode(numbers, recode)
    # A blank marker is blank unless the instrument uses it as an answer label ("None").
    blank = text.isin(BLANK_TEXT).to_numpy() & ~text.map(
        lambda value: label_key(value) in labels
    ).to_numpy(dtype=bool)
    unresolved = np.isnan(numbers) & ~blank
    if unresolved.any():
        numbers[unresolved] = _from_labels(
            text[unresolved].tolist(),
            labels=labels,
            file_labels=file_labels,
            recode=recode,
            unknown_at=lambda value: positions == uniques_index(text, value),
            place=place,
            message=f"{describe_expected}. {fix}",
        )
    return np.append(numbers, np.nan)[positions]


def _reject_excel_errors(text: pd.Series, positions: np.ndarray, place: Place) -> None:
    """Raise on a spreadsheet error value (#DIV/0!): the cell's formula failed."""
    errors = text.isin(EXCEL_ERRORS).to_numpy()
    if not errors.any():
        return
    first = int(np.flatnonzero(errors)[0])
    count, row = place.first_rows(np.isin(positions, np.flatnonzero(errors)))
    raise IngestError(
        f"code_wave: {place.described} holds the spreadsheet error {text.iloc[first]!r} in "
        f"{count} row(s) (first at row {row}); a formula failed, so the answer is unknown. "
        "Fix the formula in the workbook (or blank the cell) and export the wave again."
    )


def _reject_non_finite(numbers: np.ndarray, positions: np.ndarray, place: Place) -> None:
    """Raise on an infinite number: no answer or weight is infinite."""
    infinite = np.isinf(numbers)
    if not infinite.any():
        return
    count, row = place.first_rows(np.isin(positions, np.flatnonzero(infinite)))
    raise IngestError(
        f"code_wave: {place.described} holds an infinite number in {count} row(s) (first at "
        f"row {row}); an answer must be a finite number. Correct the export (an overflow or "
        "a division by zero in the spreadsheet) and export the wave again."
    )


def uniques_index(text: pd.Series, value: str) -> int:
    """Position of ``value`` among the distinct values."""
    return int(np.flatnonzero((text == value).to_numpy())[0])


def _from_labels(
    values: list[str],
    *,
    labels: Mapping[str, float],
    file_labels: Mapping[Any, str] | None,
    recode: Mapping[float, float],
    unknown_at: Callable[[str], np.ndarray],
    place: Place,
    message: str,
) -> np.ndarray:
    known = dict(labels)
    for code, label in (file_labels or {}).items():
        number = _as_number(code)
        value = recode.get(number, number) if number is not None else labels.get(label_key(label))
        if value is None:
            continue
        known.setdefault(label_key(label), value)
        known.setdefault(label_key(code), value)
    mapped = [known.get(label_key(value)) for value in values]
    unknown = [value for value, code in zip(values, mapped, strict=True) if code is None]
    if unknown:
        first = unknown[0]
        count, row = place.first_rows(unknown_at(first))
        others = f" (and {len(unknown) - 1} other unknown values)" if len(unknown) > 1 else ""
        raise IngestError(
            f"code_wave: {place.described} holds {shown_value(first)} in {count} row(s) (first "
            f"at row {row}){others}, which is neither a number nor a known answer label; "
            f"{message}"
        )
    return np.array(mapped, dtype="float64")


def describe_labels(labels: Mapping[str, str], specials: Iterable[tuple[float, str]]) -> str:
    """'the labels are ... and the missing codes ...' for an error message."""
    shown = [repr(label) for label in list(labels.values())[:SHOWN_LABELS]]
    if len(labels) > SHOWN_LABELS:
        shown.append("...")
    missing = [f"{show_number(code)} {label!r}" for code, label in specials]
    parts = []
    if shown:
        parts.append("the answer labels are " + ", ".join(shown))
    if missing:
        parts.append("the missing codes are " + ", ".join(missing))
    return "; ".join(parts) if parts else "it takes numbers only"
