"""Plain functions behind `trustshift run` and `trustshift serve` (the CLI wires them)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from flows.errors import TrustshiftError
from flows.orchestration.deployments import DEFAULT_CRON, ServeError, load_studies, study_deployment
from flows.orchestration.settings import prefect_home_for, prefect_run_settings, uses_prefect_server
from flows.orchestration.watcher import InboxWatcher
from flows.study import load_study
from flows.warehouse import warehouse_path


def run_study(
    study_file: Path,
    *,
    replace: bool = False,
    bootstrap_draws: int | None = None,
    seed: int | None = None,
    console: Console | None = None,
) -> int:
    """Run ``evaluate-study`` in this process and say where the report and warehouse are.

    No server needs to be running: without PREFECT_API_URL, Prefect starts a temporary one
    for the run, keeping its state in ``<study folder>/.prefect`` (unless PREFECT_HOME is
    set). ``bootstrap_draws`` and ``seed`` default to those of ``estimate_study``. Returns 0
    when the run finished and the error's exit code (1) when it ended failed, after printing
    why; a study file that cannot be read raises StudyFileError (exit code 2).
    """
    console = console or Console()
    errors = Console(stderr=True)
    study = load_study(study_file)
    options: dict[str, int] = {}
    if bootstrap_draws is not None:
        options["bootstrap_draws"] = bootstrap_draws
    if seed is not None:
        options["seed"] = seed
    with prefect_run_settings(home=prefect_home_for(study.root)):
        from flows.orchestration.study_flows import evaluate_study

        try:
            outcome = evaluate_study(str(study.path), replace=replace, **options)
        except TrustshiftError as error:
            errors.print(
                f"[bold red]error:[/] {error}", markup=True, highlight=False, soft_wrap=True
            )
            console.print(
                f"Warehouse: {warehouse_path(study).resolve()}", highlight=False, soft_wrap=True
            )
            return error.exit_code
    console.print(outcome.message, highlight=False, soft_wrap=True)
    for note in outcome.notes:
        console.print(f"  {note}", highlight=False, soft_wrap=True)
    if outcome.report is not None:
        console.print(f"Report: {outcome.report.resolve()}", highlight=False, soft_wrap=True)
    console.print(f"Warehouse: {outcome.warehouse.resolve()}", highlight=False, soft_wrap=True)
    return 0


def serve_studies(
    study_files: list[Path],
    *,
    cron: str | None = DEFAULT_CRON,
    timezone: str | None = None,
    watch: bool = True,
    poll_seconds: float = 30.0,
    limit: int | None = None,
    console: Console | None = None,
) -> None:
    """Serve one `evaluate-study` deployment per study until interrupted (Ctrl-C).

    Each deployment runs on ``cron`` (none when ``cron`` is None) and whenever a
    `trustshift.wave.landed` event names its study; with ``watch``, this process polls the
    inboxes every ``poll_seconds`` and emits that event when a new file has landed. Runs
    execute in subprocesses of this process; ``limit`` caps how many run at once. Needs a
    Prefect server (PREFECT_API_URL): a temporary one would lose schedules and history.
    """
    console = console or Console()
    if not uses_prefect_server():
        raise ServeError(
            "serve_studies: no Prefect server to serve to; PREFECT_API_URL is not set. Start "
            "one with `prefect server start` and `export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api` (or point it at your team's server), "
            "then serve again."
        )
    from prefect import serve

    studies = load_studies(study_files)
    deployments = [study_deployment(study, cron=cron, timezone=timezone) for study in studies]
    stop = None
    if watch:
        watcher = InboxWatcher(studies)
        _, stop = watcher.start(interval_seconds=poll_seconds)
        for study in studies:
            console.print(
                f"Watching {study.inbox} every {poll_seconds:g} s for new waves of {study.id!r}.",
                highlight=False,
            )
    try:
        serve(*deployments, limit=limit)
    finally:
        if stop is not None:
            stop.set()
