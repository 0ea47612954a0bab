"""The study inbox: which wave files are new, that is, whose checksum the warehouse lacks."""

from __future__ import annotations

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
