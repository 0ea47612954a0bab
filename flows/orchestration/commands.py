"""Plain functions behind `trustshift run` and `trustshift serve` (the CLI wires them)."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from pathlib import Path

from rich.console import Console

from flows.errors import TrustshiftError
from flows.locking import study_lock
from flows.orchestration.deployments import (
    DEFAULT_CRON,
    ServeError,
    load_studies,
    study_deployment,
)
from flows.orchestration.records import EVALUATE_STUDY, record_run_end, record_run_start
from flows.orchestration.server_guard import server_ends_with_this_process
from flows.orchestration.settings import (
    prefect_home_for,
    prefect_run_settings,
    uses_prefect_server,
)
from flows.orchestration.stages import DEFAULT_BOOTSTRAP_DRAWS, DEFAULT_SEED, unchanged_evaluation
from flows.orchestration.watcher import InboxWatcher
from flows.study import Study, load_study
from flows.warehouse import warehouse_path


def run_study(
    study_file: Path,
    *,
    replace: bool = False,
    bootstrap_draws: int | None = None,
    seed: int | None = None,
    force: bool = False,
    wait: bool = False,
    console: Console | None = None,
) -> int:
    """Run ``evaluate-study`` in this process and say where the report and warehouse are.

    No server needs to be running: without PREFECT_API_URL, Prefect starts a temporary one
    for the run, keeping its state in ``<study folder>/.prefect`` (unless PREFECT_HOME is
    set). When nothing changed since a finished run (no new file, nothing to validate, same
    study file, code and options, its report still there), no flow run is started at all:
    the run is recorded in the warehouse as reusing that run, in about a second. ``force``
    starts the flow run anyway (to see it in the Prefect UI or publish its artifacts again).
    ``bootstrap_draws`` and ``seed`` default to those of ``estimate_study``.

    Returns 0 when the run finished and the error's exit code (1) when it ended failed,
    after printing why; a study file that cannot be read raises StudyFileError (exit 2).

    The run holds the study's lock: a second run (or an ingest) of the same study fails at
    once naming who holds it, or with ``wait`` queues behind it and then finds the work done
    (its results are reused). A temporary Prefect server ends with this process.
    """
    console = console or Console()
    study = load_study(study_file)
    with study_lock(study, purpose="run", wait=wait):
        return _run_locked(
            study,
            replace=replace,
            bootstrap_draws=bootstrap_draws,
            seed=seed,
            force=force,
            console=console,
        )


def _run_locked(
    study: Study,
    *,
    replace: bool,
    bootstrap_draws: int | None,
    seed: int | None,
    force: bool,
    console: Console,
) -> int:
    draws = DEFAULT_BOOTSTRAP_DRAWS if bootstrap_draws is None else bootstrap_draws
    chosen_seed = DEFAULT_SEED if seed is None else seed
    if not force and _reuse_without_prefect(
        study, bootstrap_draws=draws, seed=chosen_seed, console=console
    ):
        return 0
    with prefect_run_settings(home=prefect_home_for(study.root)), server_ends_with_this_process():
        from flows.orchestration.study_flows import evaluate_study

        # While Prefect starts its temporary server (seconds), import the stages in the
        # background: on a first run the two overlap instead of adding up.
        threading.Thread(target=_import_stages, name="trustshift-preload", daemon=True).start()

        try:
            outcome = evaluate_study(
                str(study.path), replace=replace, bootstrap_draws=draws, seed=chosen_seed
            )
        except TrustshiftError as error:
            # The paths first, the error last: it must not hide among Prefect's log lines.
            _print_paths(console, study, report=None)
            Console(stderr=True).print(
                f"[bold red]error:[/] {error}", markup=True, highlight=False, soft_wrap=True
            )
            return error.exit_code
    console.print(outcome.message, highlight=False, soft_wrap=True)
    for note in outcome.notes:
        console.print(f"  {note}", highlight=False, soft_wrap=True)
    _print_paths(console, study, report=outcome.report)
    return 0


def _import_stages() -> None:
    """Import validation, estimation and the report (seconds each) ahead of their use."""
    import importlib

    for module in ("flows.validation", "flows.estimation", "flows.report"):
        try:
            importlib.import_module(module)
        except Exception:
            return


def _print_paths(console: Console, study: Study, *, report: Path | None) -> None:
    if report is not None:
        console.print(f"Report: {report.resolve()}", highlight=False, soft_wrap=True)
    location = warehouse_path(study)
    shown = location.resolve() if isinstance(location, Path) else location
    console.print(f"Warehouse: {shown}", highlight=False, soft_wrap=True)


def _reuse_without_prefect(
    study: Study, *, bootstrap_draws: int, seed: int, console: Console
) -> bool:
    """Record and report a run that has nothing to do, without starting Prefect."""
    unchanged = unchanged_evaluation(study, bootstrap_draws=bootstrap_draws, seed=seed)
    if unchanged is None:
        return False
    previous_run_id, outputs, waves, fingerprint = unchanged
    run_id = f"local-{uuid.uuid4()}"
    message = (
        f"0 new file(s) stored; {len(waves)} wave(s) in the warehouse; inputs unchanged since "
        f"run {previous_run_id}: results reused (no flow run needed)."
    )
    inputs = {
        "study_file": str(study.path),
        "study_file_sha256": study.file_hash,
        "parameters": {"bootstrap_draws": bootstrap_draws, "seed": seed},
        "new_files": [],
        "stored_waves": [
            {"wave": w.wave, "version": w.version, "sha256": w.sha256, "file_name": w.file_name}
            for w in waves
        ],
        "fingerprint": fingerprint,
        "reused_run_id": previous_run_id,
        "outputs": outputs,
    }
    now = datetime.now()
    record_run_start(study, run_id=run_id, kind=EVALUATE_STUDY, inputs=inputs, started_at=now)
    record_run_end(
        study,
        run_id=run_id,
        status="finished",
        message=message,
        inputs=inputs,
        finished_at=datetime.now(),
    )
    console.print(message, highlight=False, soft_wrap=True)
    _print_paths(console, study, report=Path(str(outputs["report"])))
    return True


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
                soft_wrap=True,
            )
    try:
        serve(*deployments, limit=limit)
    finally:
        if stop is not None:
            stop.set()


def watch_studies(
    study_files: list[Path], *, poll_seconds: float = 30.0, console: Console | None = None
) -> None:
    """Only watch the inboxes and emit `trustshift.wave.landed` events, until interrupted.

    For a team server whose deployments run on workers (`prefect deploy` with prefect.yaml):
    run this on the machine that sees the inboxes; the deployments' triggers do the rest.
    """
    console = console or Console()
    if not uses_prefect_server():
        raise ServeError(
            "watch_studies: no Prefect server to send events to; PREFECT_API_URL is not set. "
            "Set it to the server whose deployments should start (for example "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api`), then watch again."
        )
    studies = load_studies(study_files)
    for study in studies:
        console.print(
            f"Watching {study.inbox} every {poll_seconds:g} s for new waves of {study.id!r}.",
            highlight=False,
            soft_wrap=True,
        )
    try:
        InboxWatcher(studies).watch(interval_seconds=poll_seconds, stop=threading.Event())
    except KeyboardInterrupt:
        console.print("Stopped watching.", highlight=False)
