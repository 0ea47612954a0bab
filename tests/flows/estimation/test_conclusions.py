"""The evidence columns of the estimates table: primary inference, SESOI in SD, conclusions."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from flows.estimation import read_result
from flows.estimation.conclusions import CR1_FALLBACK, add_conclusions, primary_evidence
from flows.study import Study
from tests.flows.estimation.conftest import ingest_and_estimate
from tests.flows.estimation.survey import SurveySettings


class _Outcomes:
    def __init__(self, sesoi: dict[str, float]) -> None:
        self.sesoi = sesoi


class _Design:
    def __init__(self, sampling: str) -> None:
        self.sampling = sampling


class _Study:
    def __init__(self, sesoi: dict[str, float], sampling: str = "panel") -> None:
        self.outcomes = _Outcomes(sesoi)
        self.design = _Design(sampling)


ROWS = pd.DataFrame(
    {
        "outcome": ["trust", "trust", "intention"],
        "estimator": ["ancova", "ordered_logit", "ancova"],
        "estimate": [0.02, 0.1, -0.5],
        "standardized_effect": [0.01, None, -0.25],  # SD 2 for both linear rows
        "p_value": [0.7, 0.4, 0.001],
        "conf_low": [-0.08, -0.1, -0.7],
        "conf_high": [0.12, 0.3, -0.3],
        "n_clusters": [40, 40, 40],
        "n_obs": [600, 600, 600],
    }
)


def test_a_sesoi_in_standard_deviations_becomes_outcome_units_and_rules_out_an_effect() -> None:
    messages: list[tuple[str, str]] = []
    table = add_conclusions(_Study({"trust": 0.2, "nowhere": 0.1}), ROWS, messages)  # type: ignore[arg-type]
    first = table.iloc[0]
    assert first["sesoi"] == pytest.approx(0.4)  # 0.2 SD x SD 2
    assert first["conclusion"] == "effect larger than the SESOI ruled out"
    assert first["evidence_inference"] == CR1_FALLBACK and first["evidence_df"] == 39
    assert math.isnan(table.iloc[1]["sesoi"])  # a log-odds ratio has no SESOI in SD
    assert table.iloc[2]["conclusion"] == "effect shown"
    assert table.iloc[2]["mde_standardized"] == pytest.approx(table.iloc[2]["mde"] / 2)
    assert any("nowhere" in message for _, message in messages)


def test_the_primary_inference_is_read_where_a_row_has_it() -> None:
    rows = ROWS.assign(
        p_value_primary=[0.9, None, 0.2],
        conf_low_primary=[-0.2, None, -1.2],
        conf_high_primary=[0.25, None, 0.2],
        primary_inference=["wild_bootstrap", None, "wild_bootstrap"],
    )
    chosen = primary_evidence(rows)
    assert list(chosen["inference"]) == ["wild_bootstrap", CR1_FALLBACK, "wild_bootstrap"]
    table = add_conclusions(_Study({}), rows, [])  # type: ignore[arg-type]
    # CR1 calls the third row an effect; the primary inference (p = 0.2) does not.
    assert table.iloc[2]["conclusion"] == "inconclusive"


def test_the_primary_interval_is_stored_in_standard_deviations_beside_the_effect() -> None:
    rows = ROWS.assign(
        p_value_primary=[0.9, None, 0.2],
        conf_low_primary=[-0.2, None, -1.2],
        conf_high_primary=[0.25, None, 0.2],
        primary_inference=["wild_bootstrap", None, "wild_bootstrap"],
    )
    table = add_conclusions(_Study({}), rows, [])  # type: ignore[arg-type]
    # SD 2 (0.02 / 0.01 and -0.5 / -0.25): the primary interval halves, CR1's is not read.
    assert table.iloc[0]["conf_low_standardized"] == pytest.approx(-0.1)
    assert table.iloc[0]["conf_high_standardized"] == pytest.approx(0.125)
    assert table.iloc[2]["conf_low_standardized"] == pytest.approx(-0.6)
    assert table.iloc[2]["conf_high_standardized"] == pytest.approx(0.1)
    # a log-odds row has no standardized effect, so no interval in SD
    assert math.isnan(table.iloc[1]["conf_low_standardized"])


def test_the_main_estimator_is_the_plans_not_the_first_row() -> None:
    rows = pd.concat(
        [ROWS.assign(estimator=["post_only_difference", "ordered_logit", "did"]), ROWS]
    )
    panel = add_conclusions(_Study({}), rows, [])  # type: ignore[arg-type]
    assert list(panel["is_main_estimator"]) == [True, False, False, True, False, True]
    cross_section = add_conclusions(_Study({}, "repeated_cross_section"), rows, [])  # type: ignore[arg-type]
    assert list(cross_section["is_main_estimator"]) == [True, False, True, False, False, False]


def test_an_estimated_study_stores_the_evidence_columns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    study, run = ingest_and_estimate(tmp_path / "study", SurveySettings(study_id="evidence"))
    assert isinstance(study, Study)
    stored = read_result(study, "estimates", run.run_id)
    linear = stored[stored["estimator"].isin(["ancova", "did"])]
    # The run's primary inference (12 clusters: the few-clusters method) is what was read.
    assert set(linear["evidence_inference"]) <= {"wild_bootstrap", "cr2_satterthwaite"}
    # primary_inference is text in the warehouse (it was typed as a number and lost).
    assert (linear["primary_inference"] == linear["evidence_inference"]).all()
    assert (
        linear["conclusion"]
        .isin(["effect shown", "effect larger than the SESOI ruled out", "inconclusive"])
        .all()
    )
    assert (linear["mde"] > 0).all()
    assert linear["conclusion_text"].str.len().gt(10).all()
