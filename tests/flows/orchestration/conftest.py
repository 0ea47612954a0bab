"""One Prefect test harness per session, shared by the flow tests of this folder only."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # great_expectations 1.24 imports the stdlib's deprecated sre_constants and sre_parse
    # modules, which warn once at import on Python 3.11 (the flows import it when a wave is
    # validated); nothing of ours is involved.
    warnings.filterwarnings(
        "ignore",
        message="module 'sre_(constants|parse)' is deprecated",
        category=DeprecationWarning,
    )
    import great_expectations  # noqa: F401

# The temporary server can take longer than Prefect's default 20 s on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server and database for the whole session (started once)."""
    from prefect.settings import temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings(updates={"flows.heartbeat_frequency": None}),
    ):
        yield


def set_aside(study_file: Path, file_name: str, folder: Path) -> Path:
    """Move one wave out of the study's inbox (to drop it in later); return its new path."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.move(study_file.parent / "inbox" / file_name, folder / file_name))


def drop_in(path: Path, inbox: Path) -> Path:
    """Copy a wave into an inbox the way a careful upload does: write aside, then rename."""
    partial = inbox / (path.name + ".partial")
    shutil.copyfile(path, partial)
    return partial.replace(inbox / path.name)
