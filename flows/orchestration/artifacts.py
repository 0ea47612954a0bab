"""Prefect artifacts of a run: a markdown summary, a table of estimates, a link to the report.

The builders are plain functions (tested without Prefect); only ``publish_*`` talk to the API.
Artifacts never carry identifying data, and any count below the study's minimum cell size is
shown as ``<minimum`` with the numbers computed from it left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

# Columns of the estimates table artifact (those present are kept).
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "waves_compared",
    "estimator",
    "term",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "p_value",
    "p_value_wild_bootstrap",
    "q_value",
    "standardized_effect",
    "n_obs",
    "n_clusters",
)
# Count columns that make a row a "cell": below the minimum, the row's numbers are withheld.
COUNT_COLUMNS: tuple[str, ...] = ("n_obs", "n_smallest_cell", "n", "rows_stored")
# Counts of groups, not of people: never masked.
_GROUP_COUNTS = ("n_clusters",)

_KEY_PATTERN = re.compile(r"[^a-z0-9-]+")


def artifact_key(*parts: str) -> str:
    """An artifact key Prefect accepts: lowercase letters, digits and dashes only."""
    joined = "-".join(parts).lower().replace("_", "-")
    key = _KEY_PATTERN.sub("-", joined).strip("-")
    return re.sub(r"-{2,}", "-", key)


_COUNTED_PEOPLE = re.compile(
    r"\b(\d+)(\s+(?:complete\s+|clean\s+|other\s+)?"
    r"(?:rows?|row\(s\)|interviews?|interview\(s\)|respondents?|respondent\(s\)|"
    r"answers?|people|persons?|submissions?)\b)"
)


def mask_small_counts(text: str, minimum: int) -> str:
    """Messages bound for logs and artifacts with counts of people (``3 rows``, ``8
    interviews``) under the minimum written ``<minimum``; row numbers and values stay."""

    def replace(match: re.Match[str]) -> str:
        return masked_count(int(match.group(1)), minimum) + match.group(2)

    return _COUNTED_PEOPLE.sub(replace, text)


def masked_count(count: int | float | None, minimum: int) -> str:
    """A count as text, or ``<minimum`` when it is a cell smaller than the minimum."""
    if count is None or count is pd.NA or (isinstance(count, float) and math.isnan(count)):
        return ""
    value = int(count)
    if 0 < value < minimum:
        return f"<{minimum}"
    return str(value)


def small_cells(
    frame: pd.DataFrame, *, minimum: int, count_columns: Sequence[str] = COUNT_COLUMNS
) -> pd.Series:
    """True for rows with a count of people above zero and below the minimum."""
    present = [column for column in count_columns if column in frame.columns]
    if not present:
        return pd.Series(False, index=frame.index)
    counts = frame[present].apply(pd.to_numeric, errors="coerce")
    return ((counts > 0) & (counts < minimum)).any(axis=1)


def suppress_small_cells(
    frame: pd.DataFrame,
    *,
    minimum: int,
    count_columns: Sequence[str] = COUNT_COLUMNS,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ``columns`` of the frame with small cells withheld.

    A row with a count below the minimum keeps its labels (text columns); its other numbers
    are blanked and its counts shown as ``<minimum``.
    """
    shown_columns = list(columns) if columns is not None else list(frame.columns)
    small = small_cells(frame, minimum=minimum, count_columns=count_columns)
    shown = frame[shown_columns].astype(object).copy()
    if frame.empty:
        return shown
    counts = [column for column in count_columns if column in shown_columns]
    numeric = [
        column
        for column in shown_columns
        if pd.api.types.is_numeric_dtype(frame[column])
        and column not in counts
        and column not in _GROUP_COUNTS
    ]
    shown.loc[small, numeric] = None
    for column in counts:
        shown[column] = [
            masked_count(value, minimum) for value in pd.to_numeric(frame[column], errors="coerce")
        ]
    return shown


def _cell(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value).replace("|", "\\|")


def markdown_table(
    rows: Iterable[Mapping[Any, Any]], columns: Sequence[str], digits: int = 3
) -> str:
    """A GitHub-flavoured markdown table of the given columns."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(column), digits) for column in columns) + " |")
    return "\n".join(lines)


def estimates_table(estimates: pd.DataFrame, *, minimum: int) -> list[dict[str, Any]]:
    """The estimates as table-artifact records: broom columns, small cells withheld."""
    columns = [column for column in ESTIMATE_COLUMNS if column in estimates.columns]
    shown = suppress_small_cells(estimates, minimum=minimum, columns=columns)
    records: list[dict[str, Any]] = []
    for row in shown.to_dict("records"):
        records.append(
            {
                str(key): (None if value is pd.NA or _is_nan(value) else value)
                for key, value in row.items()
            }
        )
    return records


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def summary_markdown(
    *,
    title: str,
    run_id: str,
    minimum: int,
    files: pd.DataFrame,
    quality: pd.DataFrame | None = None,
    primary_estimates: pd.DataFrame | None = None,
    report: Path | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The run summary: files taken in, data quality per wave, the primary estimates.

    ``files`` holds file_name, wave, status and rows_stored; ``quality`` one row per wave and
    check family (wave, check, failed rows...); ``primary_estimates`` broom columns.
    """
    parts = [f"# {title}", "", f"Run `{run_id}`."]
    parts += ["", "## Files", ""]
    if files.empty:
        parts.append("No new file in the inbox.")
    else:
        shown = suppress_small_cells(files, minimum=minimum)
        parts.append(
            markdown_table(
                shown.to_dict("records"),
                [c for c in ("file_name", "wave", "status", "rows_stored") if c in shown.columns],
            )
        )
    parts += ["", "## Data quality", ""]
    if quality is None or quality.empty:
        parts.append("No validation result for this run.")
    else:
        counts = [column for column in quality.columns if column.startswith(("n_", "rows_"))]
        shown = suppress_small_cells(quality, minimum=minimum, count_columns=counts)
        parts.append(markdown_table(shown.to_dict("records"), list(shown.columns)))
    parts += ["", "## Primary estimates", ""]
    if primary_estimates is None or primary_estimates.empty:
        parts.append("No estimates in this run (two or more stored waves are needed).")
    else:
        records = estimates_table(primary_estimates, minimum=minimum)
        parts.append(markdown_table(records, list(records[0]) if records else []))
    if report is not None:
        parts += ["", f"Report: `{report}`"]
    if notes:
        parts += ["", "## Notes", "", *(f"- {note}" for note in notes)]
    parts.append("")
    return "\n".join(parts)


def publish_summary(study_id: str, markdown: str) -> None:
    """The markdown summary artifact, key ``<study>-summary``."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        markdown=markdown,
        key=artifact_key(study_id, "summary"),
        description=f"What the latest run of study {study_id!r} took in and found.",
    )


def publish_estimates(study_id: str, records: list[dict[str, Any]]) -> None:
    """The table artifact of estimates, key ``<study>-estimates``."""
    from prefect.artifacts import create_table_artifact

    create_table_artifact(
        table=records,
        key=artifact_key(study_id, "estimates"),
        description=f"Estimates of study {study_id!r}; cells under the minimum withheld.",
    )


def publish_report_link(study_id: str, report: Path) -> None:
    """The link artifact to the report, key ``<study>-report``."""
    from prefect.artifacts import create_link_artifact

    create_link_artifact(
        link=report.resolve().as_uri(),
        link_text=report.name,
        key=artifact_key(study_id, "report"),
        description=f"The HTML report of study {study_id!r}.",
    )
