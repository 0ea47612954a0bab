"""Deployments: one `evaluate-study` deployment per study, on a schedule and on wave events."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from flows.errors import TrustshiftError
from flows.orchestration.records import code_version
from flows.orchestration.watcher import WAVE_LANDED_EVENT, study_resource_id
from flows.study import Study, load_study

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment
    from prefect.events import DeploymentEventTrigger

# Every morning at 06:00 (the server's time zone unless one is given): a safety net that
# picks up whatever the watcher missed.
DEFAULT_CRON = "0 6 * * *"


class ServeError(TrustshiftError):
    """Studies cannot be served as asked (no server, clashing studies)."""

    exit_code = 2


def wave_landed_trigger(study: Study) -> DeploymentEventTrigger:
    """Start the study's deployment when the watcher reports a wave in its inbox."""
    from prefect.events import DeploymentEventTrigger

    return DeploymentEventTrigger(
        name=f"{study.id}-wave-landed",
        description=f"Evaluate study {study.id!r} when a new wave file lands in its inbox.",
        expect={WAVE_LANDED_EVENT},
        match={"prefect.resource.id": study_resource_id(study.id)},
        parameters={"study_file": str(study.path)},
    )


def study_deployment(
    study: Study, *, cron: str | None = DEFAULT_CRON, timezone: str | None = None
) -> RunnerDeployment:
    """The `evaluate-study` deployment of one study, named after the study id."""
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.types.entrypoint import EntrypointType

    from flows.orchestration.study_flows import evaluate_study

    schedules = [CronSchedule(cron=cron, timezone=timezone)] if cron else None
    deployment = evaluate_study.to_deployment(
        name=study.id,
        schedules=schedules,
        parameters={"study_file": str(study.path)},
        triggers=[wave_landed_trigger(study)],
        description=f"Evaluate {study.title} ({study.path}).",
        tags=["trustshift", f"study-{study.id}"],
        version=code_version(),
        # One run at a time per study: two runs would contend for the warehouse file.
        concurrency_limit=1,
        # A module path runs from any working directory where trustshift is installed.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return cast("RunnerDeployment", deployment)  # a coroutine only in async callers


def load_studies(study_files: list[Path]) -> list[Study]:
    """Load each study once; two files with the same study id cannot be served together."""
    studies: dict[str, Study] = {}
    for path in study_files:
        study = load_study(path)
        if study.id in studies and studies[study.id].path != study.path:
            raise ServeError(
                f"serve_studies: study id {study.id!r} is declared by both "
                f"{studies[study.id].path} and {study.path}; deployments are named after the "
                "study id. Give one of them another id."
            )
        studies[study.id] = study
    if not studies:
        raise ServeError(
            "serve_studies: no study file given. Name one or more study files "
            "(for example data/studies/example/study.toml)."
        )
    return list(studies.values())
