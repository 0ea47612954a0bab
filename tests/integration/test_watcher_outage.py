"""The inbox watcher rides out a PostgreSQL warehouse that goes down (a throwaway cluster)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from flows.orchestration.watcher import InboxWatcher
from flows.study import Study, load_study
from flows.warehouse import WAREHOUSE_URL_ENVIRONMENT_VARIABLE
from tests.integration.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.postgres

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "studies" / "example"


def test_the_watcher_keeps_polling_while_the_postgresql_warehouse_is_down(
    postgres_cluster: PostgresCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "example"
    (folder / "inbox").mkdir(parents=True)
    shutil.copy(EXAMPLE / "study.toml", folder / "study.toml")
    shutil.copy(EXAMPLE / "inbox" / "baseline.csv", folder / "inbox" / "baseline.csv")
    monkeypatch.setenv(
        WAREHOUSE_URL_ENVIRONMENT_VARIABLE, postgres_cluster.create_database("watcher_outage")
    )
    study = load_study(folder / "study.toml")
    emitted: list[list[str]] = []

    def emit(_: Study, files: list[dict[str, Any]]) -> None:
        emitted.append([entry["file_name"] for entry in files])

    watcher = InboxWatcher([study], emit=emit)
    postgres_cluster.stop_server()
    try:
        with caplog.at_level(logging.WARNING, logger="trustshift.watcher"):
            assert watcher.poll_once() == {}
            assert watcher.poll_once() == {}
        assert len(caplog.records) == 1
        assert "cannot be read" in caplog.records[0].getMessage()
    finally:
        postgres_cluster.start_server()
    watcher.poll_once()
    watcher.poll_once()
    assert emitted == [["baseline.csv"]]
