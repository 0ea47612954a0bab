"""Deployments: one per study, on a schedule and on the study's wave-landed events."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.orchestration.commands import serve_studies
from flows.orchestration.deployments import ServeError, load_studies, study_deployment
from flows.study import load_study


def test_a_study_deployment_runs_on_cron_and_on_its_wave_landed_events(
    small_study: Callable[..., Path],
) -> None:
    study = load_study(small_study())
    deployment = study_deployment(study, cron="*/15 * * * *", timezone="Africa/Dakar")
    assert deployment.name == "small"
    assert deployment.parameters == {"study_file": str(study.path)}
    assert deployment.entrypoint == "flows.orchestration.study_flows.evaluate_study"
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "*/15 * * * *"
    (trigger,) = deployment.triggers
    assert trigger.expect == {"trustshift.wave.landed"}
    assert trigger.match.model_dump() == {"prefect.resource.id": "trustshift.study.small"}
    assert trigger.parameters == {"study_file": str(study.path)}
    assert not study_deployment(study, cron=None).schedules


def test_serving_needs_at_least_one_study_file() -> None:
    with pytest.raises(ServeError, match="no study file given"):
        load_studies([])


def test_two_study_files_with_the_same_id_cannot_be_served_together(
    small_study: Callable[..., Path], tmp_path: Path
) -> None:
    first = small_study()
    second = tmp_path / "copy"
    shutil.copytree(first.parent, second)
    with pytest.raises(ServeError, match="study id 'small' is declared by both"):
        load_studies([first, second / "study.toml"])
    assert [study.id for study in load_studies([first, first])] == ["small"]


def test_serve_studies_asks_for_a_prefect_server_when_none_is_set(
    small_study: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with (
        temporary_settings(restore_defaults={"api.url"}),
        pytest.raises(ServeError, match="PREFECT_API_URL is not set"),
    ):
        serve_studies([small_study()])


def test_watch_studies_asks_for_a_prefect_server_when_none_is_set(
    small_study: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import temporary_settings

    from flows.orchestration.commands import watch_studies

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with (
        temporary_settings(restore_defaults={"api.url"}),
        pytest.raises(ServeError, match="no Prefect server to send events to"),
    ):
        watch_studies([small_study()])
