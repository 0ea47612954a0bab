"""The synthesis commands of the CLI: `trustshift synthesize` and `trustshift simulate-synthesis`.

Kept apart from flows/cli.py (which registers them) so that the synthesis can change without
touching the study commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(soft_wrap=True)

EXAMPLE_HEADER = """# A simulated synthesis: {n} cluster-randomised campaign studies in several
# regions, with returnee, government and IOM messengers, shared as exported estimate tables
# only (no microdata). The true effects are in truth/truth.json: the mean standardized
# effect per outcome, the between-study SD (tau) and the messenger shift planted in the
# simulation.
# Made by flows.simulation.synthesis (seed {seed}); regenerate with `.venv/bin/trustshift
# simulate-synthesis --out data/syntheses/example --studies {n} --seed {seed}`.
# Run it with `.venv/bin/trustshift synthesize data/syntheses/example/synthesis.toml`."""


def synthesize(
    synthesis_file: Annotated[
        Path, typer.Argument(help="The synthesis file (synthesis.toml) or its folder.")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when no input changed.")
    ] = False,
    prefect: Annotated[
        bool,
        typer.Option(
            "--prefect/--no-prefect",
            help="Run as the Prefect flow synthesize-evidence (default) or as plain calls.",
        ),
    ] = True,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Serve a deployment that re-runs after every study run and on --cron "
            "(needs PREFECT_API_URL).",
        ),
    ] = False,
    cron: Annotated[str, typer.Option(help="Schedule of the served deployment.")] = "30 6 * * *",
) -> None:
    """Pool many studies' estimates into one answer per assumption: HTML report and tables.

    Nothing is recomputed (and Prefect is not started) when the synthesis file, every
    study's estimates and the code are unchanged since the last run.
    """
    from flows.synthesis.file import load_synthesis
    from flows.synthesis.run import synthesize as run_plain
    from flows.synthesis.run import unchanged_synthesis

    synthesis = load_synthesis(synthesis_file)
    if serve:
        _serve(synthesis, cron=cron)
        return
    unchanged = None if force else unchanged_synthesis(synthesis)
    if unchanged is not None:
        console.print(
            f"Unchanged inputs (fingerprint {unchanged[1][:12]}): kept the report.",
            highlight=False,
        )
        console.print(f"Report: {unchanged[0].resolve()}", highlight=False)
        return
    if prefect:
        from flows.orchestration.settings import prefect_home_for, prefect_run_settings

        with prefect_run_settings(home=prefect_home_for(synthesis.root)):
            from flows.synthesis.flow import synthesize_evidence

            outcome = synthesize_evidence(str(synthesis.path), force=True)
    else:
        outcome = run_plain(synthesis.path, force=True)
    console.print(
        f"Pooled {outcome.n_studies} studies (fingerprint {outcome.fingerprint[:12]}).",
        highlight=False,
    )
    console.print(f"Report: {outcome.report.resolve()}", highlight=False)
    console.print(f"Tables: {outcome.report.parent.resolve()}", highlight=False)


def _serve(synthesis: object, *, cron: str) -> None:
    """Serve the synthesis's deployment until interrupted (Ctrl-C)."""
    from flows.orchestration.deployments import ServeError
    from flows.orchestration.settings import uses_prefect_server
    from flows.synthesis.deployment import synthesis_deployment
    from flows.synthesis.file import Synthesis

    if not isinstance(synthesis, Synthesis):
        raise TypeError(f"_serve: expected a Synthesis, got {synthesis!r}")
    if not uses_prefect_server():
        raise ServeError(
            "synthesize --serve: no Prefect server to serve to; PREFECT_API_URL is not set. "
            "Start one with `prefect server start` and `export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api`, then serve again."
        )
    from prefect import serve

    console.print(
        f"Serving synthesize-evidence/{synthesis.id}: after every evaluate-study run and on "
        f"{cron!r}.",
        highlight=False,
    )
    serve(synthesis_deployment(synthesis, cron=cron))


def simulate_synthesis(
    out: Annotated[Path, typer.Option(help="Folder to write the synthesis into.")] = Path(
        "work/synthesis"
    ),
    studies: Annotated[int, typer.Option(help="Number of studies.", min=2)] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the random generator.")] = 20261201,
) -> None:
    """Simulate studies with known heterogeneous effects, as exported estimates, and the
    synthesis file that pools them (with the planted truth beside it)."""
    from flows.simulation.synthesis import (
        SynthesisSettings,
        write_simulated_synthesis,
    )
    from flows.simulation.synthesis import (
        simulate_synthesis as simulate,
    )

    simulated = simulate(SynthesisSettings(n_studies=studies, seed=seed))
    path = write_simulated_synthesis(
        simulated,
        out,
        title=f"Information campaigns across {studies} simulated studies",
        header=EXAMPLE_HEADER.format(n=studies, seed=seed),
    )
    console.print(f"Simulated synthesis written to {path}", highlight=False)
