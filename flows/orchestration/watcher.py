"""The inbox watcher: poll study inboxes and emit `trustshift.wave.landed` when a file lands.

A file has landed when its checksum is not in the warehouse, it was not announced before,
and its size and modification time did not change between two polls (so a file still being
copied is not announced half-written). The warehouse is read once per study at start:
afterwards the watcher never opens it, so it never holds a lock a flow run needs. A warehouse
that cannot be read (a run holds the DuckDB file, the PostgreSQL server is down or refuses the
login) is logged once with what to do, and read again at the next poll: the watcher keeps
running and checks that study's inbox once the warehouse answers. A file counts as announced
only once its event was emitted: when emitting fails (the Prefect API is unreachable), the
failure is logged once and the same files are announced again at the next poll.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from flows.errors import WarehouseBusyError, WarehouseError
from flows.ingest import file_checksum
from flows.orchestration.inbox import inbox_files
from flows.study import Study
from flows.warehouse import connect, known_checksums, warehouse_path

WAVE_LANDED_EVENT = "trustshift.wave.landed"

logger = logging.getLogger("trustshift.watcher")

Emitter = Callable[[Study, list[dict[str, Any]]], None]


def study_resource_id(study_id: str) -> str:
    """The Prefect resource id of a study in events and triggers."""
    return f"trustshift.study.{study_id}"


def emit_wave_landed(study: Study, files: list[dict[str, Any]]) -> None:
    """Emit one `trustshift.wave.landed` event for a study, listing the files (names, sizes,
    checksums only)."""
    from prefect.events import emit_event

    emit_event(
        event=WAVE_LANDED_EVENT,
        resource={
            "prefect.resource.id": study_resource_id(study.id),
            "prefect.resource.name": study.id,
            "trustshift.study-file": str(study.path),
        },
        payload={"files": files},
    )


@dataclass(slots=True)
class _StudyState:
    study: Study
    known: set[str] | None = None
    seen: dict[Path, tuple[int, float]] = field(default_factory=dict)
    announced: set[str] = field(default_factory=set)
    unavailable: bool = False
    emit_failing: bool = False


def warehouse_unavailable(error: BaseException) -> str | None:
    """What to do when ``error`` says the warehouse cannot be read now, else None.

    DuckDB's lock, the shell's warehouse errors (an unreachable PostgreSQL server, a refused
    login, a busy file) and psycopg's operational errors (a connection lost mid-read) are
    conditions of the moment for a watcher: it reads the warehouse again at the next poll.
    """
    if isinstance(error, WarehouseBusyError | duckdb.IOException):
        return "another process holds the warehouse; the watcher reads it again when it is free"
    if isinstance(error, WarehouseError):
        return "fix the warehouse setting or the server named above"
    if type(error).__module__.startswith("psycopg") and type(error).__name__ in (
        "OperationalError",
        "InterfaceError",
    ):
        return (
            "check that the PostgreSQL server of the warehouse is running and reachable from "
            "this machine ([warehouse] url or TRUSTSHIFT_WAREHOUSE_URL, PGPASSWORD or ~/.pgpass)"
        )
    return None


def _first_line(error: BaseException) -> str:
    """The error's type and the first line of its message, for a one-line log entry."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class InboxWatcher:
    """Polls the inboxes of several studies and emits an event per study with new files."""

    def __init__(self, studies: Sequence[Study], *, emit: Emitter = emit_wave_landed) -> None:
        self._states = [_StudyState(study=study) for study in studies]
        self._emit = emit

    def poll_once(self) -> dict[str, list[dict[str, Any]]]:
        """Look at every inbox once; emit and return study id -> files announced now."""
        announced: dict[str, list[dict[str, Any]]] = {}
        for state in self._states:
            files = self._landed(state)
            if not files:
                continue
            try:
                self._emit(state.study, files)
            except Exception as error:
                self._report_emit_failure(state, error)
                continue
            state.announced.update(entry["sha256"] for entry in files)
            if state.emit_failing:
                state.emit_failing = False
                logger.info(
                    "inbox watcher: the files of study %r were announced after an earlier failure.",
                    state.study.id,
                )
            announced[state.study.id] = files
        return announced

    def _landed(self, state: _StudyState) -> list[dict[str, Any]]:
        if state.known is None:
            try:
                with connect(warehouse_path(state.study), read_only=True) as connection:
                    state.known = known_checksums(connection, state.study.id)
            except Exception as error:
                advice = warehouse_unavailable(error)
                if advice is None:
                    raise
                self._report_unavailable(state, error, advice)
                return []
            if state.unavailable:
                state.unavailable = False
                logger.info(
                    "inbox watcher: the warehouse of study %r can be read again; watching its "
                    "inbox.",
                    state.study.id,
                )
        landed = []
        current: dict[Path, tuple[int, float]] = {}
        for path in inbox_files(state.study.inbox):
            try:
                stat = path.stat()
            except OSError:
                continue
            signature = (stat.st_size, stat.st_mtime)
            current[path] = signature
            if state.seen.get(path) != signature:
                continue  # new or still changing: wait for one more poll
            checksum = file_checksum(path)
            if checksum in state.known or checksum in state.announced:
                continue
            landed.append({"file_name": path.name, "sha256": checksum, "size_bytes": stat.st_size})
        state.seen = current
        return landed

    @staticmethod
    def _report_unavailable(state: _StudyState, error: BaseException, advice: str) -> None:
        """Log an outage once (a warning with what to do); later failed polls at debug level."""
        level = logging.DEBUG if state.unavailable else logging.WARNING
        state.unavailable = True
        logger.log(
            level,
            "inbox watcher: the warehouse of study %r cannot be read (%s); its inbox is not "
            "checked until it can. To fix: %s. Trying again at the next poll.",
            state.study.id,
            _first_line(error),
            advice,
        )

    @staticmethod
    def _report_emit_failure(state: _StudyState, error: BaseException) -> None:
        """Log a failed announcement once per streak (a warning with what to do)."""
        level = logging.DEBUG if state.emit_failing else logging.WARNING
        state.emit_failing = True
        logger.log(
            level,
            "inbox watcher: the new files of study %r could not be announced (%s). Check that "
            "the Prefect API (PREFECT_API_URL) is reachable; the files are announced again at "
            "the next poll.",
            state.study.id,
            _first_line(error),
        )

    def watch(self, *, interval_seconds: float, stop: threading.Event) -> None:
        """Poll every ``interval_seconds`` until ``stop`` is set."""
        while not stop.is_set():
            self.poll_once()
            stop.wait(interval_seconds)

    def start(self, *, interval_seconds: float) -> tuple[threading.Thread, threading.Event]:
        """Watch in a daemon thread (with the caller's Prefect settings); returns the thread
        and the event that stops it."""
        stop = threading.Event()
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run,
            args=(self.watch,),
            kwargs={"interval_seconds": interval_seconds, "stop": stop},
            name="trustshift-inbox-watcher",
            daemon=True,
        )
        thread.start()
        return thread, stop
