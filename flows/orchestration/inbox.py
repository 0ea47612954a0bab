"""The study inbox: which wave files are new, that is, whose checksum the warehouse lacks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flows.cli import inbox_files
from flows.ingest import file_checksum
from flows.study import Study
from flows.warehouse import connect, known_checksums, warehouse_path


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxFile:
    """A wave file waiting in a study's inbox, with the SHA-256 of its bytes."""

    path: Path
    sha256: str
    size_bytes: int


def new_inbox_files(study: Study) -> list[InboxFile]:
    """Files in the inbox whose checksum was never ingested (stored or replaced), in name order.

    A file already ingested under another name counts as known; so does a file that was
    replaced, so it is never stored again by accident.
    """
    with connect(warehouse_path(study), read_only=True) as connection:
        known = known_checksums(connection, study.id)
    found = []
    for path in inbox_files(study.inbox):
        checksum = file_checksum(path)
        if checksum not in known:
            found.append(InboxFile(path=path, sha256=checksum, size_bytes=path.stat().st_size))
    return found
