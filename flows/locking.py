"""One writer per study: a lock file beside the study file, held while a command changes it.

Ingest, validate, estimate, report and run each hold the study's lock (``.trustshift.lock``
in the study folder) while they work; a second command on the same study fails at once with
who holds it and since when, or waits for it (``wait``). The lock is an ``flock`` on the
file, so the operating system releases it when its process ends, however it ends; the
holder's pid, host and start time are written into the file for the message. The lock is
re-entrant within a process (a run that ingests, then estimates, takes it once).

Whoever takes the lock first in a process also settles what crashed runs left behind: a
``runs`` row still ``running`` while nobody holds the lock belongs to a process that died,
and is marked ``crashed``.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flows.errors import WarehouseBusyError
from flows.study import Study

LOCK_FILE_NAME = ".trustshift.lock"
POLL_SECONDS = 0.2


@dataclass(slots=True)
class _Held:
    descriptor: int
    depth: int


_held: dict[Path, _Held] = {}
_guard = threading.RLock()


def lock_path(root: Path) -> Path:
    """The lock file of the study whose folder is ``root``."""
    return root / LOCK_FILE_NAME


def holder_description(path: Path) -> str:
    """'since <time> (pid <pid>, host <host>, <purpose>)' from a lock file, as far as known."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    if not isinstance(holder, dict) or not holder:
        return "(holder unknown)"
    return (
        f"since {holder.get('since', '?')} (pid {holder.get('pid', '?')}, host "
        f"{holder.get('host', '?')}, {holder.get('purpose', 'a trustshift command')})"
    )


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def hold_study(
    root: Path,
    *,
    purpose: str,
    wait: bool | float = False,
    on_first: Callable[[], object] | None = None,
) -> Iterator[None]:
    """Hold the study's lock for the block.

    ``wait``: False fails at once when another process holds it, True waits as long as it
    takes, a number waits that many seconds. ``on_first`` runs once the lock is taken by the
    outermost holder in this process (to reconcile crashed runs).
    """
    path = lock_path(root.resolve())
    with _guard:
        held = _held.get(path)
        if held is not None:
            held.depth += 1
    if held is not None:
        try:
            yield
        finally:
            with _guard:
                held.depth -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = None if wait is True else time.monotonic() + (0.0 if wait is False else wait)
        while not _try_lock(descriptor):
            if deadline is not None and time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    f"hold_study: another trustshift command holds study folder {str(root)!r} "
                    f"{holder_description(path)}; two commands writing one study at once would "
                    "contend for its warehouse. Wait for it to end, or re-run with --wait to "
                    "queue behind it."
                )
            time.sleep(POLL_SECONDS)
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now().isoformat(timespec="seconds"),
            "purpose": purpose,
        }
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(holder).encode("utf-8"), 0)
        with _guard:
            _held[path] = _Held(descriptor=descriptor, depth=1)
        try:
            if on_first is not None:
                on_first()
            yield
        finally:
            with _guard:
                del _held[path]
            os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)  # closing releases the flock


def reconcile_crashed_runs(study: Study) -> int:
    """Mark ``crashed`` every ``running`` run of the study; call only while holding its lock.

    Every command that records a run holds the study's lock for as long as the run lasts, so
    a run still ``running`` when the lock is free was left by a process that died (killed,
    out of memory, a power cut). Returns how many rows were marked.
    """
    from flows.warehouse import connect, has_table, warehouse_exists, warehouse_path

    database = warehouse_path(study)
    if not warehouse_exists(database):
        return 0
    with connect(database) as connection:
        if not has_table(connection, "runs"):
            return 0
        found = connection.execute(
            "SELECT count(*) FROM runs WHERE study_id = ? AND status = 'running'", [study.id]
        ).fetchone()
        count = int(found[0]) if found else 0
        if count:
            connection.execute(
                "UPDATE runs SET status = 'crashed', finished_at = ?, message = 'crashed: process "
                "' || coalesce(CAST(pid AS VARCHAR), '?') || ' on ' || coalesce(host, '?') || "
                "' ended without recording an outcome (found when the study was next opened)' "
                "WHERE study_id = ? AND status = 'running'",
                [datetime.now(), study.id],
            )
    return count


@contextmanager
def study_lock(study: Study, *, purpose: str, wait: bool | float = False) -> Iterator[None]:
    """Hold ``study``'s lock for the block, settling crashed runs when first taken."""
    with hold_study(
        study.root, purpose=purpose, wait=wait, on_first=lambda: reconcile_crashed_runs(study)
    ):
        yield
