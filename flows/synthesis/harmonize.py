"""Read each study's estimates and put them on the shared outcomes and a common scale."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from scipy import stats

from flows.errors import StudyFileError
from flows.synthesis.file import MODERATORS, StudyEntry, Synthesis

ESTIMATOR_PREFERENCE: tuple[str, ...] = ("ancova", "did", "ipw")
"""The main estimator of a study: ANCOVA (panels), else difference-in-differences, else the
propensity-weighted effect of self-reported exposure. Robustness rows (ordered logit, on a
log-odds scale) are never pooled."""

HARMONIZED_COLUMNS = [
    "study",
    "outcome",
    "study_outcome",
    "wave",
    "estimator",
    "estimate",
    "std_error",
    "std_error_source",
    "raw_estimate",
    "raw_std_error",
    "n_obs",
    "n_clusters",
    *MODERATORS,
]
"""One row per pooled estimate: ``estimate`` and ``std_error`` are standardized (SD of the
comparison arm at baseline, as each study's ``standardized_effect``); ``std_error_source``
says which inference the standard error comes from."""

NEEDED = ("outcome", "estimator", "wave", "estimate", "std_error", "standardized_effect")


def read_estimates(path: Path) -> pd.DataFrame:
    """An exported estimates table (``estimates.csv`` or ``estimates.parquet``)."""
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path)
    raise StudyFileError(
        f"read_estimates: {path} is neither .csv nor .parquet. Export the estimates with "
        "`trustshift report` (it writes estimates.csv and estimates.parquet)."
    )


def _study_estimates(
    synthesis: Synthesis, entry: StudyEntry
) -> tuple[pd.DataFrame, str | None, str | None]:
    """The estimates table of one study, its primary wave and its assignment."""
    if entry.estimates is not None:
        return read_estimates(synthesis.located(entry.estimates)), entry.primary_wave, entry.design
    from flows.estimation import latest_run_id
    from flows.estimation.results import read_result
    from flows.study import load_study

    if entry.study is None:  # pragma: no cover - the file model requires one of the two
        raise StudyFileError(f"study {entry.id!r}: name its estimates or its study file.")
    study = load_study(synthesis.located(entry.study))
    frame = read_result(study, "estimates", latest_run_id(study))
    return (
        frame,
        entry.primary_wave or study.outcomes.primary_wave,
        entry.design or study.design.assignment,
    )


def _numeric(rows: pd.DataFrame, column: str) -> pd.Series:
    if column not in rows.columns:
        return pd.Series(math.nan, index=rows.index, dtype=float)
    return pd.to_numeric(rows[column], errors="coerce").astype(float)


def _primary_std_error(rows: pd.DataFrame, confidence: float) -> tuple[pd.Series, pd.Series]:
    """The standard error of each row's primary inference, and where it comes from.

    A ``std_error_primary`` column is used as it is; otherwise the width of the primary
    interval (``conf_low_primary``/``conf_high_primary``) over twice the t(G - 1) quantile
    (the reference of the pipeline's cluster-robust inference); otherwise the CR1 standard
    error.
    """
    source = pd.Series("cr1", index=rows.index, dtype=object)
    se = pd.to_numeric(rows["std_error"], errors="coerce")
    inference = (
        rows["primary_inference"].astype("string").fillna("")
        if "primary_inference" in rows
        else pd.Series("", index=rows.index, dtype="string")
    )
    if "std_error_primary" in rows:
        direct = pd.to_numeric(rows["std_error_primary"], errors="coerce")
        use = direct.notna() & (direct > 0)
        se = se.where(~use, direct)
        source = source.where(~use, "primary (" + inference + ")")
        return se, source
    if {"conf_low_primary", "conf_high_primary"} <= set(rows.columns):
        low = pd.to_numeric(rows["conf_low_primary"], errors="coerce")
        high = pd.to_numeric(rows["conf_high_primary"], errors="coerce")
        clusters = _numeric(rows, "n_clusters")
        df = (clusters - 1).where(clusters > 1)
        quantile = pd.Series(
            [
                float(stats.t.ppf(0.5 + confidence / 2, d))
                if isinstance(d, float) and math.isfinite(d)
                else float(stats.norm.ppf(0.5 + confidence / 2))
                for d in df.astype(float)
            ],
            index=rows.index,
        )
        implied = (high - low) / (2 * quantile)
        use = implied.notna() & (implied > 0) & (inference != "cr1")
        se = se.where(~use, implied)
        source = source.where(~use, "primary interval (" + inference + ")")
    return se, source


def harmonize_study(
    synthesis: Synthesis, entry: StudyEntry, vocabulary: set[str]
) -> tuple[pd.DataFrame, list[str]]:
    """One study's poolable estimates on the shared outcomes and scale; notes on what was
    left out."""
    frame, primary_wave, design = _study_estimates(synthesis, entry)
    notes: list[str] = []
    missing = [name for name in NEEDED if name not in frame.columns]
    if missing:
        raise StudyFileError(
            f"harmonize_study: the estimates of study {entry.id!r} lack columns {missing}. "
            "Pass the estimates table trustshift exports (estimates.csv or .parquet)."
        )
    if design == "pre_post":
        notes.append(
            f"{entry.id}: a pre/post study without a comparison group; its change over time "
            "is not an effect of the campaign and is not pooled."
        )
        return pd.DataFrame(columns=HARMONIZED_COLUMNS), notes
    mapping = {**{name: name for name in vocabulary}, **entry.outcomes}
    rows = frame[frame["estimator"].isin(ESTIMATOR_PREFERENCE)].copy()
    if rows.empty:
        notes.append(f"{entry.id}: no ANCOVA, DiD or IPW estimates; nothing pooled.")
        return pd.DataFrame(columns=HARMONIZED_COLUMNS), notes
    rank = {name: position for position, name in enumerate(ESTIMATOR_PREFERENCE)}
    main = min(rows["estimator"].unique(), key=lambda name: rank[str(name)])
    rows = rows[rows["estimator"] == main]
    waves = list(dict.fromkeys(rows["wave"].astype(str)))
    if not entry.all_waves:
        chosen = primary_wave if primary_wave in waves else waves[-1]
        rows = rows[rows["wave"].astype(str) == chosen]
    if "n_smallest_cell" in rows:
        cells = pd.to_numeric(rows["n_smallest_cell"], errors="coerce")
        small = cells.notna() & (cells < synthesis.minimum_cell_size)
        if small.any():
            notes.append(
                f"{entry.id}: {int(small.sum())} estimate(s) rest on an arm-by-wave cell "
                f"under {synthesis.minimum_cell_size} respondents and are left out."
            )
        rows = rows[~small]
    rows = rows[rows["outcome"].astype(str).map(mapping).notna()]
    estimate = pd.to_numeric(rows["estimate"], errors="coerce")
    standardized = pd.to_numeric(rows["standardized_effect"], errors="coerce")
    scale = (standardized / estimate).abs()
    se, source = _primary_std_error(rows, synthesis.confidence)
    usable = estimate.notna() & standardized.notna() & (estimate != 0) & se.notna() & (se > 0)
    if (~usable).any():
        notes.append(
            f"{entry.id}: {int((~usable).sum())} estimate(s) without a standardized effect or "
            "a standard error are left out."
        )
    out = pd.DataFrame(
        {
            "study": entry.id,
            "outcome": rows["outcome"].astype(str).map(mapping),
            "study_outcome": rows["outcome"].astype(str),
            "wave": rows["wave"].astype(str),
            "estimator": rows["estimator"].astype(str),
            "estimate": standardized,
            "std_error": se * scale,
            "std_error_source": source,
            "raw_estimate": estimate,
            "raw_std_error": se,
            "n_obs": _numeric(rows, "n_obs"),
            "n_clusters": _numeric(rows, "n_clusters"),
        }
    )[usable]
    for name in MODERATORS:
        value = design if name == "design" else getattr(entry, name)
        out[name] = value if value is not None else math.nan
    return out.reset_index(drop=True)[HARMONIZED_COLUMNS], notes


def harmonize(synthesis: Synthesis, vocabulary: set[str]) -> tuple[pd.DataFrame, list[str]]:
    """Every study's poolable estimates of the synthesis's outcomes, one frame."""
    parts, notes = [], []
    wanted = {outcome.name for outcome in synthesis.outcomes}
    for entry in synthesis.studies:
        part, study_notes = harmonize_study(synthesis, entry, vocabulary | wanted)
        parts.append(part[part["outcome"].isin(wanted)])
        notes.extend(study_notes)
    frames = [part for part in parts if not part.empty]
    if not frames:
        return pd.DataFrame(columns=HARMONIZED_COLUMNS), notes
    return pd.concat(frames, ignore_index=True), notes
