"""The bundled example study: regenerate its committed waves and truth exactly."""

from __future__ import annotations

from pathlib import Path

from flows.bundled import EXAMPLE_STUDY_DIR
from flows.simulation.settings import SimulationSettings
from flows.simulation.simulator import SimulatedStudy, simulate_study
from flows.simulation.writers import write_simulated_study
from flows.study import load_study

EXAMPLE_STUDY = EXAMPLE_STUDY_DIR / "study.toml"
EXAMPLE_SEED = 20261130

# 40 communities in 2 regions, 15 respondents each, a panel losing 12% by endline and 20% by
# the follow-up (4 points more in the campaign arm), faults at 1-1.5% and one fabricator.
EXAMPLE_SETTINGS = SimulationSettings(
    seed=EXAMPLE_SEED,
    n_clusters=40,
    n_strata=2,
    respondents_per_cluster=15,
    sampling="panel",
    attrition=(0.12, 0.20),
    differential_attrition=0.04,
)


def simulate_example_study(study_path: str | Path = EXAMPLE_STUDY) -> SimulatedStudy:
    """The example study's simulated waves (seed 20261130), not written anywhere."""
    return simulate_study(load_study(study_path), EXAMPLE_SETTINGS)


def make_example_study(
    directory: str | Path, *, study_path: str | Path = EXAMPLE_STUDY
) -> SimulatedStudy:
    """Write the example's waves as CSV to ``directory/inbox``, its truth to ``directory/truth``.

    With ``directory`` = data/studies/example this reproduces the committed files byte for
    byte.
    """
    simulated = simulate_example_study(study_path)
    inbox = Path(directory) / simulated.study.locations.inbox
    write_simulated_study(
        simulated, inbox, formats=("csv",), truth_directory=Path(directory) / "truth"
    )
    return simulated
