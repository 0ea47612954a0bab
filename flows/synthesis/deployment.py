"""The `synthesize-evidence` deployment of a synthesis: after every study run, and on a schedule.

Prefect emits ``prefect.flow-run.Completed`` for every finished flow run, with the flow as a
related resource; the trigger below starts the synthesis whenever an `evaluate-study` run
completes. The synthesis then rebuilds only when one of its studies' estimates changed (its
fingerprint), so runs of other studies cost a checksum and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flows.synthesis.file import Synthesis

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment
    from prefect.events import DeploymentEventTrigger

STUDY_FLOW = "evaluate-study"
COMPLETED_EVENT = "prefect.flow-run.Completed"
DEFAULT_SYNTHESIS_CRON = "30 6 * * *"
"""Every morning at 06:30, after the studies' 06:00 runs: a safety net for exported
estimates dropped in by partners (which no flow run announces)."""


def study_completed_trigger(synthesis: Synthesis) -> DeploymentEventTrigger:
    """Start the synthesis when any `evaluate-study` flow run completes."""
    from prefect.events import DeploymentEventTrigger

    return DeploymentEventTrigger(
        name=f"{synthesis.id}-study-estimated",
        description=f"Re-run synthesis {synthesis.id!r} when a study's run completes.",
        expect={COMPLETED_EVENT},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": STUDY_FLOW},
        parameters={"synthesis_file": str(synthesis.path)},
    )


def synthesis_deployment(
    synthesis: Synthesis, *, cron: str | None = DEFAULT_SYNTHESIS_CRON, timezone: str | None = None
) -> RunnerDeployment:
    """The `synthesize-evidence` deployment of one synthesis, named after its id."""
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.types.entrypoint import EntrypointType

    from flows.synthesis.flow import synthesize_evidence

    deployment = synthesize_evidence.to_deployment(
        name=synthesis.id,
        schedules=[CronSchedule(cron=cron, timezone=timezone)] if cron else None,
        parameters={"synthesis_file": str(synthesis.path)},
        triggers=[study_completed_trigger(synthesis)],
        description=f"Pool the studies of {synthesis.title} ({synthesis.path}).",
        tags=["trustshift", f"synthesis-{synthesis.id}"],
        concurrency_limit=1,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return cast("RunnerDeployment", deployment)  # a coroutine only in async callers
