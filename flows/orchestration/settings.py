"""Prefect settings for trustshift runs: where Prefect keeps its state and what it may skip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Prefect's own folder (its SQLite database, result store, logs) beside the study file, so
# that `trustshift run` leaves nothing in the home directory and later runs reuse it (a new
# folder has to be created and migrated: about 5 s more on the first run).
PREFECT_HOME_FOLDER = ".prefect"

# The ephemeral server can take more than Prefect's default 20 s to start on a busy machine.
MINIMUM_STARTUP_TIMEOUT_SECONDS = 90


def prefect_home_for(study_root: Path) -> Path:
    """The Prefect home used for a study's in-process runs: ``<study folder>/.prefect``."""
    return study_root / PREFECT_HOME_FOLDER


def uses_prefect_server() -> bool:
    """True when runs go to a Prefect server the user chose (PREFECT_API_URL is set)."""
    from prefect.settings import get_current_settings

    return bool(os.environ.get("PREFECT_API_URL") or get_current_settings().api.url)


def run_settings(*, home: Path | None = None, heartbeat: bool = False) -> dict[str, Any]:
    """Setting updates for one in-process run.

    Without a heartbeat a flow run ends about 1 s sooner (Prefect joins the heartbeat thread
    at the end of every run); a served deployment keeps it so the server can tell a crashed
    run. ``home`` is applied only when the user set neither PREFECT_HOME nor PREFECT_API_URL.
    """
    from prefect.settings import get_current_settings

    current = get_current_settings()
    updates: dict[str, Any] = {
        "server.analytics_enabled": False,
        "server.ephemeral.startup_timeout_seconds": max(
            current.server.ephemeral.startup_timeout_seconds, MINIMUM_STARTUP_TIMEOUT_SECONDS
        ),
    }
    if not heartbeat:
        updates["flows.heartbeat_frequency"] = None
    if home is not None and "PREFECT_HOME" not in os.environ and not uses_prefect_server():
        home.mkdir(parents=True, exist_ok=True)
        updates["home"] = home
    return updates


@contextmanager
def prefect_run_settings(*, home: Path | None = None, heartbeat: bool = False) -> Iterator[None]:
    """Apply :func:`run_settings` for the duration of a block."""
    from prefect.settings import temporary_settings

    with temporary_settings(updates=run_settings(home=home, heartbeat=heartbeat)):
        yield
