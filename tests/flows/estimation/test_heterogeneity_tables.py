"""Effects by who decides: the effects_by_group table of cluster-randomised panels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from flows.estimation import EstimationRun, read_result
from flows.estimation.analysis_data import analysable_responses
from flows.estimation.heterogeneity_tables import decides_alone
from flows.study import Study
from measurement.linear_model import fit_linear_model
from tests.flows.estimation.conftest import ingest_and_estimate
from tests.flows.estimation.survey import SurveySettings


def test_decides_alone_is_one_for_i_alone_zero_for_any_other_answer_and_missing_if_missing():
    values = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])
    result = decides_alone(values)
    assert result.iloc[:5].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert np.isnan(result.iloc[5])


def test_effects_by_group_has_each_primary_outcome_by_who_decides_at_each_estimable_wave(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    table = read_result(study, "effects_by_group", run.run_id)
    endline = table[table["wave"] == "endline"]
    assert set(endline["outcome"]) == set(study.outcomes.primary)
    for _, rows in endline.groupby("outcome"):
        assert rows["term"].tolist() == ["effect", "effect", "difference"]
        assert rows["group"].tolist() == [
            "others take part",
            "decides alone",
            "decides alone minus others take part",
        ]
    assert (endline["grouping"] == "decides_alone").all()
    assert endline["n_smallest_cell"].min() > 0
    # The follow-up comparison arm lies in one community: no group has two comparison clusters,
    # so no effect by group is estimated there and the reason is recorded.
    assert "follow_up" not in set(table["wave"])
    assert any("effects by who decides follow_up" in message for message in run.warnings)


def test_effects_by_group_carries_baseline_decision_to_the_later_wave_by_respondent(
    estimated: tuple[Study, EstimationRun],
) -> None:
    study, run = estimated
    table = read_result(study, "effects_by_group", run.run_id)
    row = table[
        (table["wave"] == "endline")
        & (table["outcome"] == "irregular_intention")
        & (table["term"] == "difference")
    ].iloc[0]
    responses = analysable_responses(study)
    before = responses[responses["wave"] == "baseline"][
        ["respondent", "decision_who", "irregular_intention"]
    ].rename(columns={"irregular_intention": "baseline"})
    later = responses[responses["wave"] == "endline"][
        ["respondent", "cluster", "stratum", "treated", "irregular_intention"]
    ]
    frame = later.merge(before, on="respondent").dropna()
    frame["alone"] = (frame["decision_who"] == 1).astype(float)
    frame["treated"] = frame["treated"].astype(float)
    model = smf.ols(
        "irregular_intention ~ treated * alone + baseline + C(stratum)", data=frame
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["cluster"])[0]}, use_t=True)
    assert row["n_obs"] == len(frame)
    assert row["estimate"] == pytest.approx(model.params["treated:alone"], rel=1e-6)
    # The example study has fewer communities than its few_clusters_below (42): CR2 errors
    # (the CR1 ones would be statsmodels' cluster errors with dummies).
    assert frame["cluster"].nunique() < study.inference.few_clusters_below
    frame["treated_x_alone"] = frame["treated"] * frame["alone"]
    cr2 = fit_linear_model(
        frame,
        outcome="irregular_intention",
        regressors=["treated", "alone", "treated_x_alone", "baseline"],
        cluster="cluster",
        fixed_effects=["stratum"],
        vcov="CR2",
    ).term("treated_x_alone")
    assert row["std_error"] == pytest.approx(cr2["std_error"], rel=1e-6)
    assert row["std_error"] != pytest.approx(model.bse["treated:alone"], rel=1e-3)
    assert "CR2 errors on the community" in row["specification"]
    cells = frame.groupby(["treated", "alone"]).size()
    assert row["n_smallest_cell"] == cells.min()


def test_a_repeated_cross_section_gets_no_effects_by_group(tmp_path: Path) -> None:
    settings = SurveySettings(
        study_id="cross", n_clusters=8, per_cluster=8, sampling="repeated_cross_section"
    )
    study, run = ingest_and_estimate(tmp_path / "study", settings)
    assert run.tables["effects_by_group"] == 0
    assert read_result(study, "effects_by_group", run.run_id).empty
