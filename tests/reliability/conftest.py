"""A small panel study for the fault-injection suite: baseline stored, endline to come."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.flows.conftest import SMALL_INSTRUMENT

STUDY = """
id = "small"
title = "Small test study"
pii = ["respondent_name", "phone", "gps_latitude", "gps_longitude"]

[design]
assignment = "cluster_randomised"
sampling = "panel"
minimum_cell_size = 2

[columns]
respondent = "respondent_id"
cluster = "community"
stratum = "region"
submission = "_uuid"
enumerator = "enumerator_id"
weight = "weight"
arm = { column = "arm", treatment = ["campaign"], comparison = ["comparison"] }

[[waves]]
name = "baseline"

[[waves]]
name = "endline"

[instrument]
base = "instrument.toml"

[outcomes]
primary = ["trust_iom_un"]
"""

HEADER = (
    "respondent_id,_uuid,community,region,arm,enumerator_id,weight,respondent_name,phone,"
    "gps_latitude,gps_longitude,trust_iom_un,risk_death,wish_to_leave"
)
COLUMNS = HEADER.split(",")

# Identifying values planted in every raw file; none may leave the raw zone.
NAME, PHONE, LATITUDE, LONGITUDE = "Demba Jobe-Quartz", "+220 771 23 45", "13.452781", "-16.578913"
PLANTED = (NAME, PHONE, LATITUDE, LONGITUDE)
RAW_IDS = tuple(f"{number:05d}" for number in range(101, 121))
KEY = "reliability-suite-key-0123456789abcdef"


def row_values(wave: str, number: int, *, trust_shift: int = 0) -> dict[str, str]:
    """One interview as a column -> text mapping; 20 respondents in 4 communities."""
    community = f"C{number % 4 + 1}"
    return {
        "respondent_id": RAW_IDS[number],
        "_uuid": f"{wave}-{number:04d}",
        "community": community,
        "region": "north" if community in ("C1", "C2") else "south",
        "arm": "campaign" if community in ("C1", "C3") else "comparison",
        "enumerator_id": f"E{number % 2}",
        "weight": f"{1 + (number % 3) / 10:.1f}",
        "respondent_name": NAME if number == 0 else f"Person {number}",
        "phone": PHONE if number == 0 else f"+220 700 00 {number:02d}",
        "gps_latitude": LATITUDE if number == 0 else f"13.{number:02d}0001",
        "gps_longitude": LONGITUDE if number == 0 else f"-16.{number:02d}0001",
        "trust_iom_un": str(min(5, 1 + number % 5 + trust_shift)),
        "risk_death": str(5 * (number % 10)),
        "wish_to_leave": str(number % 2),
    }


def wave_table(wave: str, *, trust_shift: int = 0) -> list[dict[str, str]]:
    return [row_values(wave, n, trust_shift=trust_shift) for n in range(len(RAW_IDS))]


def csv_bytes(rows: list[dict[str, str]], *, columns: list[str] = COLUMNS) -> bytes:
    lines = [",".join(columns)] + [",".join(row.get(c, "") for c in columns) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def endline_with(column: str, value: str, *, rows: int = 1) -> bytes:
    """The endline with ``value`` in ``column`` of its first ``rows`` rows."""
    table = wave_table("endline", trust_shift=1)
    for row in table[:rows]:
        row[column] = value
    return csv_bytes(table)


def write_study(root: Path, study_text: str = STUDY) -> Path:
    (root / "inbox").mkdir(parents=True, exist_ok=True)
    (root / "instrument.toml").write_text(SMALL_INSTRUMENT, encoding="utf-8")
    (root / "study.toml").write_text(study_text, encoding="utf-8")
    return root / "study.toml"


def snapshot(root: Path, *folders: str) -> dict[str, tuple[str, int]]:
    """SHA-256 and mode of every file under the given folders of a study."""
    found: dict[str, tuple[str, int]] = {}
    for folder in folders:
        base = root / folder
        if not base.exists():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file():
                found[str(path.relative_to(root))] = (
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                    path.stat().st_mode,
                )
    return found


@pytest.fixture(autouse=True)
def study_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed key from the environment, and no warehouse override."""
    monkeypatch.setenv("TRUSTSHIFT_PSEUDONYM_KEY_SMALL", KEY)
    monkeypatch.delenv("TRUSTSHIFT_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("TRUSTSHIFT_WAREHOUSE", raising=False)


@pytest.fixture(scope="session")
def stored_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A study folder whose baseline is stored (built once; copy it before changing it)."""
    import os

    from flows.ingest import ingest_wave
    from flows.study import load_study

    root = tmp_path_factory.mktemp("template") / "study"
    study_file = write_study(root)
    baseline = root / "inbox" / "baseline.csv"
    baseline.write_bytes(csv_bytes(wave_table("baseline")))
    previous = os.environ.get("TRUSTSHIFT_PSEUDONYM_KEY_SMALL")
    os.environ["TRUSTSHIFT_PSEUDONYM_KEY_SMALL"] = KEY
    try:
        ingest_wave(load_study(study_file), baseline)
    finally:
        if previous is None:
            del os.environ["TRUSTSHIFT_PSEUDONYM_KEY_SMALL"]
        else:
            os.environ["TRUSTSHIFT_PSEUDONYM_KEY_SMALL"] = previous
    baseline.unlink()
    return root


@pytest.fixture
def study_copy(stored_baseline: Path, tmp_path: Path) -> Callable[[], Path]:
    """A fresh copy of the study with its baseline stored; returns the study file."""

    def make() -> Path:
        root = tmp_path / "study"
        shutil.copytree(stored_baseline, root)
        return root / "study.toml"

    return make
