"""Study file changed after ingestion: notice it per wave and re-derive from the raw archive.

Each stored wave version records the hash of what coded it (the study file and its resolved
instrument). When that differs from the current one, the wave is coded again from its raw
file in the archive, with the new roles and coding, as a new version; the old version stays
in the ``waves`` table (status ``replaced``) and the raw file stays in the archive. The new
version has never been validated, so the next validation runs on it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

from flows.study import Study
from flows.warehouse import (
    WarehouseConnection,
    connect,
    has_table,
    warehouse_exists,
    warehouse_path,
)

CODINGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS wave_codings (
    study_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    coding_sha256 VARCHAR NOT NULL,
    study_file_sha256 VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
"""


def coding_hash(study: Study) -> str:
    """SHA-256 of what codes a wave: the study file's bytes and the resolved instrument."""
    digest = hashlib.sha256(study.path.read_bytes())
    digest.update(json.dumps(study.resolved_instrument().model_dump(), sort_keys=True).encode())
    return digest.hexdigest()


def record_coding(connection: WarehouseConnection, study: Study, wave: str, version: int) -> None:
    """Remember which study file coded a stored wave version (inside its ingest transaction)."""
    connection.execute(CODINGS_SCHEMA)
    connection.execute(
        "INSERT INTO wave_codings VALUES (?, ?, ?, ?, ?, ?)",
        [study.id, wave, version, coding_hash(study), study.file_hash, datetime.now()],
    )


def waves_to_rederive(study: Study) -> list[tuple[str, Path, str]]:
    """(wave, raw file in the archive, original file name) of each stored wave coded with
    another study file than the current one."""
    database = warehouse_path(study)
    if not warehouse_exists(database):
        return []
    current = coding_hash(study)
    with connect(database, read_only=True) as connection:
        if not has_table(connection, "waves"):
            return []
        recorded = has_table(connection, "wave_codings")
        rows = connection.execute(
            "SELECT w.wave, w.archive_path, w.file_name, "
            + ("c.coding_sha256 " if recorded else "NULL ")
            + "FROM waves w "
            + ("LEFT JOIN wave_codings c USING (study_id, wave, version) " if recorded else "")
            + "WHERE w.study_id = ? AND w.status = 'stored' ORDER BY w.wave_order",
            [study.id],
        ).fetchall()
    changed = []
    for wave, archive_path, file_name, coded_with in rows:
        if coded_with == current:
            continue
        path = Path(archive_path)
        changed.append((str(wave), path if path.is_absolute() else study.root / path, file_name))
    return changed
