"""The study inbox: which wave files are new, that is, whose checksum the warehouse lacks."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from flows.ingest import file_checksum
from flows.study import Study
from flows.warehouse import connect, known_checksums, warehouse_path

INBOX_IGNORED_SUFFIXES = (".partial", ".tmp", ".md", ".txt", ".json")


def inbox_files(inbox: Path) -> list[Path]:
    """Wave files waiting in an inbox: regular, visible files, in name order."""
    if not inbox.is_dir():
        return []
    return sorted(
        path
        for path in inbox.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and not path.name.endswith(INBOX_IGNORED_SUFFIXES)
    )


logger = logging.getLogger("trustshift.inbox")


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxFile:
    """A wave file waiting in a study's inbox, with the SHA-256 of its bytes."""

    path: Path
    sha256: str
    size_bytes: int


def settled_files(paths: list[Path], settle_seconds: float) -> list[Path]:
    """The files that are not being written: those modified less than ``settle_seconds`` ago
    must keep their size and modification time for that long (the watcher's rule, for runs
    started by hand or on a schedule). A file that is still changing is left for the next run.
    """
    if settle_seconds <= 0 or not paths:
        return paths
    now = time.time()
    states = {path: _state(path) for path in paths}
    young = [path for path, state in states.items() if now - state[1] / 1e9 < settle_seconds]
    if not young:
        return paths
    time.sleep(settle_seconds)
    changed = {path for path in young if _state(path) != states[path]}
    for path in sorted(changed):
        logger.warning("%s is still being written; it is left for the next run.", path.name)
    return [path for path in paths if path not in changed]


def _state(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except FileNotFoundError:
        return (-1, -1)
    return status.st_size, status.st_mtime_ns


def new_inbox_files(study: Study) -> list[InboxFile]:
    """Files in the inbox whose checksum was never ingested (stored or replaced), in name order.

    A file already ingested under another name counts as known; so does a file that was
    replaced, so it is never stored again by accident.
    """
    with connect(warehouse_path(study), read_only=True) as connection:
        known = known_checksums(connection, study.id)
    found = []
    for path in settled_files(inbox_files(study.inbox), study.locations.inbox_settle_seconds):
        checksum = file_checksum(path)
        if checksum not in known:
            found.append(InboxFile(path=path, sha256=checksum, size_bytes=path.stat().st_size))
    return found
