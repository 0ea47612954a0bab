"""Progress of a long stage: a rich bar on a terminal, Prefect log lines in a flow run, never both.

Inside a Prefect flow or task run the stage logs through the run's logger (what the Prefect UI
shows) at each tenth of the work; otherwise, when standard error is a terminal, a transient
rich progress bar is drawn there; otherwise (a pipe, a test, a cron job) nothing is shown.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

Channel = Literal["prefect", "terminal", "none"]

Advance = Callable[[int], None]


def progress_channel() -> Channel:
    """Where progress goes now: the Prefect run's log, a terminal bar, or nowhere."""
    # Prefect is imported only by flows; a process that never imported it is not in a run.
    if "prefect" in sys.modules:
        from prefect.context import FlowRunContext, TaskRunContext

        if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
            return "prefect"
    if sys.stderr.isatty():
        return "terminal"
    return "none"


def _run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    from prefect.logging import get_run_logger

    return get_run_logger()


@contextmanager
def stage_progress(description: str, total: int, counting: str = "") -> Iterator[Advance]:
    """Report ``total`` units of work of one stage; yields ``advance(units)``.

    ``counting`` names what the units are when the description does not, written after the
    counts ("draws across 92 estimates" logs "...: 1000 of 1839816 draws across 92 estimates
    (10%)"), so that a count of draws in many estimates is not read as one estimate's draws.
    """
    channel = progress_channel()
    unit = f" {counting}" if counting else ""
    if channel == "prefect" and total > 0:
        logger = _run_logger()
        done = 0
        reported = 0

        def log_advance(units: int) -> None:
            nonlocal done, reported
            done += units
            tenth = min(10, done * 10 // total)
            if tenth > reported:
                reported = tenth
                logger.info("%s: %d of %d%s (%d%%)", description, done, total, unit, tenth * 10)

        yield log_advance
    elif channel == "terminal" and total > 0:
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(
                f"{description} ({counting})" if counting else description, total=total
            )
            yield lambda units: bar.advance(task, units)
    else:
        yield lambda units: None
