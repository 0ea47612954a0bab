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
) -> None:
    """Pool many studies' estimates into one answer per assumption: HTML report and tables.

    Nothing is recomputed (and Prefect is not started) when the synthesis file, every
    study's estimates and the code are unchanged since the last run.
    """
    from flows.synthesis.file import load_synthesis
    from flows.synthesis.run import synthesize as run_plain
    from flows.synthesis.run import unchanged_synthesis

    synthesis = load_synthesis(synthesis_file)
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
