"""Write simulated waves as the field delivers them (CSV, XLSX, SPSS, Stata, Kobo) and the truth."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from flows.instrument import Instrument, Item
from flows.simulation.simulator import SimulatedStudy
from flows.study import Study

WaveFormat = Literal["csv", "xlsx", "sav", "dta", "kobo"]
WAVE_FORMATS: tuple[str, ...] = ("csv", "xlsx", "sav", "dta", "kobo")

# File name ending per format; a Kobo export is a CSV named <wave>_kobo.csv.
SUFFIXES: dict[str, str] = {
    "csv": ".csv",
    "xlsx": ".xlsx",
    "sav": ".sav",
    "dta": ".dta",
    "kobo": "_kobo.csv",
}

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
STATA_LABEL_LIMIT = 80
STATA_NAME_LIMIT = 32


def wave_file_name(wave: str, format: str) -> str:
    """``<wave>.<ext>``, or ``<wave>_kobo.csv`` for a Kobo export."""
    _check_format(format, "wave_file_name")
    return f"{wave}{SUFFIXES[format]}"


def write_wave(
    frame: pd.DataFrame,
    path: str | Path,
    format: str,
    study: Study,
    *,
    form_path: str | Path | None = None,
) -> Path:
    """Write one simulated wave to ``path`` in ``format``; return the path.

    A Kobo export also writes its XLSForm to ``form_path`` (default
    ``<path's grandparent>/forms/<stem>.xlsform.xlsx``, outside the inbox so that it is not
    taken for a wave).
    """
    _check_format(format, "write_wave")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    instrument = study.resolved_instrument()
    if format == "csv":
        _write_csv(frame, path)
    elif format == "xlsx":
        frame.to_excel(path, sheet_name="data", index=False, engine="openpyxl")
    elif format == "sav":
        _write_sav(frame, path, study, instrument)
    elif format == "dta":
        _write_dta(frame, path, study, instrument)
    else:
        from flows.simulation.kobo import write_kobo_export, write_xlsform

        write_kobo_export(frame, path, study)
        form = (
            Path(form_path)
            if form_path is not None
            else path.parent.parent / "forms" / f"{path.stem}.xlsform.xlsx"
        )
        write_xlsform(form, study)
    return path


def write_simulated_study(
    sim: SimulatedStudy,
    directory: str | Path,
    formats: Sequence[str] | Mapping[str, str] = ("csv",),
    *,
    truth_directory: str | Path | None = None,
) -> dict[str, list[Path]]:
    """Write every wave into ``directory`` (an inbox) and the truth beside it.

    Waves are named ``<wave>.<ext>`` (``<wave>_kobo.csv`` for a Kobo export); the truth goes
    to ``truth_directory`` (default ``directory/../truth``) and Kobo XLSForms to
    ``directory/../forms``, so nothing but waves lands in the inbox. ``formats`` is a list
    of formats written for every wave, or a mapping wave -> format. Returns wave -> files.
    """
    directory = Path(directory)
    per_wave: dict[str, list[str]] = {}
    for wave in sim.waves:
        if isinstance(formats, Mapping):
            chosen = [formats[wave]] if wave in formats else []
        else:
            chosen = list(formats)
        for format in chosen:
            _check_format(format, "write_simulated_study")
        per_wave[wave] = chosen
    written: dict[str, list[Path]] = {}
    for wave, chosen in per_wave.items():
        frame = sim.waves[wave].frame
        written[wave] = [
            write_wave(
                frame,
                directory / wave_file_name(wave, format),
                format,
                sim.study,
                form_path=directory.parent / "forms" / f"{wave}_kobo.xlsform.xlsx",
            )
            for format in chosen
        ]
    write_truth(
        sim, Path(truth_directory) if truth_directory is not None else directory.parent / "truth"
    )
    return written


def write_truth(sim: SimulatedStudy, directory: str | Path) -> None:
    """truth/effects.csv, truth/faults.csv and truth/settings.json."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _write_csv(sim.effects, directory / "effects.csv")
    _write_csv(sim.faults, directory / "faults.csv")
    meta = {
        "study": sim.study.id,
        "sampling": sim.settings.sampling or sim.study.design.sampling,
        "settings": sim.settings.to_json_dict(),
        "waves": {name: len(wave.frame) for name, wave in sim.waves.items()},
        "notes": (
            "true_effect is the superpopulation average effect of the campaign on each item "
            "(campaign minus comparison, at that wave), in the item's units; construct rows "
            "give the effect on the mean of the construct's items. faults.csv lists every "
            "planted fault; rows absent from it are clean. A duplicate_submission row is the "
            "later copy; the original it copies is clean."
        ),
    }
    (directory / "settings.json").write_text(
        json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def _check_format(format: str, where: str) -> None:
    if format not in WAVE_FORMATS:
        raise ValueError(f"{where}: unknown format {format!r}; choose one of {list(WAVE_FORMATS)}.")


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(
        path, index=False, encoding="utf-8", lineterminator="\n", date_format=TIMESTAMP_FORMAT
    )


def _column_labels(frame: pd.DataFrame, instrument: Instrument) -> dict[str, str | None]:
    labels: dict[str, str | None] = {}
    for item in instrument.items:
        if item.scale == "select_multiple":
            for choice, stored in zip(item.choices, item.stored_names(), strict=True):
                labels[stored] = f"{item.question} {item.choices[choice]}"
        else:
            labels[item.name] = item.question
    return {name: label for name, label in labels.items() if name in frame.columns}


def _value_labels(item: Item, instrument: Instrument) -> dict[int | float, str]:
    labels: dict[int | float, str]
    if item.scale == "select_multiple":
        labels = {0: "No", 1: "Yes"}
    else:
        labels = {int(float(code)): label for code, label in item.labels.items()}
    for name in item.special_codes:
        special = instrument.special_codes[name]
        labels[int(special.code)] = special.label
    return labels


def _labelled(frame: pd.DataFrame, instrument: Instrument) -> dict[str, dict[int | float, str]]:
    result: dict[str, dict[int | float, str]] = {}
    for item in instrument.items:
        labels = _value_labels(item, instrument)
        if not labels:
            continue
        for stored in item.stored_names():
            if stored in frame.columns:
                result[stored] = labels
    return result


def _nanosecond_times(frame: pd.DataFrame) -> pd.DataFrame:
    # pyreadstat reads datetime64 values as nanoseconds: seconds-resolution columns would
    # land in 1970.
    times = [name for name in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[name])]
    return frame.astype(dict.fromkeys(times, "datetime64[ns]")) if times else frame


