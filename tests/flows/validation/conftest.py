"""Shared, session-wide fixtures: the example study and validated clean and faulty waves."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

with warnings.catch_warnings():
    # great_expectations 1.24 imports the stdlib's deprecated sre_constants and sre_parse
    # modules, which warn once at import on Python 3.11; nothing of ours is involved.
    warnings.filterwarnings(
        "ignore",
        message="module 'sre_(constants|parse)' is deprecated",
        category=DeprecationWarning,
    )
    import great_expectations  # noqa: F401

from flows.study import Study, load_study
from flows.validation import WaveValidation, validate_wave
from tests.flows.validation.coded_waves import clean_coded_wave, plant_faults

EXAMPLE_STUDY = Path(__file__).resolve().parents[3] / "data" / "studies" / "example" / "study.toml"


@pytest.fixture(scope="session")
def example_study() -> Study:
    return load_study(EXAMPLE_STUDY)


@pytest.fixture(scope="session")
def clean_baseline(example_study: Study) -> pd.DataFrame:
    return clean_coded_wave(example_study, wave="baseline", n_rows=600, seed=11)


@pytest.fixture(scope="session")
def clean_validation(example_study: Study, clean_baseline: pd.DataFrame) -> WaveValidation:
    return validate_wave(clean_baseline, study=example_study, wave="baseline")


@pytest.fixture(scope="session")
def faulty_baseline(
    example_study: Study, clean_baseline: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return plant_faults(clean_baseline, example_study, per_fault=6, seed=5)


@pytest.fixture(scope="session")
def faulty_validation(
    example_study: Study,
    faulty_baseline: tuple[pd.DataFrame, pd.DataFrame],
    tmp_path_factory: pytest.TempPathFactory,
) -> WaveValidation:
    coded, _ = faulty_baseline
    return validate_wave(
        coded,
        study=example_study,
        wave="baseline",
        data_docs_dir=tmp_path_factory.mktemp("data_docs"),
    )
