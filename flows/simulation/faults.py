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


# A wave under construction: column name -> values, in file order.
Columns = dict[str, np.ndarray]


def inject_faults(
    data: Columns, *, context: FaultContext, wave: str, rng: np.random.Generator
) -> tuple[Columns, pd.DataFrame]:
    """The wave with faults planted (duplicates appended at the end) and the truth table."""
    settings = context.settings
    columns = context.columns
    n = len(data[columns["submission"]])
    typical = settings.typical_duration_minutes
    start = data[columns["interview_start"]]
    end = data[columns["interview_end"]]
    found_rows: list[np.ndarray] = []
    found_faults: list[str] = []
    found_columns: list[str] = []
    found_details: list[list[str]] = []

    def set_duration(rows: np.ndarray, minutes: np.ndarray) -> None:
        end[rows] = start[rows] + np.round(minutes * 60).astype("timedelta64[s]")

    def record(rows: np.ndarray, fault: str, column: str, details: list[str]) -> None:
        found_rows.append(np.asarray(rows, dtype=np.int64))
        found_faults.append(fault)
        found_columns.append(column)
        found_details.append(details)

    fabricated = np.zeros(n, dtype=bool)
    if context.enumerator_label is not None:
        his = np.flatnonzero(data[columns["enumerator"]] == context.enumerator_label)
        share = settings.fault_rate("fabricating_enumerator")
        chosen = np.sort(rng.permutation(his)[: round(share * len(his))])
        fabricated[chosen] = True
        _fabricate(data, chosen, context, rng)
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

    _break_straight_lines(data, context, rng, keep=blocks["straightliner"])

    rows = blocks["speeder"]
    minutes = rng.uniform(0.075, 0.2, len(rows)) * typical
    set_duration(rows, minutes)
    record(rows, "speeder", columns["interview_end"], [f"{m:.1f} minutes" for m in minutes])

    rows = blocks["straightliner"]
    if len(context.battery) >= 2:
        low, high = context.instrument.item(context.battery[0]).bounds
        values = rng.integers(int(low or 1), int(high or 5) + 1, len(rows))
        for name in context.battery:
            data[name][rows] = values
        battery_name = context.study.quality.straightlining_batteries[0]
        size = len(context.battery)
        record(rows, "straightliner", battery_name, [f"all {size} items = {v}" for v in values])

    rows = blocks["out_of_range"]
    targets, values = _out_of_range(data, rows, context, rng)
    for name in sorted(set(targets.tolist())):
        hit = targets == name
        data[name][rows[hit]] = values[hit]
        record(rows[hit], "out_of_range", name, [f"value {v}" for v in values[hit]])

    rows = blocks["missing_consent"]
    data[columns["consent"]][rows] = 0
    record(rows, "missing_consent", columns["consent"], ["consent 0 with answers"] * len(rows))

    data, copies, details = _duplicate(data, blocks["duplicate_submission"], context, rng)
    record(copies, "duplicate_submission", "", details)

    rows_all = np.concatenate(found_rows) if found_rows else np.zeros(0, dtype=np.int64)
    faults_all = np.concatenate(
        [np.full(len(r), f, dtype=object) for r, f in zip(found_rows, found_faults, strict=True)]
        or [np.zeros(0, dtype=object)]
    )
    columns_all = np.concatenate(
        [np.full(len(r), c, dtype=object) for r, c in zip(found_rows, found_columns, strict=True)]
        or [np.zeros(0, dtype=object)]
    )
    details_all = np.array([d for group in found_details for d in group], dtype=object)
    order = np.lexsort((faults_all.astype(str), rows_all))
    rows_all = rows_all[order]
    faults = pd.DataFrame(
        {
            "wave": np.full(len(rows_all), wave, dtype=object),
            "row_number": rows_all + 1,
            "submission": data[columns["submission"]][rows_all],
            "respondent": data[columns["respondent"]][rows_all],
            "fault": faults_all[order],
            "column": columns_all[order],
            "detail": details_all[order],
        },
        columns=list(FAULT_COLUMNS),
    )
    return data, faults


def _item_columns(instrument: Instrument) -> list[tuple[Item, str]]:
    return [(item, stored) for item in instrument.items for stored in item.stored_names()]


def _uniform_answers(
    item: Item, rng: np.random.Generator, size: int | tuple[int, ...], *, age_item: str | None
) -> np.ndarray:
    """Answers a fabricator makes up: any valid code, picked without care."""
    low = item.bounds[0]
    if item.scale in ("likert", "binary", "select_multiple", "categorical"):
        codes = np.array(sorted(item.valid_codes or {0.0, 1.0}), dtype=np.int64)
        return codes[rng.integers(0, len(codes), size)]
    if item.scale == "percentage":
        return rng.integers(0, 11, size) * 10
    if item.scale == "count":
        if item.name == age_item:
            return rng.integers(18, 36, size)
        bottom = int(low or 0)
        return rng.integers(bottom, bottom + 10, size)
    return rng.choice(np.array([50_000, 100_000, 250_000, 500_000, 1_000_000]), size)


