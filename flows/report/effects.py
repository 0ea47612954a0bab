"""Order, label and select the estimated effects the report shows."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from flows.report.suppression import passes


def effects_frame(estimates: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """The estimates labelled from the outcome catalogue (its one label per outcome, and the
    unit of its effect): primary outcomes first, then by family."""
    if estimates.empty:
        return estimates
    described = catalogue.drop_duplicates("outcome").set_index("outcome")
    frame = estimates.copy()
    frame["label"] = frame["outcome"].map(described["label"]).fillna(frame["outcome"])
    units = described["unit"] if "unit" in described.columns else pd.Series(dtype=object)
    frame["unit"] = frame["outcome"].map(units).fillna("")
    frame["family_label"] = frame["family"].astype(str).str.replace("_", " ")
    frame["primary_order"] = (~frame["is_primary"].astype(bool)).astype(int)
    frame["order"] = range(len(frame))
    return frame.sort_values(["primary_order", "family", "order"])


def main_rows(
    effects: pd.DataFrame, minimum: int, wave: str | None = None, waves: Sequence[str] = ()
) -> pd.DataFrame:
    """Publishable rows of the pre-specified main estimator (the estimates'
    ``is_main_estimator``) at ``wave``, else at the latest of ``waves`` that has any."""
    if effects.empty or "is_main_estimator" not in effects.columns:
        return effects.iloc[0:0]
    main = effects[effects["is_main_estimator"].fillna(False).astype(bool)]
    main = main[passes(main, ["n_smallest_cell"], minimum)]
    if main.empty:
        return main
    present = set(main["wave"])
    ordered = [name for name in waves if name in present] or list(dict.fromkeys(main["wave"]))
    chosen = wave if wave in present else ordered[-1]
    return main[main["wave"] == chosen]


def forest_rows(main: pd.DataFrame) -> pd.DataFrame:
    """The rows the forest plot draws: main rows with a standardized effect and interval
    (the estimates' ``conf_low_standardized``/``conf_high_standardized``, under the names
    the plot reads)."""
    if main.empty:
        return main.assign(standardized_low=[], standardized_high=[])
    drawn = main.dropna(
        subset=["standardized_effect", "conf_low_standardized", "conf_high_standardized"]
    )
    return drawn.assign(
        standardized_low=drawn["conf_low_standardized"],
        standardized_high=drawn["conf_high_standardized"],
        family=drawn["family_label"],
    )


def numbered_warnings(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Replace each row's warnings by note numbers; return the notes, each written once.

    The same caveat (attrition, few clusters) often applies to every row of a table: as a
    numbered note under the table it is read once and keeps the table's rows short.
    """
    notes: list[str] = []
    markers = []
    for text in rows.get("warnings", pd.Series(index=rows.index, dtype=object)).fillna(""):
        numbers = []
        for part in (piece.strip() for piece in str(text).split("; ")):
            if not part:
                continue
            if part not in notes:
                notes.append(part)
            numbers.append(str(notes.index(part) + 1))
        markers.append(", ".join(numbers))
    return rows.assign(notes_marker=markers), notes
