"""Clean coded waves built by hand (the coded-wave contract), for validation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flows.study import Study


def clean_coded_wave(
    study: Study,
    *,
    wave: str,
    n_rows: int = 400,
    seed: int = 1,
    n_enumerators: int = 8,
    respondent_prefix: str = "R",
) -> pd.DataFrame:
    """A coded wave with no fault: answers in range, skip logic respected, dates in the window."""
    rng = np.random.default_rng(seed)
    instrument = study.resolved_instrument()
    settings = next(w for w in study.waves if w.name == wave)
    arm = study.columns.arm
    arms = np.array([*arm.treatment, *arm.comparison]) if arm is not None else np.array([])
    n_clusters = 20
    cluster = rng.integers(0, n_clusters, n_rows)
    frame = pd.DataFrame(
        {
            "row_number": np.arange(1, n_rows + 1),
            "respondent": pd.array([f"{respondent_prefix}{i:06d}" for i in range(n_rows)], "str"),
            "submission": pd.array([f"uuid-{wave}-{i:06d}" for i in range(n_rows)], "str"),
            "cluster": pd.array([f"community_{c:02d}" for c in cluster], "str"),
            "stratum": pd.array([f"region_{c % 2}" for c in cluster], "str"),
        }
    )
    if arm is not None:
        frame["arm"] = pd.array(arms[cluster % len(arms)], dtype="str")
        frame["treated"] = pd.array((frame["arm"].isin(arm.treatment)).astype(int), dtype="Int8")
    frame["wave"] = pd.array([wave] * n_rows, dtype="str")
    frame["weight"] = 1.0
    frame["enumerator"] = pd.array(
        [f"enumerator_{(c * 7 + i % 3) % n_enumerators:02d}" for i, c in enumerate(cluster)],
        dtype="str",
    )
    start_day = pd.Timestamp(settings.fieldwork_start)
    days = (pd.Timestamp(settings.fieldwork_end) - start_day).days
    start = start_day + pd.to_timedelta(rng.integers(0, days + 1, n_rows), unit="D")
    start = start + pd.to_timedelta(rng.integers(8 * 60, 16 * 60, n_rows), unit="min")
    minutes = np.clip(rng.normal(40, 7, n_rows), 22, None)
    frame["interview_start"] = start.to_numpy().astype("datetime64[ns]")
    frame["interview_end"] = (
        (start + pd.to_timedelta(minutes, unit="min")).to_numpy().astype("datetime64[ns]")
    )
    frame["consent"] = pd.array([1] * n_rows, dtype="Int8")
    for item in instrument.items:
        for column in item.stored_names():
            frame[column] = _answers(item.scale, item, rng, n_rows)
    # Skip logic of the intention cascade: no plan without a wish, no preparations without one.
    if {"wish_to_leave", "plan_12_months", "preparations_made"} <= set(frame.columns):
        plan = frame["plan_12_months"].where(frame["wish_to_leave"] == 1, -77.0)
        frame["plan_12_months"] = plan
        frame["preparations_made"] = frame["preparations_made"].where(plan == 1, -77.0)
        for column in [c for c in frame.columns if c.startswith("preparations__")]:
            frame[column] = frame[column].where(frame["preparations_made"] == 1, -77.0)
    if "age" in frame.columns:
        frame["age"] = rng.integers(18, 70, n_rows).astype("float64")
    return frame


def _answers(scale: str, item: object, rng: np.random.Generator, n: int) -> np.ndarray:
    if scale == "likert":
        low, high = int(item.minimum), int(item.maximum)  # type: ignore[attr-defined]
        return rng.integers(low, high + 1, n).astype("float64")
    if scale == "percentage":
        return rng.integers(0, 101, n).astype("float64")
    if scale in ("binary", "select_multiple"):
        return rng.integers(0, 2, n).astype("float64")
    if scale == "categorical":
        codes = np.array([float(code) for code in item.labels])  # type: ignore[attr-defined]
        return rng.choice(codes, n)
    if scale == "count":
        low = 0 if item.minimum is None else int(item.minimum)  # type: ignore[attr-defined]
        high = 10 if item.maximum is None else min(int(item.maximum), low + 10)  # type: ignore[attr-defined]
        return rng.integers(low, high + 1, n).astype("float64")
    return np.round(rng.lognormal(8, 1, n), 0)


def plant_faults(
    frame: pd.DataFrame, study: Study, *, per_fault: int = 5, seed: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Plant each fault in ``per_fault`` distinct rows; return the wave and the truth.

    The truth has one row per planted fault: row_number and the check expected to find it.
    """
    rng = np.random.default_rng(seed)
    frame = frame.copy()
    faults = [
        "speeder",
        "straightliner",
        "out_of_range",
        "missing_consent",
        "contradiction",
        "outside_fieldwork",
        "ineligible_age",
    ]
    chosen = rng.choice(len(frame), size=per_fault * (len(faults) + 1), replace=False)
    truth = []
    trust = [c for c in frame.columns if c.startswith("trust_")]
    wave = next(w for w in study.waves if w.name == frame["wave"].iloc[0])
    for k, fault in enumerate(faults):
        rows = frame.index[chosen[k * per_fault : (k + 1) * per_fault]]
        if fault == "speeder":
            frame.loc[rows, "interview_end"] = frame.loc[rows, "interview_start"] + pd.Timedelta(
                minutes=4
            )
        elif fault == "straightliner":
            frame.loc[rows, trust] = 4.0
        elif fault == "out_of_range":
            frame.loc[rows, "trust_eu"] = 7.0
        elif fault == "missing_consent":
            frame.loc[rows, "consent"] = 0
        elif fault == "contradiction":
            frame.loc[rows, "wish_to_leave"] = 0.0
            frame.loc[rows, "plan_12_months"] = 1.0
            frame.loc[rows, "preparations_made"] = 0.0
        elif fault == "outside_fieldwork":
            frame.loc[rows, "interview_start"] = pd.Timestamp(wave.fieldwork_end) + pd.Timedelta(
                days=3, hours=10
            )
            frame.loc[rows, "interview_end"] = frame.loc[rows, "interview_start"] + pd.Timedelta(
                minutes=45
            )
        elif fault == "ineligible_age":
            frame.loc[rows, "age"] = 16.0
        truth.extend({"row_number": int(r), "check": fault} for r in frame.loc[rows, "row_number"])
    # Duplicate submissions: copies of other rows, appended with a new submission id.
    originals = frame.loc[frame.index[chosen[-per_fault:]]].copy()
    originals["submission"] = [f"{s}-again" for s in originals["submission"]]
    originals["row_number"] = np.arange(len(frame) + 1, len(frame) + 1 + per_fault)
    frame = pd.concat([frame, originals], ignore_index=True)
    truth.extend(
        {"row_number": int(r), "check": "duplicate_submission"} for r in originals["row_number"]
    )
    return frame, pd.DataFrame(truth)
