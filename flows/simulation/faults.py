"""Plant field faults in a simulated wave and record each planted row in the truth table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from flows.instrument import Instrument, Item
from flows.simulation.answers import SKIPS
from flows.simulation.population import uuid4_strings
from flows.simulation.settings import SimulationSettings
from flows.study import Study

# Columns of truth/faults.csv: one row per planted fault. `row_number` is the 1-based data
# row of the written wave file (as flows/reading numbers rows), `submission` the raw
# submission id and `respondent` the raw respondent id.
FAULT_COLUMNS: tuple[str, ...] = (
    "wave",
    "row_number",
    "submission",
    "respondent",
    "fault",
    "column",
    "detail",
)

# The share of items a fabricator varies between his otherwise identical interviews.
FABRICATION_VARIATION = 0.12


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultContext:
    """What fault planting needs to know about the study."""

    study: Study
    instrument: Instrument
    settings: SimulationSettings
    columns: dict[str, str]
    battery: list[str]
    enumerator_label: str | None


def trust_battery(study: Study, instrument: Instrument) -> list[str]:
    """The likert items of the first straight-lining battery (a construct domain or name)."""
    names = study.quality.straightlining_batteries
    if not names:
        return []
    domains = {c.name: c.domain for c in instrument.constructs}
    return [
        item.name
        for item in instrument.items
        if item.scale == "likert"
        and (domains[item.construct_name] == names[0] or item.construct_name == names[0])
    ]


def inject_faults(
    frame: pd.DataFrame, *, context: FaultContext, wave: str, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The wave with faults planted (duplicates appended at the end) and the truth table."""
    settings = context.settings
    columns = context.columns
    n = len(frame)
    records: list[dict[str, object]] = []
    typical = settings.typical_duration_minutes
    start = frame[columns["interview_start"]].to_numpy()

    def set_duration(rows: np.ndarray, minutes: np.ndarray) -> None:
        end = start[rows] + np.round(minutes * 60).astype("timedelta64[s]")
        frame.loc[rows, columns["interview_end"]] = end

    def record(rows: np.ndarray, fault: str, column: str, details: list[str]) -> None:
        for row, detail in zip(rows.tolist(), details, strict=True):
            records.append({"row": row, "fault": fault, "column": column, "detail": detail})

    fabricated = np.zeros(n, dtype=bool)
    if context.enumerator_label is not None:
        his = np.flatnonzero(frame[columns["enumerator"]].to_numpy() == context.enumerator_label)
        share = settings.fault_rate("fabricating_enumerator")
        chosen = np.sort(rng.permutation(his)[: round(share * len(his))])
        fabricated[chosen] = True
        _fabricate(frame, chosen, context, rng)
        # Short-ish, but longer than the speeder zone.
        set_duration(chosen, rng.uniform(0.375, 0.55, len(chosen)) * typical)
        record(
            chosen, "fabricated", columns["enumerator"],
            [f"enumerator {context.enumerator_label}"] * len(chosen),
        )  # fmt: skip

    blocks: dict[str, np.ndarray] = {}
    pool = rng.permutation(np.flatnonzero(~fabricated))
    taken = 0
    for fault in (
        "speeder",
        "straightliner",
        "out_of_range",
        "missing_consent",
        "duplicate_submission",
    ):
        count = min(round(settings.fault_rate(fault) * n), len(pool) - taken)
        blocks[fault] = np.sort(pool[taken : taken + count])
        taken += count

    _break_straight_lines(frame, context, rng, keep=blocks["straightliner"])

    rows = blocks["speeder"]
    minutes = rng.uniform(0.075, 0.2, len(rows)) * typical
    set_duration(rows, minutes)
    record(rows, "speeder", columns["interview_end"], [f"{m:.1f} minutes" for m in minutes])

    rows = blocks["straightliner"]
    if context.battery:
        low, high = context.instrument.item(context.battery[0]).bounds
        values = rng.integers(int(low or 1), int(high or 5) + 1, len(rows))
        for name in context.battery:
            frame.loc[rows, name] = values
        battery_name = context.study.quality.straightlining_batteries[0]
        record(
            rows, "straightliner", battery_name,
            [f"all {len(context.battery)} items = {v}" for v in values],
        )  # fmt: skip

    rows = blocks["out_of_range"]
    for row in rows.tolist():
        column, value = _out_of_range(frame, row, context, rng)
        frame.loc[row, column] = value
        record(np.array([row]), "out_of_range", column, [f"value {value}"])

    rows = blocks["missing_consent"]
    frame.loc[rows, columns["consent"]] = 0
    record(rows, "missing_consent", columns["consent"], ["consent 0 with answers"] * len(rows))

    frame, copies = _duplicate(frame, blocks["duplicate_submission"], context, rng)
    for _, copy, detail in copies:
        records.append(
            {"row": copy, "fault": "duplicate_submission", "column": "", "detail": detail}
        )

    truth = pd.DataFrame(records, columns=["row", "fault", "column", "detail"])
    truth = truth.sort_values(["row", "fault"], kind="stable").reset_index(drop=True)
    rows_index = truth["row"].to_numpy(dtype=int)
    faults = pd.DataFrame(
        {
            "wave": wave,
            "row_number": rows_index + 1,
            "submission": frame[columns["submission"]].to_numpy()[rows_index],
            "respondent": frame[columns["respondent"]].to_numpy()[rows_index],
            "fault": truth["fault"].to_numpy(),
            "column": truth["column"].to_numpy(),
            "detail": truth["detail"].to_numpy(),
        },
        columns=list(FAULT_COLUMNS),
    )
    return frame, faults


