"""The Prefect flow `synthesize-evidence`: one task around the synthesis run."""

from __future__ import annotations

from prefect import flow, task

from flows.synthesis.run import SynthesisOutcome, synthesize


@task(name="synthesize")
def synthesize_task(synthesis_file: str, force: bool) -> SynthesisOutcome:
    """Harmonize, pool, score and write the report (or reuse an unchanged one)."""
    return synthesize(synthesis_file, force=force)


@flow(name="synthesize-evidence", log_prints=True)
def synthesize_evidence(synthesis_file: str, force: bool = False) -> SynthesisOutcome:
    """Pool the studies of a synthesis file into one answer per assumption.

    Re-runs only when a study's estimates, the synthesis file or the code changed (the
    fingerprint of its inputs); otherwise the earlier report is kept. Schedule it, or trigger
    it after each study's run, to keep the synthesis current.
    """
    outcome = synthesize_task(synthesis_file, force)
    print(
        ("Unchanged inputs: kept " if outcome.reused else "Wrote ")
        + f"{outcome.report} ({outcome.n_studies} studies)"
    )
    return outcome
