"""Freed memory goes back to the system: set by the entry points, never by a library call."""

from __future__ import annotations

import ctypes
import gc
import subprocess
import sys
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from flows import cli
from flows.ingest import ingest_wave
from flows.orchestration import process_memory
from flows.study import load_study

# In a fresh interpreter: a 24 MB block freed raises glibc's mmap threshold to 24 MB, so a
# 16 MB block then comes from the heap; printed is how much of it stays resident once freed.
KEPT_AFTER_FREE = """
import sys
import numpy as np
from flows.orchestration import process_memory

def resident():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) * 1024

if sys.argv[1] == "set":
    assert process_memory.return_freed_memory()
first = np.ones(24 << 17)
del first
before = resident()
second = np.ones(16 << 17)
del second
print(resident() - before)
"""


def kept_after_free(mode: str) -> int:
    found = subprocess.run(
        [sys.executable, "-c", KEPT_AFTER_FREE, mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(found.stdout.strip())


def test_with_the_threshold_fixed_a_freed_block_goes_back_to_the_system() -> None:
    assert kept_after_free("unset") > 12 << 20
    assert kept_after_free("set") < 4 << 20


class MalloptCalls:
    """``ctypes.CDLL`` as it is, recording every ``mallopt`` call made through it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.real = ctypes.CDLL

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        library = self.real(*args, **kwargs)
        recorder = self

        class Recorded:
            def __getattr__(self, name: str) -> Any:
                found = getattr(library, name)
                if name != "mallopt":
                    return found

                def mallopt(*arguments: Any) -> Any:
                    recorder.calls.append(arguments)
                    return found(*arguments)

                return mallopt

        return Recorded()


def test_estimate_study_leaves_the_process_allocator_settings_alone(
    small_study: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.estimation import estimate_study

    study = load_study(small_study())
    for wave in ("baseline", "endline"):
        ingest_wave(study, study.inbox / f"{wave}.csv")
    recorded = MalloptCalls()
    monkeypatch.setattr(ctypes, "CDLL", recorded)
    entry_points: list[str] = []

    def record_entry() -> bool:
        entry_points.append("set")
        return True

    monkeypatch.setattr(process_memory, "return_freed_memory", record_entry)
    estimate_study(study, bootstrap_draws=0)
    assert recorded.calls == [] and entry_points == []
    # The recorder does see a call made through ctypes.
    monkeypatch.undo()
    monkeypatch.setattr(ctypes, "CDLL", recorded)
    assert process_memory.return_freed_memory()
    assert recorded.calls == [(-3, process_memory.MMAP_THRESHOLD_BYTES)]


def test_every_command_fixes_the_threshold_first(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def record_call() -> bool:
        calls.append("set")
        return True

    monkeypatch.setattr(process_memory, "return_freed_memory", record_call)
    result = CliRunner().invoke(cli.app, ["version"])
    assert result.exit_code == 0, result.output
    assert calls == ["set"]


# In a fresh interpreter: 200 MB of Arrow arrays of 100 KB each, freed; printed is how much
# of it stays resident, then how much after trim_freed_memory.
ARROW_KEPT = """
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from flows.orchestration import process_memory

def resident():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) * 1024

base = pa.array(np.arange(12_500, dtype=np.int64))
before = resident()
arrays = [pc.add(base, step) for step in range(2_000)]
del arrays
kept = resident() - before
process_memory.trim_freed_memory()
print(kept, resident() - before)
"""


def test_trimming_returns_what_arrows_pool_kept_of_freed_arrays() -> None:
    found = subprocess.run(
        [sys.executable, "-c", ARROW_KEPT], capture_output=True, text=True, check=True
    )
    kept, after_trim = (int(value) for value in found.stdout.split())
    assert kept > 150 << 20
    assert after_trim < 30 << 20


def test_trimming_collects_what_reference_cycles_hold() -> None:
    class Node:
        values: np.ndarray
        itself: Node

    gc.disable()
    try:
        node = Node()
        node.values = np.ones(1_000)
        node.itself = node
        values = weakref.ref(node.values)
        del node
        assert values() is not None
        process_memory.trim_freed_memory()
        assert values() is None
    finally:
        gc.enable()
