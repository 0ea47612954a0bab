"""Validation scored against the simulator's truth: planted faults found, clean rows left."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flows.reading import code_wave
from flows.reading.raw import RawWave
from flows.simulation import FAULT_CLASSES, SimulationSettings, simulate_study
from flows.simulation.settings import DEFAULT_FAULT_RATES
from flows.study import Study
from flows.validation import WaveValidation, validate_wave

# The checks that find each fault class of the simulator.
CHECKS_OF_FAULT: dict[str, set[str]] = {
    "duplicate_submission": {
        "duplicate_submission",
        "duplicate_submission_id",
        "duplicate_respondent",
    },
    "speeder": {"speeder"},
    "straightliner": {"straightliner"},
    "out_of_range": {"out_of_range"},
    "missing_consent": {"missing_consent"},
    "fabricated": {"enumerator_outlier"},
}


def _validate_all_waves(
    study: Study, settings: SimulationSettings
) -> tuple[dict[str, pd.DataFrame], dict[str, WaveValidation], pd.DataFrame]:
    simulated = simulate_study(study, settings)
    coded_waves: dict[str, pd.DataFrame] = {}
    validations: dict[str, WaveValidation] = {}
    earlier: pd.DataFrame | None = None
    for name, wave in simulated.waves.items():
        raw = RawWave(source=Path(f"{name}.csv"), format="csv", frame=wave.frame)
        coded = code_wave(raw, study=study, wave=name).frame
        validations[name] = validate_wave(coded, study=study, wave=name, earlier_waves=earlier)
        coded_waves[name] = coded
        earlier = coded if earlier is None else pd.concat([earlier, coded], ignore_index=True)
    return coded_waves, validations, simulated.faults


@pytest.fixture(scope="module")
def faulty_study(
    example_study: Study,
) -> tuple[dict[str, pd.DataFrame], dict[str, WaveValidation], pd.DataFrame]:
    settings = SimulationSettings(seed=31, n_clusters=40, respondents_per_cluster=40)
    return _validate_all_waves(example_study, settings)


def test_every_fault_class_is_found_with_recall_of_at_least_95_percent(
    faulty_study: tuple[dict[str, pd.DataFrame], dict[str, WaveValidation], pd.DataFrame],
) -> None:
    _, validations, faults = faulty_study
    assert set(faults["fault"]) == set(FAULT_CLASSES)
    for fault in FAULT_CLASSES:
        planted = faults[faults["fault"] == fault]
        found = 0
        for wave, rows in planted.groupby("wave"):
            flags = validations[str(wave)].row_flags
            hits = flags[flags["check"].isin(CHECKS_OF_FAULT[fault])]["row_number"]
            found += int(rows["row_number"].isin(hits).sum())
        assert len(planted) >= 40, fault
        assert found / len(planted) >= 0.95, (fault, found, len(planted))


def test_fewer_than_one_percent_of_clean_rows_are_flagged(
    faulty_study: tuple[dict[str, pd.DataFrame], dict[str, WaveValidation], pd.DataFrame],
) -> None:
    coded_waves, validations, faults = faulty_study
    for wave, coded in coded_waves.items():
        faulty = set(faults.loc[faults["wave"] == wave, "row_number"])
        clean = coded.loc[~coded["row_number"].isin(faulty), "row_number"]
        flagged = clean.isin(validations[wave].quarantined)
        assert flagged.mean() < 0.01, (
            wave,
            validations[wave].row_flags[
                validations[wave].row_flags["row_number"].isin(clean[flagged])
            ],
        )


def test_the_fabricating_enumerator_is_the_only_outlier(
    faulty_study: tuple[dict[str, pd.DataFrame], dict[str, WaveValidation], pd.DataFrame],
) -> None:
    coded_waves, validations, faults = faulty_study
    fabricated = faults[faults["fault"] == "fabricated"]
    for wave, validation in validations.items():
        coded = coded_waves[wave]
        fabricator = set(
            coded.loc[
                coded["row_number"].isin(fabricated["row_number"][fabricated["wave"] == wave]),
                "enumerator",
            ]
        )
        table = validation.enumerators
        outliers = table[(table["duration_z"].abs() > 4) | (table["answer_variance_z"].abs() > 4)]
        assert set(outliers["enumerator"]) == fabricator


def test_a_clean_simulated_study_passes_every_suite_in_every_wave(example_study: Study) -> None:
    rates = {name: 0.0 for name in DEFAULT_FAULT_RATES}
    rates["dont_know"] = DEFAULT_FAULT_RATES["dont_know"]
    settings = SimulationSettings(
        seed=32, n_clusters=20, respondents_per_cluster=20, fault_rates=rates
    )
    _, validations, faults = _validate_all_waves(example_study, settings)
    assert faults.empty
    for wave, validation in validations.items():
        summary = validation.summary
        assert summary["success"].all(), (wave, summary[~summary["success"]])
        assert validation.quarantined == ()
    assert "example_cross_wave" in set(validations["endline"].summary["suite"])
    assert "example_follow_up" in set(validations["follow_up"].summary["suite"])