def _write_sav(frame: pd.DataFrame, path: Path, study: Study, instrument: Instrument) -> None:
    import pyreadstat

    frame = _nanosecond_times(frame)
    # SPSS names cannot start with "_": `_uuid` becomes `uuid`.
    renamed = {name: name.lstrip("_") for name in frame.columns if name.startswith("_")}
    data = frame.rename(columns=renamed)
    missing: dict[str, list[Any]] = {}
    for item in instrument.items:
        codes = [instrument.special_codes[name].code for name in item.special_codes]
        if not codes:
            continue
        for stored in item.stored_names():
            # Special codes are negative and valid answers are not: one range covers them all.
            missing[stored] = [{"lo": min(codes), "hi": max(codes)}]
    pyreadstat.write_sav(
        data,
        str(path),
        file_label=study.title[:64],
        column_labels=_column_labels(data, instrument),
        variable_value_labels=_labelled(data, instrument),
        missing_ranges=missing,
    )


def _write_dta(frame: pd.DataFrame, path: Path, study: Study, instrument: Instrument) -> None:
    import pyreadstat

    frame = _nanosecond_times(frame)
    too_long = [name for name in frame.columns if len(name) > STATA_NAME_LIMIT]
    if too_long:
        raise ValueError(
            f"write_wave: Stata names have at most {STATA_NAME_LIMIT} characters; found "
            f"{too_long}. Shorten the item or choice names in the instrument."
        )
    labels: dict[str, str | None] = {
        name: label[:STATA_LABEL_LIMIT] if label else None
        for name, label in _column_labels(frame, instrument).items()
    }
    # pyreadstat names each value-label set <variable><counter>, which must also fit in 32
    # characters: the longest names (select-multiple choices, 0/1) go without value labels.
    value_labels: dict[str, dict[int | float, str]] = {}
    wanted = _labelled(frame, instrument)
    for name in frame.columns:
        if name in wanted and len(name) + len(str(len(value_labels))) <= STATA_NAME_LIMIT:
            value_labels[name] = wanted[name]
    pyreadstat.write_dta(
        frame,
        str(path),
        file_label=study.title[:STATA_LABEL_LIMIT],
        column_labels=labels,
        variable_value_labels=value_labels,
    )
