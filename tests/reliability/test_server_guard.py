"""The temporary Prefect server ends with the process that started it, even on kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.orchestration.server_guard import _GuardedSubprocess, guarded_command

PARENT = """
import os, subprocess, sys, time
from flows.orchestration.server_guard import guarded_command
server = [sys.executable, "-c",
          "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)",
          sys.argv[1]]
subprocess.Popen(guarded_command(server, os.getpid()))
print("started", flush=True)
time.sleep(120)
"""


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except FileNotFoundError:
        return True
    return "State:\tZ" in state


def test_the_guarded_server_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "server.pid"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(pid_file)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        server = int(pid_file.read_text())
        assert not gone(server)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while not gone(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gone(server)
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def test_prefects_popen_goes_through_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    # What server_ends_with_this_process puts in place of prefect.server.api.server's
    # subprocess module (importing Prefect's server here would cost seconds).
    started: list[list[str]] = []
    monkeypatch.setattr(subprocess, "Popen", lambda args, *rest, **options: started.append(args))
    guarded = _GuardedSubprocess()
    guarded.Popen([sys.executable, "-m", "uvicorn"])
    assert started == [guarded_command([sys.executable, "-m", "uvicorn"], os.getpid())]
    assert started[0][1:4] == ["-m", "flows.orchestration.server_guard", str(os.getpid())]
    assert guarded.PIPE == subprocess.PIPE  # everything else is the real module
