"""Simulated example studies: waves with planted effects and field faults, and their truth."""

from flows.simulation.faults import FAULT_COLUMNS
from flows.simulation.settings import FAULT_CLASSES, SimulationSettings
from flows.simulation.simulator import (
    EFFECT_COLUMNS,
    PII_COLUMNS,
    SimulatedStudy,
    SimulatedWave,
    simulate_study,
    simulate_wave_frame,
)
from flows.simulation.writers import WAVE_FORMATS, write_simulated_study, write_truth, write_wave

__all__ = [
    "EFFECT_COLUMNS",
    "FAULT_CLASSES",
    "FAULT_COLUMNS",
    "PII_COLUMNS",
    "WAVE_FORMATS",
    "SimulatedStudy",
    "SimulatedWave",
    "SimulationSettings",
    "simulate_study",
    "simulate_wave_frame",
    "write_simulated_study",
    "write_truth",
    "write_wave",
]
