"""Simulated studies shared by the simulation tests (built once per session)."""

from __future__ import annotations

import pytest

from flows.simulation import SimulatedStudy, SimulationSettings, simulate_study
from flows.simulation.example import EXAMPLE_STUDY
from flows.study import Study, load_study


@pytest.fixture(scope="session")
def example_study() -> Study:
    return load_study(EXAMPLE_STUDY)


@pytest.fixture(scope="session")
def large_settings() -> SimulationSettings:
    """200 communities of 40: enough to see the ICC, effects and attrition rates."""
    return SimulationSettings(
        seed=7,
        n_clusters=200,
        n_strata=2,
        respondents_per_cluster=40,
        attrition=(0.12, 0.20),
        differential_attrition=0.04,
    )


@pytest.fixture(scope="session")
def large_simulation(example_study: Study, large_settings: SimulationSettings) -> SimulatedStudy:
    return simulate_study(example_study, large_settings)


@pytest.fixture(scope="session")
def clean_simulation(example_study: Study, large_settings: SimulationSettings) -> SimulatedStudy:
    """The same study without any planted fault or missing code."""
    from dataclasses import replace

    return simulate_study(
        example_study,
        replace(large_settings, fault_rates={}, never_heard_rates={}, refused_rate=0.0),
    )