def _fabricate(
    data: Columns, rows: np.ndarray, context: FaultContext, rng: np.random.Generator
) -> None:
    """One made-up answer vector, copied into every fabricated interview with a few changes."""
    if len(rows) == 0:
        return
    age_item = context.study.quality.age_item
    for item, stored in _item_columns(context.instrument):
        template = _uniform_answers(item, rng, 1, age_item=age_item)[0]
        varied = rng.random(len(rows)) < FABRICATION_VARIATION
        fresh = _uniform_answers(item, rng, len(rows), age_item=age_item)
        data[stored][rows] = np.where(varied, fresh, template)


def _break_straight_lines(
    data: Columns, context: FaultContext, rng: np.random.Generator, *, keep: np.ndarray
) -> None:
    """No row outside the planted straight-liners answers the whole battery alike."""
    if len(context.battery) < 2:
        return
    first = data[context.battery[0]]
    same = np.ones(len(first), dtype=bool)
    for name in context.battery[1:]:
        same &= data[name] == first
    same[keep] = False
    rows = np.flatnonzero(same)
    if len(rows) == 0:
        return
    low, high = context.instrument.item(context.battery[0]).bounds
    low_value, high_value = int(low or 1), int(high or 5)
    which = rng.integers(0, len(context.battery), len(rows))
    value = first[rows]
    answered = (value >= low_value) & (value <= high_value)
    new = np.where(
        answered,
        np.where(value < high_value, value + 1, value - 1),
        (low_value + high_value) // 2,
    )
    for k, name in enumerate(context.battery):
        hit = which == k
        data[name][rows[hit]] = new[hit]


_OPENERS = frozenset(opener for opener, _ in SKIPS.values())


def _out_of_range(
    data: Columns, rows: np.ndarray, context: FaultContext, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: a column answered there, and a code outside its scale and special codes."""
    candidates = [
        item
        for item in context.instrument.items
        if item.scale in ("likert", "percentage", "binary") and item.name not in _OPENERS
    ]
    if len(rows) == 0 or not candidates:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    answered = np.column_stack([data[item.name][rows] >= 0 for item in candidates])
    # A random answered column per row: the largest random score among answered columns.
    scores = np.where(answered, rng.random(answered.shape), -1.0)
    chosen = scores.argmax(axis=1)
    options: list[list[int]] = []
    for item in candidates:
        high = int(item.bounds[1] or 5)
        if item.scale == "likert":
            bad = [int(item.bounds[0] or 1) - 1, high + 1, high + 2]
        elif item.scale == "percentage":
            bad = [101, 150, 200]
        else:
            bad = [2, 3]
        specials = set(context.instrument.special_codes_of(item))
        options.append([value for value in bad if value not in specials])
    pick = rng.integers(0, 3, len(rows))
    values = np.array(
        [
            options[c][p % len(options[c])]
            for c, p in zip(chosen.tolist(), pick.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    names = np.array([item.name for item in candidates], dtype=object)[chosen]
    return names, values


def _duplicate(
    data: Columns, originals: np.ndarray, context: FaultContext, rng: np.random.Generator
) -> tuple[Columns, np.ndarray, list[str]]:
    """Re-sent interviews appended after the wave: identical, or re-entered with small edits."""
    n = len(data[context.columns["submission"]])
    if len(originals) == 0:
        return data, np.zeros(0, dtype=np.int64), []
    columns = context.columns
    copies = {name: values[originals].copy() for name, values in data.items()}
    battery = set(context.battery)
    editable = [
        item.name
        for item in context.instrument.items
        if item.scale == "likert" and item.name not in battery
    ]
    re_entered = rng.random(len(originals)) < 0.5
    rows = np.flatnonzero(re_entered)
    copies[columns["submission"]][rows] = uuid4_strings(rng, len(rows))
    shift = (rng.integers(5, 61, len(rows)) * 60).astype("timedelta64[s]")
    for role in ("interview_start", "interview_end"):
        copies[columns[role]][rows] = copies[columns[role]][rows] + shift
    changed = np.zeros(len(originals), dtype=int)
    for row in rows.tolist():
        for name in rng.permutation(editable)[: int(rng.integers(1, 3))].tolist():
            value = int(copies[name][row])
            if value < 0:
                continue
            high = int(context.instrument.item(name).bounds[1] or 5)
            copies[name][row] = value + 1 if value < high else value - 1
            changed[row] += 1
    details = [
        f"re-entry of row {original + 1} (new submission id, {changed[k]} answers changed)"
        if re_entered[k]
        else f"copy of row {original + 1} (same submission id)"
        for k, original in enumerate(originals.tolist())
    ]
    combined = {name: np.concatenate([values, copies[name]]) for name, values in data.items()}
    return combined, n + np.arange(len(originals)), details
