"""Named points where the fault-injection suite kills the process (``kill -9`` on itself).

``TRUSTSHIFT_FAULT_POINT=<name>`` makes the process send itself SIGKILL when it reaches that
point: the way `tests/reliability` and `bench/reliability.py` check that a crash at the worst
moment (mid-transaction, after an export, before the run's outcome is recorded) loses and
duplicates nothing. Unset, a fault point costs one dictionary look-up.
"""

from __future__ import annotations

import os
import signal

FAULT_VARIABLE = "TRUSTSHIFT_FAULT_POINT"

# The points, where they sit, in the order a run reaches them.
FAULT_POINTS = (
    "ingest-after-archive",  # the raw file is archived; nothing is in the warehouse yet
    "ingest-mid-transaction",  # the wave row is inserted, interviews and answers are not
    "validate-before-store",  # the suites ran; nothing of the validation is stored
    "estimate-after-export",  # results/<run>/estimates.* written; no result table stored
    "estimate-mid-transaction",  # result tables inserted, not committed
    "report-after-export",  # reports/<run>/estimates.* written; no report.html yet
    "run-after-ingest",  # evaluate-study ingested the inbox, nothing validated yet
    "run-before-record",  # evaluate-study did everything but record its outcome
)


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL when ``TRUSTSHIFT_FAULT_POINT`` names this point."""
    if os.environ.get(FAULT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
