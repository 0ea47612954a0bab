"""Order, label and select the estimated effects the report shows."""

from __future__ import annotations

import pandas as pd

from flows.report.suppression import passes


def effects_frame(estimates: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """The estimates labelled from the outcome catalogue: primary outcomes first, then by family."""
    if estimates.empty:
        return estimates
    described = catalogue.set_index("outcome")
    labels = {
        str(name): (str(row.label) if row.kind != "item" else str(name).replace("_", " "))
        for name, row in described.iterrows()
    }
    frame = estimates.copy()
    frame["label"] = frame["outcome"].map(labels).fillna(frame["outcome"])
    frame["primary_order"] = (~frame["is_primary"].astype(bool)).astype(int)
    frame["order"] = range(len(frame))
    return frame.sort_values(["primary_order", "family", "order"])


def forest_rows(effects: pd.DataFrame, minimum: int, wave: str | None = None) -> pd.DataFrame:
    """Publishable rows of the main estimator at ``wave`` (default: the latest that has any)."""
    if effects.empty:
        return effects
    publishable = effects[passes(effects, ["n_smallest_cell"], minimum)]
    if publishable.empty:
        return publishable
    main_estimator = str(effects["estimator"].iloc[0])
    waves = publishable.loc[publishable["estimator"] == main_estimator, "wave"]
    chosen = wave if wave in set(waves) else waves.iloc[-1]
    main = publishable[
        (publishable["estimator"] == main_estimator) & (publishable["wave"] == chosen)
    ]
    main = main.dropna(subset=["standardized_effect", "conf_low", "conf_high", "estimate"])
    scale = main["standardized_effect"] / main["estimate"]
    main = main.assign(
        standardized_low=main["conf_low"] * scale,
        standardized_high=main["conf_high"] * scale,
    )
    return main.dropna(subset=["standardized_low", "standardized_high"])


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
