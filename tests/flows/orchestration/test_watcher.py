"""The inbox watcher announces each new, fully written file once."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows.errors import WarehouseBusyError, WarehouseError
from flows.ingest import ingest_wave
from flows.orchestration.watcher import (
    WAVE_LANDED_EVENT,
    InboxWatcher,
    study_resource_id,
)
from flows.study import Study, load_study


def recording_watcher(studies: list[Study]) -> tuple[InboxWatcher, list[tuple[str, list[str]]]]:
    emitted: list[tuple[str, list[str]]] = []

    def emit(study: Study, files: list[dict[str, Any]]) -> None:
        emitted.append((study.id, [entry["file_name"] for entry in files]))

    return InboxWatcher(studies, emit=emit), emitted


def test_the_watcher_announces_a_new_file_once_it_stopped_changing(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    ingest_wave(study, study.inbox / "baseline.csv")
    watcher, emitted = recording_watcher([study])
    assert watcher.poll_once() == {}
    announced = watcher.poll_once()
    assert emitted == [("small", ["endline.csv"])]
    assert announced["small"][0]["sha256"]
    assert watcher.poll_once() == {}
    assert len(emitted) == 1


def test_the_watcher_waits_while_a_file_is_still_being_written(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    (study.inbox / "endline.csv").unlink()
    (study.inbox / "baseline.csv").unlink()
    watcher, emitted = recording_watcher([study])
    growing = study.inbox / "follow_up.csv"
    growing.write_text("respondent_id,_uuid\n", encoding="utf-8")
    watcher.poll_once()
    with growing.open("a", encoding="utf-8") as handle:
        handle.write("R1,x\n")
    os.utime(growing, (1, 1))
    watcher.poll_once()
    assert emitted == []
    watcher.poll_once()
    assert emitted == [("small", ["follow_up.csv"])]


def test_the_watcher_ignores_partial_uploads_and_hidden_files(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    for name in ("baseline.csv", "endline.csv"):
        (study.inbox / name).rename(study.inbox / f"{name}.partial")
    (study.inbox / ".DS_Store").write_bytes(b"x")
    watcher, emitted = recording_watcher([study])
    watcher.poll_once()
    watcher.poll_once()
    assert emitted == []


def test_wave_landed_events_name_the_study_as_their_resource() -> None:
    assert WAVE_LANDED_EVENT == "trustshift.wave.landed"
    assert study_resource_id("example") == "trustshift.study.example"


def test_the_watcher_survives_an_unreachable_postgresql_warehouse_and_retries(
    small_study: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import psycopg

    from flows.orchestration import watcher as watcher_module

    study = load_study(small_study())
    real_connect = watcher_module.connect
    failures: list[BaseException] = [
        psycopg.OperationalError("connection to server at 127.0.0.1, port 5 failed: refused"),
        WarehouseError("connect: the PostgreSQL warehouse cannot be reached (refused). Check."),
        WarehouseBusyError("connect: the warehouse is in use by another process."),
    ]

    def flaky_connect(location: object, *, read_only: bool = False) -> Any:
        if failures:
            raise failures.pop(0)
        return real_connect(location, read_only=read_only)  # type: ignore[arg-type]

    monkeypatch.setattr(watcher_module, "connect", flaky_connect)
    watcher, emitted = recording_watcher([study])
    with caplog.at_level(logging.DEBUG, logger="trustshift.watcher"):
        for _ in range(3):
            assert watcher.poll_once() == {}
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        # One warning per outage, naming the study and what to do; no identifying value.
        assert len(warnings) == 1
        assert "'small'" in warnings[0].getMessage()
        assert "PostgreSQL server" in warnings[0].getMessage()
        assert "Trying again at the next poll" in warnings[0].getMessage()
        watcher.poll_once()  # the warehouse answers: the inbox is seen for the first time
        announced = watcher.poll_once()
    assert sorted(announced["small"][i]["file_name"] for i in range(2)) == [
        "baseline.csv",
        "endline.csv",
    ]
    assert len(emitted) == 1
    assert any("can be read again" in r.getMessage() for r in caplog.records)


def test_the_watcher_lets_an_unexpected_error_through(
    small_study: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.orchestration import watcher as watcher_module

    def broken_connect(location: object, *, read_only: bool = False) -> Any:
        raise KeyError("not a warehouse condition")

    monkeypatch.setattr(watcher_module, "connect", broken_connect)
    watcher, _ = recording_watcher([load_study(small_study())])
    with pytest.raises(KeyError, match="not a warehouse condition"):
        watcher.poll_once()


def test_a_failed_announcement_is_retried_at_the_next_poll(
    small_study: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    study = load_study(small_study())
    emitted: list[list[str]] = []
    failures = [ConnectionError("the Prefect API at http://127.0.0.1:4200 refused")] * 2

    def emit(_: Study, files: list[dict[str, Any]]) -> None:
        if failures:
            raise failures.pop()
        emitted.append(sorted(entry["file_name"] for entry in files))

    watcher = InboxWatcher([study], emit=emit)
    with caplog.at_level(logging.DEBUG, logger="trustshift.watcher"):
        assert watcher.poll_once() == {}  # first sight: waits for the files to settle
        assert watcher.poll_once() == {}  # emit fails
        assert watcher.poll_once() == {}  # fails again: logged at debug only
        announced = watcher.poll_once()
        assert watcher.poll_once() == {}  # announced once, never twice
    assert emitted == [["baseline.csv", "endline.csv"]]
    assert sorted(entry["file_name"] for entry in announced["small"]) == [
        "baseline.csv",
        "endline.csv",
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "'small'" in warnings[0] and "PREFECT_API_URL" in warnings[0]
    assert any("announced after an earlier failure" in r.getMessage() for r in caplog.records)
