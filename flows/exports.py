"""Files people open in a spreadsheet: small cells withheld, formulas neutralised.

Every CSV the pipeline writes for people (the estimates, the field team's re-check list)
goes through :func:`write_csv`: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return would run as a formula when the file is opened in a spreadsheet (CSV
injection), so it is prefixed with a single quote, as OWASP recommends. Numeric columns are
left alone: a negative estimate stays a number. Estimate exports (CSV and Parquet) apply the
report's minimum cell rule: a row whose smallest cell is under the study's minimum keeps its
labels and loses its numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SIZE_COLUMN = "n_smallest_cell"
SUPPRESSED_COLUMN = "suppressed"


def neutralise_text(value: object) -> object:
    """A text value that a spreadsheet would run as a formula, prefixed with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas."""
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            continue
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            continue
        safe[column] = values.map(neutralise_text).astype(values.dtype, errors="ignore")
    safe.columns = pd.Index([str(neutralise_text(str(name))) for name in safe.columns])
    return safe


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV with every formula-like text cell neutralised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # CRLF line ends (RFC 4180): the writer then also quotes a cell holding a lone carriage
    # return, which would otherwise end the record when a spreadsheet opens the file.
    neutralise_formulas(frame).to_csv(path, index=False, lineterminator="\r\n")
    return path


def withhold_small_cells(estimates: pd.DataFrame, minimum: int) -> pd.DataFrame:
    """Estimates with the numbers of rows whose smallest cell is under ``minimum`` removed.

    Such a row keeps its text columns (outcome, wave, estimator, term, specification) and
    ``suppressed`` is True; a row without a known cell size is withheld too. Tables without
    ``n_smallest_cell`` are returned with ``suppressed`` False.
    """
    published = estimates.copy()
    if SIZE_COLUMN not in published.columns:
        published[SUPPRESSED_COLUMN] = False
        return published
    sizes = pd.to_numeric(published[SIZE_COLUMN], errors="coerce")
    withheld = ~(sizes.notna() & (sizes >= minimum)).to_numpy()
    for column in published.columns:
        values = published[column]
        if pd.api.types.is_bool_dtype(values.dtype) and column == "is_primary":
            continue
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            numbers = values.astype("Float64") if values.dtype.kind in "iu" else values
            published[column] = numbers.mask(withheld)
    published[SUPPRESSED_COLUMN] = withheld.astype(bool)
    if not published.empty:
        published.loc[withheld, [c for c in ("warnings",) if c in published.columns]] = np.nan
    return published
