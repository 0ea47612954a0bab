"""The assignment record file: written by `trustshift assign`, read by the pipeline's RI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from flows.errors import DataQualityError, StudyFileError
from flows.study import Study
from measurement.assignment_record import AssignmentRecord, unit_label, units_sha256
from measurement.errors import DesignError


def write_assignment_record(
    path: Path,
    record: AssignmentRecord,
    *,
    units_file: Path,
    unit: str,
    stratum: str | None,
    extra: dict[str, object],
) -> None:
    """Write the record as JSON; ``units_file`` is stored relative to the record's folder."""
    location = os.path.relpath(units_file.resolve(), path.resolve().parent)
    mapping = {
        **extra,
        "units_file": location,
        "unit_column": unit,
        "stratum_column": stratum,
        **record.to_dict(),
    }
    path.write_text(json.dumps(mapping, indent=2, default=str) + "\n", encoding="utf-8")


def read_assignment_record(study: Study) -> AssignmentRecord | None:
    """The record named by ``[inference] assignment_record``, checked; None when not named.

    The record's own hash must match its unit table; when the units file it was drawn from
    is still at the recorded place, the file's units, strata and covariate values must hash
    the same (a units file edited after assignment would make the rule judge other values).
    """
    name = study.inference.assignment_record
    if name is None:
        return None
    where = f"{study.path}: inference.assignment_record = {name!r}"
    if study.design.assigned_unit != "cluster" or study.columns.cluster is None:
        raise StudyFileError(
            f"{where} is set, but the study assigned the campaign to "
            f"{study.design.assigned_unit!r}s; randomization inference re-draws a recorded "
            "cluster assignment only. Remove the key."
        )
    path = Path(name) if Path(name).is_absolute() else study.root / name
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StudyFileError(
            f"{where}: no file at {str(path)!r}. Give the path (relative to the study file) of "
            "the assignment JSON written by `trustshift assign`."
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StudyFileError(
            f"{where}: {path} cannot be read as JSON ({error}). Restore the file written by "
            "`trustshift assign`."
        ) from None
    if not isinstance(mapping, dict):
        raise StudyFileError(f"{where}: {path} does not hold a JSON object. Restore the file.")
    try:
        record = AssignmentRecord.from_dict(mapping, source=str(path))
    except ValueError as error:
        raise StudyFileError(f"{where}: {error}") from None
    _check_units_file(record, mapping, path, where)
    return record


def _check_units_file(
    record: AssignmentRecord, mapping: dict[str, object], path: Path, where: str
) -> None:
    units_file = mapping.get("units_file")
    unit = mapping.get("unit_column")
    if not isinstance(units_file, str) or not isinstance(unit, str):
        return
    source = Path(units_file) if Path(units_file).is_absolute() else path.parent / units_file
    if not source.is_file():
        return
    try:
        frame = pd.read_csv(source, dtype={unit: str})
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataQualityError(
            f"{where}: the units file {source} the assignment was drawn from cannot be read "
            f"({error}). Restore it, or move it away if it is no longer kept."
        ) from None
    stratum = mapping.get("stratum_column")
    wanted = [unit, *record.covariates, *([stratum] if isinstance(stratum, str) else [])]
    absent = [column for column in wanted if column not in frame.columns]
    if absent:
        raise DataQualityError(
            f"{where}: the units file {source} no longer has the columns {absent!r} the "
            "assignment was drawn from. Restore the file, or re-draw the assignment."
        )
    strata = (
        frame[stratum].astype(str) if isinstance(stratum, str) else pd.Series("all", frame.index)
    )
    values = frame[list(record.covariates)].apply(pd.to_numeric, errors="coerce")
    found = units_sha256(
        [unit_label(value) for value in frame[unit].to_numpy()],
        list(strata),
        record.covariates,
        values.to_numpy(float).tolist(),
    )
    if found != record.units_sha256():
        raise DataQualityError(
            f"{where}: the units file {source} changed since the assignment was drawn (its "
            "units, strata or covariate values no longer match the record's SHA-256). The "
            "re-randomization rule must judge the values used at assignment: restore the file."
        )


def check_record_against_data(record: AssignmentRecord, frame: pd.DataFrame) -> None:
    """Refuse a record whose clusters or arms do not match the estimation frame.

    ``frame`` has the pipeline's ``cluster`` and ``treated`` columns.
    """
    rows = frame[frame["cluster"].notna() & frame["treated"].notna()]
    per_cluster = rows.groupby("cluster", sort=True)["treated"].agg(["min", "max"])
    varying = per_cluster["min"] != per_cluster["max"]
    if varying.any():
        raise DataQualityError(
            f"assignment record: the arm varies within {int(varying.sum())} clusters; a "
            "recorded cluster assignment gives each cluster one arm. Check the arm column."
        )
    try:
        record.locate(
            list(per_cluster.index),
            per_cluster["min"].to_numpy(dtype=float),
            caller="assignment record",
        )
    except DesignError as error:
        raise DataQualityError(str(error)) from None
