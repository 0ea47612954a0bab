"""Inbox stability and confined locations."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from flows.orchestration.inbox import settled_files
from flows.study import load_study


def test_a_file_still_being_written_is_left_for_the_next_run(tmp_path: Path) -> None:
    done = tmp_path / "baseline.csv"
    done.write_text("a,b\n1,2\n", encoding="utf-8")
    growing = tmp_path / "endline.csv"
    growing.write_text("a,b\n", encoding="utf-8")
    stop = threading.Event()

    def upload() -> None:
        while not stop.is_set():
            with growing.open("a", encoding="utf-8") as handle:
                handle.write("1,2\n")
            time.sleep(0.05)

    writer = threading.Thread(target=upload)
    writer.start()
    try:
        assert settled_files([done, growing], 0.5) == [done]
    finally:
        stop.set()
        writer.join()
    assert settled_files([done, growing], 0.3) == [done, growing]


def test_an_absolute_location_is_accepted_when_declared(
    study_copy: Callable[[], Path], tmp_path: Path
) -> None:
    study_file = study_copy()
    elsewhere = tmp_path / "big-disk" / "trustshift.duckdb"
    study_file.write_text(
        study_file.read_text(encoding="utf-8")
        + f'\n[locations]\nwarehouse = "{elsewhere}"\nallow_outside = true\n',
        encoding="utf-8",
    )
    assert load_study(study_file).root / load_study(study_file).locations.warehouse == elsewhere
