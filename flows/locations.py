"""Where a study may read and write: its own folder, unless a location is declared absolute.

The inbox, raw archive and warehouse named in ``[locations]`` are relative to the study file
and must stay inside its folder: ``archive = "../outside-raw"`` or ``inbox = "/etc"`` would
read or write elsewhere on the machine. A team that keeps the warehouse or the raw archive on
another disk says so explicitly with ``locations.allow_outside = true``; absolute paths are
then accepted (``..`` never is). Run ids, which name folders under ``results/`` and
``reports/``, are plain names.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath

from flows.errors import StudyFileError

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LOCATION_KEYS = ("inbox", "archive", "warehouse")


def check_run_id(run_id: str, *, caller: str) -> str:
    """Refuse a run id that is not a plain name (it names a folder under results/, reports/)."""
    if not RUN_ID_PATTERN.fullmatch(run_id) or ".." in run_id:
        raise StudyFileError(
            f"{caller}: run id {run_id!r} is not a plain name; a run id names a folder under "
            "results/ and reports/ and may hold letters, digits, '.', '_' and '-' (no '/', no "
            "'..', at most 128 characters). Choose another run id."
        )
    return run_id


def check_location(root: Path, key: str, value: str, *, allow_outside: bool) -> Path:
    """The resolved location ``value`` of ``[locations].key``; refuse one outside ``root``."""
    pure = PurePath(value)
    where = f"locations.{key} = {value!r}"
    if not value.strip():
        raise StudyFileError(
            f"load_study: {where} is empty. Name a folder (or file) inside the study folder."
        )
    if ".." in pure.parts:
        raise StudyFileError(
            f"load_study: {where} climbs out of its folder with '..'. Name a location inside "
            f"the study folder {str(root)!r}, or an absolute path with "
            "locations.allow_outside = true."
        )
    if pure.is_absolute():
        if not allow_outside:
            raise StudyFileError(
                f"load_study: {where} is an absolute path outside the study folder "
                f"{str(root)!r}. Use a path relative to the study file, or set "
                "locations.allow_outside = true to keep it elsewhere on purpose."
            )
        return Path(value)
    resolved = (root / value).resolve()
    if not resolved.is_relative_to(root.resolve()) and not allow_outside:
        raise StudyFileError(
            f"load_study: {where} leads outside the study folder {str(root)!r} (through a "
            "symbolic link). Name a location inside it, or set locations.allow_outside = true."
        )
    return root / value


def check_locations(root: Path, locations: dict[str, str], *, allow_outside: bool) -> None:
    """Check every location key of a study file."""
    for key in LOCATION_KEYS:
        check_location(root, key, locations[key], allow_outside=allow_outside)
