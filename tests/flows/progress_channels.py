"""What the progress tests stand in for: a terminal, and a flow run's log."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


class Terminal(io.StringIO):
    """A stand-in for standard error on a terminal."""

    def isatty(self) -> bool:
        return True


class Collected(logging.Handler):
    """Keep the messages of the records a logger handles."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def flow_run_log_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Collected, Terminal]]:
    """Collect what flow runs log while standard error is a terminal, inside the block."""
    collected = Collected()
    # Prefect's run loggers do not propagate to the root logger that caplog reads.
    run_logger = logging.getLogger("prefect.flow_runs")
    run_logger.addHandler(collected)
    terminal = Terminal()
    try:
        with monkeypatch.context() as patch:
            patch.setattr(sys, "stderr", terminal)
            yield collected, terminal
    finally:
        run_logger.removeHandler(collected)
