"""Reading survey exports: any file in, the coded wave of the study out.

``read_raw`` reads CSV, XLSX, SPSS ``.sav`` and Stata ``.dta`` exports (format judged by content,
encoding and delimiter detected) into a :class:`RawWave`; ``code_wave`` maps it onto the study's
roles and instrument into a :class:`CodedWave`; ``read_wave`` does both.
"""

from __future__ import annotations

from pathlib import Path

from flows.reading.coding import ROLE_COLUMNS, CodedWave, code_wave
from flows.reading.raw import RawWave, read_raw
from flows.study import Study

__all__ = ["ROLE_COLUMNS", "CodedWave", "RawWave", "code_wave", "read_raw", "read_wave"]


def read_wave(path: Path | str, *, study: Study, wave: str | None = None) -> CodedWave:
    """Read one export and code it onto the study (identifying columns dropped)."""
    return code_wave(read_raw(Path(path), study=study), study=study, wave=wave)
