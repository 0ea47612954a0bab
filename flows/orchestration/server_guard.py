"""End Prefect's temporary server with the process that started it, however that process ends.

Prefect starts its temporary server as a child process and stops it when the run ends
normally; a run killed with ``kill -9`` never gets to, and the server kept listening. Runs
therefore start the server through this guard: ``python -m flows.orchestration.server_guard
<parent pid> <command...>`` starts the command, passes SIGTERM and SIGINT on to it, and ends it
as soon as the parent is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

POLL_SECONDS = 0.5


def guarded_command(command: Sequence[str], parent: int) -> list[str]:
    """``command`` wrapped so that it ends when process ``parent`` ends."""
    return [sys.executable, "-m", "flows.orchestration.server_guard", str(parent), *command]


class _GuardedSubprocess(types.ModuleType):
    """The ``subprocess`` module as Prefect's server module sees it: Popen goes through the
    guard."""

    def __init__(self) -> None:
        super().__init__("subprocess")

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(args: Sequence[str], *rest: Any, **options: Any) -> subprocess.Popen[Any]:  # noqa: N802 (the name Prefect calls)
        return subprocess.Popen(guarded_command(list(args), os.getpid()), *rest, **options)


@contextmanager
def server_ends_with_this_process() -> Iterator[None]:
    """While the block runs, a temporary Prefect server started here is guarded."""
    from flows.orchestration.settings import uses_prefect_server

    if uses_prefect_server():
        yield  # runs go to a server the user started: nothing temporary to guard
        return
    from prefect.server.api import server

    original = server.subprocess
    server.subprocess = _GuardedSubprocess()
    try:
        yield
    finally:
        server.subprocess = original


def main(argv: Sequence[str]) -> int:
    """Run ``argv[1:]`` until it ends or process ``argv[0]`` is gone."""
    parent, command = int(argv[0]), list(argv[1:])
    child = subprocess.Popen(command)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        try:
            return child.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        if os.getppid() != parent:
            child.terminate()
            try:
                return child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
