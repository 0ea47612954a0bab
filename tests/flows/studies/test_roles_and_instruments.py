"""Study files of our own: one column in several roles, no inherited base, continuous scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import api
from flows.errors import IngestError, StudyFileError
from flows.ingest import ingest_wave
from flows.study import load_study
from flows.validation import validate_wave
from tests.flows.studies.files import short_wave, write_study


def test_one_raw_column_plays_respondent_cluster_and_submission_all_pseudonymised(
    tmp_path: Path,
) -> None:
    study = load_study(
        write_study(
            tmp_path,
            design="cluster_randomised",
            columns='respondent = "id"\ncluster = "id"\nsubmission = "id"\n'
            'arm = { column = "group", treatment = ["T"], comparison = ["C"] }',
        )
    )
    export = tmp_path / "baseline.csv"
    short_wave(n_rows=30, wave="baseline", seed=1).to_csv(export, index=False)
    ingest_wave(study, export, wave="baseline")
    interviews = api.query(study, "SELECT respondent, cluster, submission FROM interviews")
    assert len(interviews) == 30
    assert (interviews["cluster"] == interviews["respondent"]).all()
    assert (interviews["submission"] == interviews["respondent"]).all()
    raw_ids = {str(k) for k in range(1, 31)}
    for column in ("respondent", "cluster", "submission"):
        assert not set(interviews[column]) & raw_ids
        assert interviews[column].str.len().eq(64).all()


def test_an_own_instrument_inherits_nothing_and_a_17_year_old_stays(tmp_path: Path) -> None:
    study = load_study(write_study(tmp_path))
    instrument = study.resolved_instrument()
    assert instrument.item_names == ["rating_staff", "rating_wait", "wellbeing", "age", "household"]
    assert study.quality.minimum_age is None
    export = tmp_path / "endline.csv"
    wave = short_wave(n_rows=60, wave="endline", seed=4)
    wave.loc[0, "age"] = 17
    wave.to_csv(export, index=False)
    validation = validate_wave(
        api.read_wave(export, study, wave="endline"), study=study, wave="endline"
    )
    assert "ineligible_age" not in set(validation.row_flags["check"])
    assert 1 not in validation.quarantined


def test_a_study_that_names_the_base_gets_its_defaults_and_may_override_them(
    tmp_path: Path,
) -> None:
    inherited = load_study(
        write_study(tmp_path / "a", instrument='base = "migration_campaign"', columns=INDIVIDUAL)
    )
    assert inherited.quality.minimum_age == 18
    assert inherited.analysis.heterogeneity[0].name == "decides_alone"
    overridden = load_study(
        write_study(
            tmp_path / "b",
            instrument='base = "migration_campaign"',
            columns=INDIVIDUAL,
            extra="[quality]\nminimum_age = 15\n",
        )
    )
    assert overridden.quality.minimum_age == 15
    assert overridden.quality.age_item == "age"


INDIVIDUAL = 'respondent = "id"\narm = { column = "group", treatment = ["T"], comparison = ["C"] }'


def test_a_continuous_score_takes_decimals_within_its_optional_bounds(tmp_path: Path) -> None:
    study = load_study(write_study(tmp_path))
    export = tmp_path / "endline.csv"
    wave = short_wave(n_rows=20, wave="endline", seed=2)
    wave.loc[0, "wellbeing"] = 1.91
    wave.to_csv(export, index=False)
    coded = api.read_wave(export, study, wave="endline")
    assert coded.loc[0, "wellbeing"] == pytest.approx(1.91)
    wave.loc[1, "wellbeing"] = 5.5
    wave.to_csv(export, index=False)
    with pytest.raises(IngestError, match=r"wellbeing.*5\.5.*1-5"):
        api.read_wave(export, study, wave="endline")


def test_a_cluster_randomised_study_without_a_cluster_column_points_to_the_individual_design(
    tmp_path: Path,
) -> None:
    with pytest.raises(StudyFileError, match="individually_randomised"):
        load_study(write_study(tmp_path, design="cluster_randomised"))


def test_an_analysis_role_naming_an_unknown_item_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StudyFileError, match=r"analysis\.balance_covariates names 'income'"):
        load_study(write_study(tmp_path, extra='[analysis]\nbalance_covariates = ["income"]\n'))
