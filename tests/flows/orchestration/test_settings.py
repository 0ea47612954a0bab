"""Prefect settings for in-process runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.orchestration.settings import prefect_home_for, run_settings


def test_an_in_process_run_keeps_prefect_state_beside_the_study_and_skips_the_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    from prefect.settings import temporary_settings

    with temporary_settings(restore_defaults={"api.url"}):
        updates = run_settings(home=prefect_home_for(tmp_path))
    assert updates["home"] == tmp_path / ".prefect"
    assert (tmp_path / ".prefect").is_dir()
    assert updates["flows.heartbeat_frequency"] is None
    assert updates["server.analytics_enabled"] is False
    assert updates["server.ephemeral.startup_timeout_seconds"] >= 90


def test_a_prefect_home_or_server_chosen_by_the_user_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "mine"))
    assert "home" not in run_settings(home=tmp_path / "study")
    monkeypatch.delenv("PREFECT_HOME")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert "home" not in run_settings(home=tmp_path / "study")
    assert "flows.heartbeat_frequency" not in run_settings(heartbeat=True)
