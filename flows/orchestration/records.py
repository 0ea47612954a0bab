"""Run records: one row per flow run in the warehouse `runs` table, with inputs and outcome."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from flows.software import software_versions
from flows.study import Study
from flows.warehouse import WarehouseConnection, connect, warehouse_path

RunStatus = Literal["running", "finished", "failed", "crashed"]

EVALUATE_STUDY = "evaluate-study"

_REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredWave:
    """The current version of a stored wave, as the analysis sees it."""

    wave: str
    version: int
    sha256: str
    file_name: str


@lru_cache(maxsize=1)
def code_version() -> str:
    """``trustshift <version>``, plus ``git describe`` of the checkout when there is one."""
    try:
        described = f"trustshift {version('trustshift')}"
    except PackageNotFoundError:
        described = "trustshift (not installed)"
    if (_REPOSITORY_ROOT / ".git").exists():
        try:
            completed = subprocess.run(
                ["git", "describe", "--always", "--dirty", "--tags"],
                cwd=_REPOSITORY_ROOT,
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return described
        if completed.returncode == 0 and completed.stdout.strip():
            described += f" (git {completed.stdout.strip()})"
    return described


# Packages whose source decides the numbers a run produces.
_CODE_PACKAGES = ("measurement", "flows", "expectations")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of the source of the code that produces results (Python and suite files).

    Unlike the git description, it changes only when that code changes, not with every
    commit to the repository (documentation, tests).
    """
    digest = hashlib.sha256()
    for package in _CODE_PACKAGES:
        folder = _REPOSITORY_ROOT / package
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".json", ".toml") and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(_REPOSITORY_ROOT)).encode("utf-8"))
                digest.update(path.read_bytes())
    return digest.hexdigest()


def stored_waves(study: Study) -> list[StoredWave]:
    """The current (stored) version of every wave of the study, in wave order."""
    with connect(warehouse_path(study), read_only=True) as connection:
        rows = connection.execute(
            "SELECT wave, version, sha256, file_name FROM waves "
            "WHERE study_id = ? AND status = 'stored' ORDER BY wave_order, version",
            [study.id],
        ).fetchall()
    return [
        StoredWave(wave=row[0], version=int(row[1]), sha256=row[2], file_name=row[3])
        for row in rows
    ]


def input_fingerprint(study: Study, waves: Sequence[StoredWave], *, extra: str = "") -> str:
    """SHA-256 over what an analysis depends on: study file and instrument, stored waves, code
    and the versions of the libraries that compute the results.

    Two runs with the same fingerprint would estimate the same numbers, so the second one
    reuses the first one's results instead of writing them again.
    """
    content = json.dumps(
        {
            "study_file_sha256": study.file_hash,
            "instrument": study.resolved_instrument().model_dump(mode="json"),
            "waves": sorted((wave.wave, wave.version, wave.sha256) for wave in waves),
            "code": code_fingerprint(),
            "software": software_versions(),
            "extra": extra,
        },
        sort_keys=True,
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@contextmanager
def _runs_connection(
    study: Study, connection: WarehouseConnection | None
) -> Iterator[WarehouseConnection]:
    """The caller's connection (inside its transaction), or a new one to the warehouse."""
    if connection is not None:
        yield connection
        return
    with connect(warehouse_path(study)) as opened:
        yield opened


def record_run_start(
    study: Study,
    *,
    run_id: str,
    kind: str,
    inputs: Mapping[str, Any],
    started_at: datetime,
    connection: WarehouseConnection | None = None,
) -> None:
    """Insert the run's row with status ``running`` (a re-run of the same id replaces it).

    This and :func:`record_run_end` are the only writers of the ``runs`` table.
    """
    with _runs_connection(study, connection) as connection:
        connection.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
        connection.execute(
            "INSERT INTO runs (run_id, study_id, kind, started_at, finished_at, status, "
            "code_version, study_file_sha256, inputs, message, pid, host) "
            "VALUES (?, ?, ?, ?, NULL, 'running', ?, ?, ?, NULL, ?, ?)",
            [
                run_id,
                study.id,
                kind,
                started_at,
                code_version(),
                study.file_hash,
                json.dumps(dict(inputs), sort_keys=True, default=str),
                os.getpid(),
                socket.gethostname(),
            ],
        )


def record_run_end(
    study: Study,
    *,
    run_id: str,
    status: RunStatus,
    message: str,
    inputs: Mapping[str, Any] | None = None,
    finished_at: datetime,
    connection: WarehouseConnection | None = None,
) -> None:
    """Set the run's outcome, and its inputs when they became known during the run.

    Pass ``connection`` to record the outcome inside the transaction that wrote the results.
    """
    with _runs_connection(study, connection) as connection:
        if inputs is None:
            connection.execute(
                "UPDATE runs SET status = ?, message = ?, finished_at = ? WHERE run_id = ?",
                [status, message, finished_at, run_id],
            )
        else:
            connection.execute(
                "UPDATE runs SET status = ?, message = ?, finished_at = ?, inputs = ? "
                "WHERE run_id = ?",
                [
                    status,
                    message,
                    finished_at,
                    json.dumps(dict(inputs), sort_keys=True, default=str),
                    run_id,
                ],
            )


def finished_run_with_fingerprint(
    study: Study, *, kind: str, fingerprint: str
) -> dict[str, Any] | None:
    """The latest finished run of this kind whose inputs had this fingerprint, or None.

    Returns the run's id and its parsed inputs (which hold its ``outputs``).
    """
    with connect(warehouse_path(study), read_only=True) as connection:
        rows = connection.execute(
            "SELECT run_id, inputs FROM runs WHERE study_id = ? AND kind = ? "
            "AND status = 'finished' ORDER BY finished_at DESC",
            [study.id, kind],
        ).fetchall()
    for run_id, raw in rows:
        try:
            inputs = json.loads(raw)
        except (TypeError, ValueError):
            continue
        if isinstance(inputs, dict) and inputs.get("fingerprint") == fingerprint:
            return {"run_id": run_id, "inputs": inputs}
    return None


def run_history(study: Study, *, kind: str | None = None) -> list[dict[str, Any]]:
    """Every recorded run of a study, oldest first (for status displays and tests)."""
    sql = (
        "SELECT run_id, kind, started_at, finished_at, status, code_version, "
        "study_file_sha256, inputs, message FROM runs WHERE study_id = ?"
    )
    parameters: list[object] = [study.id]
    if kind is not None:
        sql += " AND kind = ?"
        parameters.append(kind)
    with connect(warehouse_path(study), read_only=True) as connection:
        cursor = connection.execute(sql + " ORDER BY started_at", parameters)
        names = [description[0] for description in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run_finished(study: Study, run_id: str) -> bool:
    """True when the warehouse holds a finished run with this id (of any kind)."""
    with connect(warehouse_path(study), read_only=True) as connection:
        row = connection.execute(
            "SELECT status FROM runs WHERE run_id = ? AND study_id = ?", [run_id, study.id]
        ).fetchone()
    return row is not None and row[0] == "finished"
