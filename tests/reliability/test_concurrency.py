"""Concurrency: a second command on a study that another process is writing fails at once,
naming who holds it and since when, or queues behind it with --wait; never corrupts it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.errors import WarehouseBusyError
from flows.locking import lock_path
from flows.study import load_study
from flows.warehouse import connect, warehouse_path
from tests.reliability.conftest import csv_bytes, wave_table

runner = CliRunner()

HOLD_LOCK = """
import sys, time
from pathlib import Path
from flows.locking import hold_study
with hold_study(Path(sys.argv[1]), purpose="a test holder"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""

HOLD_WAREHOUSE = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@contextmanager
def holder(script: str, target: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(target), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_a_second_writer_fails_at_once_naming_the_holder(study_copy: Callable[[], Path]) -> None:
    study_file = study_copy()
    inbox = study_file.parent / "inbox"
    (inbox / "endline.csv").write_bytes(csv_bytes(wave_table("endline", trust_shift=1)))
    with holder(HOLD_LOCK, study_file.parent, 60) as process:
        result = runner.invoke(app, ["ingest", str(study_file)])
        assert result.exit_code == 1, result.output
        line = " ".join(result.output.split())
        assert "another trustshift command holds study folder" in line
        assert f"(pid {process.pid}, host {socket.gethostname()}, a test holder)" in line
        assert "--wait" in line
        assert "unexpected error" not in line
    waves = load_study(study_file)
    with connect(warehouse_path(waves), read_only=True) as connection:
        stored = connection.execute("SELECT wave FROM waves ORDER BY wave").fetchall()
    assert stored == [("baseline",)]


def test_with_wait_a_second_writer_queues_behind_the_first(
    study_copy: Callable[[], Path],
) -> None:
    study_file = study_copy()
    inbox = study_file.parent / "inbox"
    (inbox / "endline.csv").write_bytes(csv_bytes(wave_table("endline", trust_shift=1)))
    started = time.monotonic()
    with holder(HOLD_LOCK, study_file.parent, 2):
        result = runner.invoke(app, ["ingest", str(study_file), "--wait"])
    assert result.exit_code == 0, result.output
    assert "wave 'endline' stored as version 1" in result.output
    assert time.monotonic() - started >= 1.0
    assert not lock_path(study_file.parent).read_text(encoding="utf-8")  # released, emptied


def test_a_warehouse_opened_by_another_process_is_a_clear_busy_error(
    study_copy: Callable[[], Path],
) -> None:
    study = load_study(study_copy())
    with (
        holder(HOLD_WAREHOUSE, warehouse_path(study), 60),
        pytest.raises(WarehouseBusyError, match=r"is in use by another process.*--wait"),
        connect(warehouse_path(study)),
    ):
        pass


def test_the_lock_is_reentrant_within_a_process(study_copy: Callable[[], Path]) -> None:
    from flows.locking import study_lock

    study = load_study(study_copy())
    with study_lock(study, purpose="outer"), study_lock(study, purpose="inner"):
        assert f'"pid": {os.getpid()}' in lock_path(study.root).read_text(encoding="utf-8")
