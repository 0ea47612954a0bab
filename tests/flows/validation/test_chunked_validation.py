"""Validating a wave in chunks gives exactly what validating it whole gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.ingest import ingest_wave
from flows.orchestration.stages import earlier_roles
from flows.stored_wave import read_stored_wave
from flows.study import Study, load_study
from flows.validation import WaveValidation, validate_wave
from flows.validation.gx_runner import SuiteRun, run_suites
from flows.warehouse import connect, warehouse_path
from tests.flows.validation.coded_waves import clean_coded_wave, plant_faults

EXAMPLE = Path(__file__).resolve().parents[3] / "data" / "studies" / "example"


def assert_same_validation(chunked: WaveValidation, whole: WaveValidation) -> None:
    assert chunked.quarantined == whole.quarantined
    pd.testing.assert_frame_equal(chunked.row_flags, whole.row_flags)
    pd.testing.assert_frame_equal(chunked.summary, whole.summary)
    pd.testing.assert_frame_equal(chunked.recheck, whole.recheck)
    pd.testing.assert_frame_equal(chunked.follow_up, whole.follow_up)
    pd.testing.assert_frame_equal(chunked.enumerators, whole.enumerators)
    assert chunked.structural_failures == whole.structural_failures


def messy_endline(study: Study, baseline: pd.DataFrame) -> pd.DataFrame:
    """A panel's later wave with every kind of fault: planted row faults, changed roles,
    missing roles, repeated submissions and respondents, and people new to the panel."""
    endline = clean_coded_wave(study, wave="endline", n_rows=600, seed=21, respondent_prefix="NEW")
    endline, _ = plant_faults(endline, study, per_fault=4, seed=8)
    n_panel = 450
    endline.loc[: n_panel - 1, "respondent"] = baseline["respondent"].to_numpy()[:n_panel]
    for role in ("arm", "cluster", "stratum", "treated"):
        endline.loc[: n_panel - 1, role] = baseline[role].to_numpy()[:n_panel]
    for row in (3, 17, 101, 333):
        endline.loc[row, "arm"] = (
            "comparison" if endline.loc[row, "arm"] == "campaign" else "campaign"
        )
    endline.loc[[9, 250], "cluster"] = "community_99"
    endline.loc[[40, 420], "stratum"] = "region_7"
    endline.loc[[55, 400], "respondent"] = pd.NA
    endline.loc[[66, 401], "cluster"] = pd.NA
    endline.loc[[77], "submission"] = endline.loc[12, "submission"]
    # Copies of interviews later in the file: the first stays, the later ones go.
    copies = endline.iloc[[5, 205, 405]].copy()
    copies["row_number"] = np.arange(len(endline) + 1, len(endline) + 4)
    endline = pd.concat([endline, copies], ignore_index=True)
    endline.loc[[30, 480], "risk_death"] = 11.0
    return endline


@pytest.mark.parametrize("chunk_rows", [71])
def test_a_messy_later_wave_in_tiny_chunks_is_validated_as_in_one_chunk(
    example_study: Study, clean_baseline: pd.DataFrame, chunk_rows: int
) -> None:
    endline = messy_endline(example_study, clean_baseline)
    baseline, _ = plant_faults(clean_baseline, example_study, per_fault=3, seed=4)
    settings = {"study": example_study, "wave": "endline", "earlier_waves": baseline}
    whole = validate_wave(endline, **settings, chunk_rows=len(endline))
    chunked = validate_wave(endline, **settings, chunk_rows=chunk_rows)
    assert_same_validation(chunked, whole)
    checks = set(whole.row_flags["check"])
    assert {"arm_changed", "cluster_changed", "stratum_changed", "duplicate_submission"} <= checks
    assert {"out_of_range", "speeder", "missing_consent"} <= checks
    assert not whole.summary["success"].all()


def test_a_wave_missing_a_column_fails_the_same_in_chunks(
    example_study: Study, clean_baseline: pd.DataFrame
) -> None:
    coded = clean_baseline.drop(columns=["trust_eu"])
    settings = {"study": example_study, "wave": "baseline", "on_structural": "return"}
    whole = validate_wave(coded, **settings, chunk_rows=len(coded))
    chunked = validate_wave(coded, **settings, chunk_rows=150)
    assert whole.structural_failures
    assert_same_validation(chunked, whole)


def test_mostly_is_decided_on_the_whole_wave_not_per_chunk() -> None:
    # 10% of the values are outside the set, all in the first 20 rows: the first chunks
    # fail on their own, the wave passes with mostly = 0.9; a stricter rule fails it.
    frame = pd.DataFrame({"code": [9.0] * 20 + [1.0] * 170 + [np.nan] * 10})
    expectations = [
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "code", "value_set": [1.0, 2.0], "mostly": mostly},
            "meta": {"severity": "warning"},
        }
        for mostly in (0.85, 0.9, 0.95)
    ]
    suite = {"name": "mostly", "meta": {"target": "wave"}, "expectations": expectations}
    run = SuiteRun(suite=suite, target="wave", frame=frame, result_format="SUMMARY")
    (whole,), _ = run_suites([run], data_docs_dir=None, chunk_rows=len(frame))
    (chunked,), _ = run_suites([run], data_docs_dir=None, chunk_rows=8)
    assert [r.success for r in chunked.results] == [True, False, False]
    assert [r.success for r in whole.results] == [r.success for r in chunked.results]
    for one, many in zip(whole.results, chunked.results, strict=True):
        assert many.result == one.result
    assert chunked.results[0].result["unexpected_count"] == 20
    assert chunked.results[0].result["missing_count"] == 10


@pytest.fixture(scope="module")
def stored_example(tmp_path_factory: pytest.TempPathFactory) -> Study:
    """The bundled example study's three waves, ingested into a fresh warehouse."""
    root = tmp_path_factory.mktemp("chunked-example")
    shutil.copy(EXAMPLE / "study.toml", root / "study.toml")
    shutil.copytree(EXAMPLE / "inbox", root / "inbox")
    study = load_study(root / "study.toml")
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    return study


@pytest.mark.parametrize("wave", ["baseline", "follow_up"])
def test_the_example_study_in_chunks_is_validated_as_in_one_chunk(
    stored_example: Study, wave: str
) -> None:
    study = stored_example
    with connect(warehouse_path(study), read_only=True) as connection:
        coded = read_stored_wave(connection, study, wave, coded=True)
    names = study.wave_names
    earlier = earlier_roles(study, names[: names.index(wave)])
    settings = {
        "study": study,
        "wave": wave,
        "earlier_waves": earlier if not earlier.empty else None,
        "on_structural": "return",
    }
    whole = validate_wave(coded, **settings, chunk_rows=len(coded))
    chunked = validate_wave(coded, **settings, chunk_rows=400)
    assert_same_validation(chunked, whole)
    assert len(whole.quarantined) > 0
