"""estimate_study: every result table of a run, keyed by (run_id, study_id), from the warehouse."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flows import api
from flows.estimation import (
    RESULT_TABLES,
    EstimationError,
    EstimationRun,
    estimate_study,
    latest_run_id,
    read_result,
)
from flows.study import Study, load_study
from flows.warehouse import warehouse_path
from measurement.attrition import ATTRITION_COLUMNS
from measurement.descriptives import DESCRIPTIVE_COLUMNS, MISSING_COLUMNS
from measurement.reliability import RELIABILITY_COLUMNS
from measurement.study_effects import EFFECT_COLUMNS
from tests.flows.estimation.survey import write_survey_study


def test_estimate_study_writes_every_result_table_keyed_by_run(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    assert set(run.tables) == set(RESULT_TABLES)
    for table in RESULT_TABLES:
        stored = api.query(
            study,
            f"SELECT DISTINCT run_id, study_id FROM {table} WHERE run_id = ?",
            [run.run_id],
        )
        if run.tables[table]:
            assert stored.values.tolist() == [[run.run_id, study.id]], table
    record = api.query(study, "SELECT status, kind FROM runs WHERE run_id = ?", [run.run_id])
    assert record.values.tolist() == [["finished", "estimate"]]
    assert latest_run_id(study) == run.run_id


def test_estimates_cover_ancova_and_did_on_each_later_wave_and_every_outcome(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    catalogue = read_result(study, "outcome_catalogue", run.run_id)
    linear = estimates[estimates["estimator"].isin(["ancova", "did"])]
    combinations = linear.groupby(["wave", "estimator"]).size()
    assert set(combinations.index.get_level_values("wave")) == {"endline", "follow_up"}
    assert (combinations == len(catalogue)).all()
    assert {"index_trust", "index_risk", "trust_official"} <= set(estimates["outcome"])
    assert estimates["p_value_wild_bootstrap"].notna().any()
    assert estimates["p_value_randomization"].notna().any()
    assert estimates["q_value"].notna().any()
    assert linear["is_primary"].sum() == 3 * 4


def test_estimates_read_the_designs_primary_inference_for_q_values(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    linear = estimates[
        estimates["estimator"].isin(["ancova", "did"]) & estimates["p_value"].notna()
    ]
    # The example study has fewer communities than the default threshold (42): CR2 primary.
    assert (linear["n_clusters"] < study.inference.few_clusters_below).all()
    assert (linear["primary_inference"] == "cr2_satterthwaite").all()
    assert linear["p_value_primary"].tolist() == linear["p_value_cr2"].tolist()
    assert linear["conf_low_primary"].tolist() == linear["conf_low_cr2"].tolist()
    assert linear["inference"].str.startswith("primary: CR2").all()
    from measurement.multiple_testing import adjust_within_families

    for _key, rows in linear.groupby(["wave", "estimator"]):
        expected = adjust_within_families(rows, family="family", p_value="p_value_primary")
        assert rows["q_value"].tolist() == pytest.approx(expected["q_value_sharpened"].tolist())
        assert rows["adjusted_p_value"].tolist() == pytest.approx(expected["q_value_bh"].tolist())


def test_likert_outcomes_get_an_ordered_logit_robustness_row_without_adjustment(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    catalogue = read_result(study, "outcome_catalogue", run.run_id)
    ordinal = estimates[estimates["estimator"] == "ordered_logit"]
    likert = catalogue[(catalogue["kind"] == "item") & (catalogue["scale"] == "likert")]
    assert len(likert) > 0
    assert sorted(ordinal["outcome"].unique()) == sorted(likert["outcome"])
    assert set(ordinal["wave"]) == {"endline", "follow_up"}
    assert ordinal["warnings"].str.contains("log-odds ratio").all()
    assert ordinal[["q_value", "adjusted_p_value", "p_value_romano_wolf"]].isna().all().all()
    assert ordinal["std_error"].gt(0).all()


def test_binary_outcomes_get_logit_and_probit_ame_rows_beside_the_linear_probability_model(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    catalogue = read_result(study, "outcome_catalogue", run.run_id)
    binary = catalogue[(catalogue["kind"] == "item") & (catalogue["scale"] == "binary")]
    assert len(binary) > 0
    for estimator in ("logit_ame", "probit_ame"):
        rows = estimates[estimates["estimator"] == estimator]
        assert set(rows["outcome"]) <= set(binary["outcome"]) and len(rows) > 0
        assert rows["warnings"].str.contains("average marginal effect").all()
        assert rows[["q_value", "adjusted_p_value"]].isna().all().all()
        # The robust variance is the one the study's inference reads for G clusters.
        for _, row in rows.iterrows():
            vcov = study.inference.vcov_for(int(row["n_clusters"]))
            assert row["specification"].endswith(f"; {vcov} errors")
            assert f"{vcov} " in row["inference"]
        linear = estimates[
            estimates["estimator"].eq("ancova") & estimates["outcome"].isin(rows["outcome"])
        ].set_index(["outcome", "wave"])["estimate"]
        paired = rows.set_index(["outcome", "wave"])["estimate"]
        common = paired.index.intersection(linear.index)
        # An AME and the linear probability coefficient estimate the same difference in
        # probabilities; on the simulated study they differ by far less than 0.1.
        assert len(common) > 0
        assert (paired[common] - linear[common]).abs().max() < 0.1


def test_estimates_recover_the_planted_rise_in_official_trust(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    row = estimates[
        (estimates["outcome"] == "trust_official")
        & (estimates["wave"] == "endline")
        & (estimates["estimator"].str.lower().str.contains("ancova"))
    ].iloc[0]
    assert 0.3 < row["estimate"] < 0.9
    assert row["conf_low"] > 0


def test_a_small_follow_up_arm_is_recorded_as_the_smallest_cell(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    follow_up = estimates[estimates["wave"] == "follow_up"]
    assert (follow_up["n_smallest_cell"] <= 6).all()
    assert (estimates.loc[estimates["wave"] == "endline", "n_smallest_cell"] >= 10).all()
    sizes = read_result(study, "sample_sizes", run.run_id).set_index(["wave", "arm"])
    assert sizes.loc[("follow_up", "comparison"), "n_respondents"] == 6


def test_result_tables_carry_the_measurement_columns(
    estimated: tuple[Study, EstimationRun],
) -> None:
    declared = {name: [column for column, _ in columns] for name, columns in RESULT_TABLES.items()}
    assert declared["estimates"][: len(EFFECT_COLUMNS)] == EFFECT_COLUMNS
    assert declared["reliability"] == RELIABILITY_COLUMNS
    assert declared["descriptives"] == DESCRIPTIVE_COLUMNS
    assert declared["missing_answers"] == MISSING_COLUMNS
    assert declared["attrition"][1:] == ATTRITION_COLUMNS


def test_descriptive_tables_hold_trust_shift_cascade_and_risk_beliefs(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    trust = read_result(study, "trust_shift", run.run_id)
    assert "gap_trust_official_trust_informal" in set(trust["source"])
    assert set(trust["arm"]) == {"campaign", "comparison", "everyone"}
    cascade = read_result(study, "intention_cascade", run.run_id)
    assert {"wish_to_leave", "irregular_intention__likely"} <= set(cascade["step"])
    assert cascade["share"].between(0, 1).all()
    beliefs = read_result(study, "risk_beliefs", run.run_id)
    death = beliefs[beliefs["item"] == "risk_death"]
    assert (death["true_value"] == 2.0).all()
    assert (death["share_over"] + death["share_under"] <= 1).all()


def test_estimates_are_exported_as_csv_and_parquet_at_full_precision(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    csv_path, parquet_path = run.exports
    from_csv = pd.read_csv(csv_path)
    from_parquet = pd.read_parquet(parquet_path)
    stored = read_result(study, "estimates", run.run_id)
    assert len(from_csv) == len(from_parquet) == len(stored)
    # Rows whose smallest cell is under the minimum lose their numbers, as in the report.
    small = (stored["n_smallest_cell"] < study.design.minimum_cell_size).to_numpy()
    assert from_parquet["suppressed"].to_numpy().tolist() == small.tolist()
    assert from_parquet.loc[small, "estimate"].isna().all()
    pd.testing.assert_series_equal(
        from_parquet.loc[~small, "estimate"],
        stored.loc[~small, "estimate"],
        check_names=False,
        rtol=0,
        atol=0,
    )


def test_no_identifying_value_reaches_the_warehouse_or_the_exports(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    raw = pd.read_csv(study.inbox / "baseline.csv")
    planted = [raw["respondent_name"].iloc[3], raw["phone"].iloc[3], raw["respondent_id"].iloc[3]]
    stored = warehouse_path(study).read_bytes() + b"".join(p.read_bytes() for p in run.exports)
    for value in planted:
        assert str(value).encode("utf-8") not in stored, value


def test_a_second_run_keeps_the_first_runs_rows(estimated: tuple[Study, EstimationRun]) -> None:
    study, first = estimated
    second = estimate_study(study, bootstrap_draws=0, lee_draws=10, run_id="second-run")
    assert read_result(study, "estimates", first.run_id)["p_value_wild_bootstrap"].notna().any()
    assert read_result(study, "estimates", second.run_id)["p_value_wild_bootstrap"].isna().all()
    assert latest_run_id(study) == "second-run"


def test_estimate_study_refuses_a_study_without_stored_waves(tmp_path: Path) -> None:
    study = load_study(write_survey_study(tmp_path / "empty"))
    with pytest.raises(EstimationError, match="holds no stored wave of study 'synthetic'"):
        estimate_study(study, bootstrap_draws=0)
    failed = api.query(study, "SELECT status, message FROM runs")
    assert failed["status"].tolist() == ["failed"]


def test_estimate_study_rejects_negative_draws(tmp_path: Path) -> None:
    study = load_study(write_survey_study(tmp_path / "draws"))
    with pytest.raises(ValueError, match="bootstrap_draws must be a non-negative integer"):
        estimate_study(study, bootstrap_draws=-1)


def test_read_result_rejects_an_unknown_table(estimated: tuple[Study, EstimationRun]) -> None:
    study, run = estimated
    with pytest.raises(ValueError, match="no result table 'effects'"):
        read_result(study, "effects", run.run_id)


def test_latest_run_id_explains_that_no_run_exists(tmp_path: Path) -> None:
    study = load_study(write_survey_study(tmp_path / "none"))
    with pytest.raises(EstimationError, match="has no finished estimation run"):
        latest_run_id(study)


def test_lee_bounds_are_trimmed_within_strata_and_captioned_for_the_always_observed(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    bounds = read_result(study, "lee_bounds", run.run_id)
    assert len(bounds) > 0
    assert bounds["inference"].str.contains("for the always-observed").all()
    assert bounds["inference"].str.contains("trimmed within strata").any()
