"""Faults: a process killed with SIGKILL mid-ingest leaves no half-written wave, its run is
marked crashed by the next command, and the re-run stores everything once.

The full matrix (validate, estimate, report and `trustshift run` killed at each fault point)
runs in `bench/reliability.py`, which starts a process per kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from flows.faults import FAULT_VARIABLE
from flows.ingest import ingest_wave
from flows.orchestration.records import record_run_start, run_history
from flows.study import load_study
from flows.warehouse import connect, warehouse_path
from tests.reliability.conftest import KEY, csv_bytes, wave_table


def trustshift(*arguments: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TRUSTSHIFT_PSEUDONYM_KEY_SMALL": KEY}
    environment.pop(FAULT_VARIABLE, None)
    if fault is not None:
        environment[FAULT_VARIABLE] = fault
    return subprocess.run(
        [str(Path(sys.executable).parent / "trustshift"), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def counts(study_file: Path) -> dict[str, int]:
    with connect(warehouse_path(load_study(study_file)), read_only=True) as connection:
        return {
            table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in ("waves", "interviews", "answers")
        }


@pytest.mark.parametrize("point", ["ingest-mid-transaction"])
def test_an_ingest_killed_at_a_fault_point_leaves_no_half_written_wave(
    point: str, study_copy: Callable[[], Path]
) -> None:
    study_file = study_copy()
    endline = study_file.parent / "inbox" / "endline.csv"
    endline.write_bytes(csv_bytes(wave_table("endline", trust_shift=1)))
    before = counts(study_file)

    killed = trustshift("ingest", str(study_file), fault=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert counts(study_file) == before  # nothing of the endline reached the warehouse

    study = load_study(study_file)
    again = ingest_wave(study, endline)
    assert again.status == "stored"
    after = counts(study_file)
    assert after["waves"] == before["waves"] + 1
    assert after["interviews"] == before["interviews"] + 20
    assert ingest_wave(study, endline).status == "unchanged"
    assert counts(study_file) == after  # nothing twice


def test_a_run_left_running_by_a_dead_process_is_marked_crashed(
    study_copy: Callable[[], Path],
) -> None:
    study = load_study(study_copy())
    record_run_start(
        study, run_id="killed-run", kind="evaluate-study", inputs={}, started_at=datetime.now()
    )
    (study.inbox / "endline.csv").write_bytes(csv_bytes(wave_table("endline", trust_shift=1)))
    ingest_wave(study, study.inbox / "endline.csv")
    runs = {row["run_id"]: row for row in run_history(study)}
    assert runs["killed-run"]["status"] == "crashed"
    assert "ended without recording an outcome" in runs["killed-run"]["message"]
    assert str(os.getpid()) in runs["killed-run"]["message"]
