"""Diagnose each outcome's planned design by simulation, with progress through flows.progress."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from flows.progress import stage_progress
from measurement.diagnosis import Inference, diagnose_designs
from measurement.power import PlannedDesign

DESIGN_SIMULATIONS = "design simulations"


def diagnose_planned_designs(
    designs: Mapping[str, PlannedDesign],
    effects: Mapping[str, float],
    *,
    simulations: int,
    seed: int,
    inference: Inference = "wild_bootstrap",
) -> pd.DataFrame:
    """:func:`measurement.diagnosis.diagnose_designs`, reporting each simulated study: a bar on
    a terminal, tenths in the log of a Prefect run, nothing on a pipe."""
    with stage_progress(DESIGN_SIMULATIONS, simulations * len(designs)) as advance:
        return diagnose_designs(
            designs,
            effects,
            simulations=simulations,
            inference=inference,
            seed=seed,
            progress=advance,
        )
