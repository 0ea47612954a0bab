"""A KoboToolbox-style export of a simulated wave (labels, group paths) and its XLSForm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from flows.instrument import Instrument, Item
from flows.simulation.answers import SKIPS
from flows.study import Study

# Kobo's CSV export separates fields with semicolons.
KOBO_DELIMITER = ";"
FORM_VERSION = "vQm8kT3xWfHbR2sLnYp6Ze"
KOBO_META: tuple[str, ...] = ("_id", "_submission_time", "_index", "__version__")
_ISO = "%Y-%m-%dT%H:%M:%S.000+00:00"


def group_of(item: Item, instrument: Instrument) -> str:
    """The XLSForm group holding the item: its construct's domain (trust, risk, ...)."""
    return next(c.domain for c in instrument.constructs if c.name == item.construct_name)


def kobo_frame(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The wave as Kobo exports it with the "labels" option: group paths, answer labels,
    select-multiple answers as a combined column plus one column per choice, and metadata.
    """
    instrument = study.resolved_instrument()
    item_columns = {stored for item in instrument.items for stored in item.stored_names()}
    times = [
        name
        for name in (study.columns.interview_start, study.columns.interview_end)
        if name and name in frame.columns
    ]
    submission = study.columns.submission or "_uuid"
    out: dict[str, pd.Series] = {}
    for name in times:
        out[name] = pd.Series(pd.to_datetime(frame[name]).dt.strftime(_ISO).to_numpy())
    for name in frame.columns:
        if name in item_columns or name in times or name == submission:
            continue
        out[name] = pd.Series(frame[name].to_numpy())
    specials = {code.code: code.label for code in instrument.special_codes.values()}
    for item in instrument.items:
        group = group_of(item, instrument)
        if item.scale == "select_multiple":
            _select_multiple(frame, item, group, specials, out)
            continue
        values = frame[item.name]
        if item.scale in ("likert", "categorical", "binary"):
            labels = {float(code): label for code, label in item.labels.items()}
            if item.scale == "binary" and not labels:
                labels = {0.0: "No", 1.0: "Yes"}
        else:
            labels = {}
        out[f"{group}/{item.name}"] = _labelled_text(values, {**labels, **specials})
    end = pd.to_datetime(frame[times[-1]]) if times else pd.Series(pd.NaT, index=frame.index)
    n = len(frame)
    # Uploads reach the server between one and six hours after the interview ends.
    delay = pd.to_timedelta(3600 + (np.arange(n) * 7919) % (5 * 3600), unit="s")
    out[submission] = pd.Series(frame[submission].to_numpy())
    out["_id"] = pd.Series(np.arange(n) + 31_400_001)
    out["_submission_time"] = pd.Series((end + delay).dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy())
    out["_index"] = pd.Series(np.arange(1, n + 1))
    out["__version__"] = pd.Series([FORM_VERSION] * n)
    return pd.DataFrame(out)


def _labelled_text(values: pd.Series, labels: dict[float, str]) -> pd.Series:
    numbers = values.to_numpy(dtype=float)
    text = pd.Series(values.to_numpy()).astype(str)
    mapped = pd.Series(numbers).map(labels)
    return mapped.where(mapped.notna(), text)


def _select_multiple(
    frame: pd.DataFrame,
    item: Item,
    group: str,
    specials: dict[float, str],
    out: dict[str, pd.Series],
) -> None:
    stored = item.stored_names()
    block = frame[stored].to_numpy(dtype=float)
    choices = np.array(list(item.choices), dtype=object)
    special_rows = [bool(flag) for flag in np.asarray((block < 0).any(axis=1))]
    combined = [
        " ".join(choices[row == 1.0]) if not is_special else specials.get(row[0], str(row[0]))
        for row, is_special in zip(block, special_rows, strict=True)
    ]
    out[f"{group}/{item.name}"] = pd.Series(combined, dtype=object)
    for position, choice in enumerate(item.choices):
        column = pd.Series(frame[stored[position]].to_numpy())
        out[f"{group}/{item.name}/{choice}"] = _labelled_text(column, specials)


def write_kobo_export(frame: pd.DataFrame, path: Path, study: Study) -> None:
    """Write the Kobo-style CSV export (semicolon-separated, UTF-8)."""
    kobo_frame(frame, study).to_csv(
        path, index=False, sep=KOBO_DELIMITER, encoding="utf-8", lineterminator="\n"
    )


def write_xlsform(path: Path, study: Study) -> None:
    """Write the XLSForm (survey, choices and settings sheets) the export came from."""
    from openpyxl import Workbook

    instrument = study.resolved_instrument()
    survey: list[tuple[str, ...]] = [("type", "name", "label", "relevant", "constraint")]
    choices: list[tuple[str, ...]] = [("list_name", "name", "label")]
    survey += [("start", "start", "", "", ""), ("end", "end", "", "", "")]
    columns = study.columns
    for name in (columns.respondent, columns.cluster, columns.stratum, columns.enumerator):
        if name:
            survey.append(("text", name, name.replace("_", " ").capitalize(), "", ""))
    if columns.arm:
        survey.append(("text", columns.arm.column, "Arm", "", ""))
    if columns.weight:
        survey.append(("decimal", columns.weight, "Survey weight", "", ""))
    if columns.consent:
        survey.append(
            ("integer", columns.consent, "Consent given (1 yes, 0 no)", "", ". = 0 or . = 1")
        )
    survey += [
        ("text", "respondent_name", "Name of the respondent", "", ""),
        ("text", "phone", "Phone number", "", ""),
        ("decimal", "gps_latitude", "GPS latitude", "", ""),
        ("decimal", "gps_longitude", "GPS longitude", "", ""),
    ]
    current_group: str | None = None
    for item in instrument.items:
        group = group_of(item, instrument)
        if group != current_group:
            if current_group is not None:
                survey.append(("end_group", "", "", "", ""))
            survey.append(("begin_group", group, group.capitalize(), "", ""))
            current_group = group
        special = {
            instrument.special_codes[name].code: instrument.special_codes[name].label
            for name in item.special_codes
        }
        relevant = ""
        if item.name in SKIPS and item.name in instrument.item_names:
            opener, value = SKIPS[item.name]
            if opener in instrument.item_names:
                relevant = f"${{{opener}}} = '{value:g}'"
        if item.scale in ("likert", "categorical", "binary", "select_multiple"):
            list_name = f"{item.name}_list"
            kind = "select_multiple" if item.scale == "select_multiple" else "select_one"
            survey.append((f"{kind} {list_name}", item.name, item.question, relevant, ""))
            options = (
                dict(item.choices)
                if item.scale == "select_multiple"
                else (item.labels or {"0": "No", "1": "Yes"})
            )
            for code, label in options.items():
                choices.append((list_name, code, label))
            for number, label in special.items():
                choices.append((list_name, f"{number:g}", label))
        else:
            kind = "decimal" if item.scale == "money" else "integer"
            low, high = item.bounds
            bounds = []
            if low is not None:
                bounds.append(f". >= {low:g}")
            if high is not None:
                bounds.append(f". <= {high:g}")
            codes = " or ".join(f". = {code:g}" for code in special)
            constraint = " and ".join(bounds)
            if codes:
                constraint = f"({constraint}) or {codes}" if constraint else codes
            survey.append((kind, item.name, item.question, relevant, constraint))
    if current_group is not None:
        survey.append(("end_group", "", "", "", ""))
    workbook = Workbook()
    sheet = workbook.active
    if sheet is None:  # pragma: no cover - a new workbook always has a sheet
        sheet = workbook.create_sheet("survey")
    sheet.title = "survey"
    for row in survey:
        sheet.append(list(row))
    choice_sheet = workbook.create_sheet("choices")
    for row in choices:
        choice_sheet.append(list(row))
    settings_sheet = workbook.create_sheet("settings")
    settings_sheet.append(["form_title", "form_id", "version", "default_language"])
    settings_sheet.append([study.title, study.id, FORM_VERSION, "English (en)"])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
