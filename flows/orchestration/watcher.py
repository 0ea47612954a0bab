"""The inbox watcher: poll study inboxes and emit `trustshift.wave.landed` when a file lands.

A file has landed when its checksum is not in the warehouse, it was not announced before,
and its size and modification time did not change between two polls (so a file still being
copied is not announced half-written). The warehouse is read once per study at start:
afterwards the watcher never opens it, so it never holds a lock a flow run needs.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from flows.ingest import file_checksum
from flows.orchestration.inbox import inbox_files
from flows.study import Study
from flows.warehouse import connect, known_checksums, warehouse_path

WAVE_LANDED_EVENT = "trustshift.wave.landed"

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
            if files:
                self._emit(state.study, files)
                announced[state.study.id] = files
        return announced

    def _landed(self, state: _StudyState) -> list[dict[str, Any]]:
        if state.known is None:
            try:
                with connect(warehouse_path(state.study), read_only=True) as connection:
                    state.known = known_checksums(connection, state.study.id)
            except duckdb.IOException:
                return []  # a run holds the warehouse; try again at the next poll
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
            state.announced.add(checksum)
            landed.append({"file_name": path.name, "sha256": checksum, "size_bytes": stat.st_size})
        state.seen = current
        return landed

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
