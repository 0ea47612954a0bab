"""Studies of our own instrument, individually randomised or pre/post, ingested and estimated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.estimation import read_result
from flows.estimation.run import estimate_study
from flows.ingest import ingest_wave
from flows.study import load_study
from tests.flows.studies.files import short_wave, write_study

POST_ONLY = """
[[instrument.items]]
name = "took_up"
construct = "service"
scale = "binary"
question = "Did you use the service after the campaign?"
"""

OUTCOMES = """
[outcomes]
primary = ["wellbeing", "took_up"]

[analysis]
balance_covariates = ["age"]
heterogeneity = [
    { name = "decides_alone", item = "household", codes = [1], label = "decides alone" },
]
"""


def _panel(tmp_path: Path, *, design: str = "individually_randomised") -> Path:
    from tests.flows.studies.files import SHORT_INSTRUMENT

    study_file = write_study(
        tmp_path, design=design, instrument=SHORT_INSTRUMENT + POST_ONLY, extra=OUTCOMES
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    baseline = short_wave(n_rows=240, wave="baseline", seed=1)
    endline = short_wave(n_rows=220, wave="endline", seed=2, effect=0.4)
    rng = np.random.default_rng(5)
    endline["took_up"] = rng.integers(0, 2, len(endline))
    baseline.to_csv(inbox / "baseline.csv", index=False)
    endline.to_csv(inbox / "endline.csv", index=False)
    return study_file


@pytest.fixture(scope="module")
def estimated(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("individual")
    study = load_study(_panel(root))
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    run = estimate_study(study, bootstrap_draws=99, lee_draws=20, seed=3)
    return study, run


def test_an_individually_randomised_panel_needs_no_cluster_and_gets_robust_errors(estimated):
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    ancova = estimates[(estimates["estimator"] == "ancova") & (estimates["outcome"] == "wellbeing")]
    assert len(ancova) == 1
    row = ancova.iloc[0]
    # No cluster: HC2 (estimatr's lm_robust default) with t(N-K), no wild bootstrap.
    assert row["inference"].startswith("primary: HC2")
    assert pd.isna(row["p_value_wild_bootstrap"])
    assert 0.2 < row["estimate"] < 0.6
    # The panel DiD keeps a respondent's two waves together: errors cluster on the person.
    did = estimates[(estimates["estimator"] == "did") & (estimates["outcome"] == "wellbeing")]
    assert did["n_clusters"].item() == 240 and did["n_obs"].item() == 460
    assert pd.isna(did["p_value_wild_bootstrap"].item())


def test_lee_bounds_run_for_a_panel_without_a_cluster_column(estimated):
    study, run = estimated
    bounds = read_result(study, "lee_bounds", run.run_id)
    assert "wellbeing" in set(bounds["outcome"])


def test_an_outcome_measured_only_after_the_campaign_is_estimated_not_failed(estimated):
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    took_up = estimates[estimates["outcome"] == "took_up"]
    assert not took_up.empty
    assert set(took_up["estimator"]) == {"post_only_difference"}
    assert took_up["estimate"].notna().all()
    change = read_result(study, "within_arm_change", run.run_id)
    assert "wellbeing" in set(change["outcome"])


def test_a_post_only_outcome_has_primary_inference_and_joins_its_family_q_values(estimated):
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    row = estimates[estimates["outcome"] == "took_up"].iloc[0]
    # Individually randomised: the post-only estimate's own HC2 with t(N-K) is primary.
    assert row["primary_inference"] == "hc2"
    assert row["inference"].startswith("primary: HC2")
    assert row["p_value_primary"] == pytest.approx(row["p_value"])
    assert row["conf_low_primary"] == pytest.approx(row["conf_low"])
    assert row["conf_high_primary"] == pytest.approx(row["conf_high"])
    assert row["evidence_inference"] == "hc2"
    assert row["evidence_df"] == pytest.approx(row["df"])
    assert row["evidence_df"] == pytest.approx(row["n_obs"] - 3)  # treated, age, intercept
    # One family with the main estimator's rows at the wave: BH over their primary p-values.
    family = estimates[
        (estimates["wave"] == row["wave"])
        & (estimates["family"] == row["family"])
        & estimates["estimator"].isin(["ancova", "post_only_difference"])
    ]
    assert len(family) >= 2
    p_values = family["p_value_primary"].to_numpy(dtype=float)
    ranks = p_values.argsort().argsort() + 1
    raw = np.minimum(1.0, p_values * len(p_values) / ranks)
    expected = [raw[p_values >= value].min() for value in p_values]
    assert family["adjusted_p_value"].to_numpy(dtype=float) == pytest.approx(expected)
    assert family["q_value"].notna().all()


def test_an_individual_design_reports_hc1_beside_the_primary_hc2(estimated):
    study, run = estimated
    estimates = read_result(study, "estimates", run.run_id)
    row = estimates[
        (estimates["estimator"] == "ancova") & (estimates["outcome"] == "wellbeing")
    ].iloc[0]
    assert "HC1" in row["inference"] and row["primary_inference"] == "hc2"
    # HC1 (std_error, p_value, conf_*) and HC2 (the primary columns) share the t(N-K)
    # reference and differ only in the leverage correction.
    assert row["p_value"] != pytest.approx(row["p_value_primary"], rel=1e-9)
    assert row["conf_low"] != pytest.approx(row["conf_low_primary"], rel=1e-9)
    half_hc1 = (row["conf_high"] - row["conf_low"]) / 2
    half_hc2 = (row["conf_high_primary"] - row["conf_low_primary"]) / 2
    assert half_hc2 / half_hc1 == pytest.approx(1.0, abs=0.05)


def test_declared_heterogeneity_and_balance_covariates_are_used(estimated):
    study, run = estimated
    groups = read_result(study, "effects_by_group", run.run_id)
    assert set(groups["grouping"]) == {"decides_alone"}
    balance = read_result(study, "balance", run.run_id)
    assert "age" in set(balance["covariate"])


def test_status_shows_the_last_run(estimated):
    from flows.status import study_status

    study, run = estimated
    current = study_status(study)
    assert current.last_run is not None and current.last_run["run_id"] == run.run_id
    assert current.last_run["status"] == "finished"
    assert list(current.waves["validation"]) == ["not validated", "not validated"]


def test_the_report_of_an_individual_design_speaks_of_respondents_not_communities(estimated):
    from flows.report.build import build_report

    study, run = estimated
    html = build_report(study, run_id=run.run_id).read_text(encoding="utf-8")
    assert "Communities" not in html
    assert "randomised across" not in html
    assert "randomised between respondents" in html
    assert "(robust)" in html and "p (wild bootstrap)" not in html
    assert "Unit of assignment: respondent" in html
    # No trust, intention or risk constructs in this instrument: those sections are left out.
    for section in ("trust-shift", "intention-cascade", "risk-beliefs"):
        assert f'id="{section}"' not in html and f'href="#{section}"' not in html
