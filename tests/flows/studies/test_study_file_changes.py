"""Editing the study file after ingestion: stored waves are re-derived from the raw archive."""

from __future__ import annotations

from pathlib import Path

from flows import api
from flows.ingest import ingest_wave, rederive_changed_waves
from flows.rederive import waves_to_rederive
from flows.study import load_study
from tests.flows.studies.files import short_wave, write_study


def test_a_changed_study_file_re_derives_the_stored_wave_and_keeps_the_old_version(
    tmp_path: Path,
) -> None:
    study = load_study(write_study(tmp_path))
    export = tmp_path / "baseline.csv"
    short_wave(n_rows=40, wave="baseline", seed=6).rename(
        columns={"wellbeing": "wellbeing_mean"}
    ).to_csv(export, index=False)
    ingest_wave(study, export, wave="baseline")
    assert api.responses(study)["wellbeing"].isna().all()
    assert waves_to_rederive(study) == []
    unchanged = ingest_wave(study, export, wave="baseline")
    assert unchanged.status == "unchanged"

    # The user maps the column they had missed, after ingestion.
    edited = write_study(tmp_path, extra='[reading]\nrename = { "wellbeing_mean" = "wellbeing" }')
    study = load_study(edited)
    assert [wave for wave, _, _ in waves_to_rederive(study)] == ["baseline"]
    (outcome,) = rederive_changed_waves(study)
    assert outcome.version == 2
    assert outcome.message.startswith("the study file changed since wave 'baseline' was stored")
    assert "\n" not in outcome.message
    assert api.responses(study)["wellbeing"].notna().all()
    waves = api.waves(study)
    assert waves[["version", "status"]].values.tolist() == [[1, "replaced"], [2, "stored"]]
    assert set(waves["file_name"]) == {"baseline.csv"}
    assert len(list((study.archive / "baseline").glob("*baseline.csv"))) == 1
    assert waves_to_rederive(study) == []