def _item_columns(instrument: Instrument) -> list[tuple[Item, str]]:
    return [(item, stored) for item in instrument.items for stored in item.stored_names()]


def _uniform_answers(
    item: Item, rng: np.random.Generator, size: int | tuple[int, ...]
) -> np.ndarray:
    """Answers a fabricator makes up: any valid code, picked without care."""
    low = item.bounds[0]
    if item.scale in ("likert", "binary", "select_multiple", "categorical"):
        codes = np.array(sorted(item.valid_codes or {0.0, 1.0}), dtype=np.int64)
        return codes[rng.integers(0, len(codes), size)]
    if item.scale == "percentage":
        return rng.integers(0, 11, size) * 10
    if item.scale == "count":
        if item.name == "age":
            return rng.integers(18, 36, size)
        bottom = int(low or 0)
        return rng.integers(bottom, bottom + 10, size)
    return rng.choice(np.array([50_000, 100_000, 250_000, 500_000, 1_000_000]), size)


def _fabricate(
    frame: pd.DataFrame, rows: np.ndarray, context: FaultContext, rng: np.random.Generator
) -> None:
    """One made-up answer vector, copied into every fabricated interview with a few changes."""
    if len(rows) == 0:
        return
    for item, stored in _item_columns(context.instrument):
        template = _uniform_answers(item, rng, 1)[0]
        varied = rng.random(len(rows)) < FABRICATION_VARIATION
        values = np.where(varied, _uniform_answers(item, rng, len(rows)), template)
        frame.loc[rows, stored] = values


def _break_straight_lines(
    frame: pd.DataFrame, context: FaultContext, rng: np.random.Generator, *, keep: np.ndarray
) -> None:
    """No row outside the planted straight-liners answers the whole battery alike."""
    if len(context.battery) < 2:
        return
    block = frame[context.battery].to_numpy()
    same = (block == block[:, :1]).all(axis=1)
    same[keep] = False
    rows = np.flatnonzero(same)
    if len(rows) == 0:
        return
    low, high = context.instrument.item(context.battery[0]).bounds
    low_value, high_value = int(low or 1), int(high or 5)
    column = rng.integers(0, len(context.battery), len(rows))
    for row, k in zip(rows.tolist(), column.tolist(), strict=True):
        value = int(block[row, k])
        if low_value <= value <= high_value:
            new = value + 1 if value < high_value else value - 1
        else:
            new = (low_value + high_value) // 2
        frame.loc[row, context.battery[k]] = new


_OPENERS = frozenset(opener for opener, _ in SKIPS.values())


def _out_of_range(
    frame: pd.DataFrame, row: int, context: FaultContext, rng: np.random.Generator
) -> tuple[str, int]:
    """A column answered in this row and a code outside its scale and special codes."""
    candidates = [
        item
        for item in context.instrument.items
        if item.scale in ("likert", "percentage", "binary")
        and item.name not in _OPENERS
        and int(frame[item.name].to_numpy()[row]) >= 0
    ]
    item = candidates[int(rng.integers(0, len(candidates)))]
    high = int(item.bounds[1] or 5)
    if item.scale == "likert":
        options = [int(item.bounds[0] or 1) - 1, high + 1, high + 2]
    elif item.scale == "percentage":
        options = [101, 150, 200]
    else:
        options = [2, 3]
    specials = set(context.instrument.special_codes_of(item))
    options = [value for value in options if value not in specials]
    return item.name, options[int(rng.integers(0, len(options)))]


def _duplicate(
    frame: pd.DataFrame, originals: np.ndarray, context: FaultContext, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[tuple[int, int, str]]]:
    """Re-sent interviews appended after the wave: identical, or re-entered with small edits."""
    if len(originals) == 0:
        return frame, []
    columns = context.columns
    copies = frame.iloc[originals].reset_index(drop=True)
    battery = set(context.battery)
    editable = [
        item.name
        for item in context.instrument.items
        if item.scale == "likert" and item.name not in battery
    ]
    re_entered = rng.random(len(originals)) < 0.5
    rows = np.flatnonzero(re_entered)
    submission = copies[columns["submission"]].to_numpy(dtype=object).copy()
    submission[rows] = uuid4_strings(rng, len(rows))
    copies[columns["submission"]] = submission
    shift = (rng.integers(5, 61, len(rows)) * 60).astype("timedelta64[s]")
    for role in ("interview_start", "interview_end"):
        times = copies[columns[role]].to_numpy().copy()
        times[rows] = times[rows] + shift
        copies[columns[role]] = times
    values = {name: copies[name].to_numpy().copy() for name in editable}
    changed = np.zeros(len(copies), dtype=int)
    for row in rows.tolist():
        for name in rng.permutation(editable)[: int(rng.integers(1, 3))].tolist():
            value = int(values[name][row])
            if value < 0:
                continue
            high = int(context.instrument.item(name).bounds[1] or 5)
            values[name][row] = value + 1 if value < high else value - 1
            changed[row] += 1
    for name, column in values.items():
        copies[name] = column
    n = len(frame)
    result = []
    for k, original in enumerate(originals.tolist()):
        detail = (
            f"re-entry of row {original + 1} (new submission id, {changed[k]} answers changed)"
            if re_entered[k]
            else f"copy of row {original + 1} (same submission id)"
        )
        result.append((original, n + k, detail))
    return pd.concat([frame, copies], ignore_index=True), result
