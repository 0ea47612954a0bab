"""The effect on trust in each source: the difference-in-differences of each trust rating."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.estimation import read_result
from tests.flows.estimation.conftest import ingest_and_estimate
from tests.flows.estimation.survey import SurveySettings


def test_each_source_gets_its_change_minus_change_with_the_primary_interval(
    tmp_path: Path,
) -> None:
    study, run = ingest_and_estimate(tmp_path / "study", SurveySettings(study_id="sources"))
    effects = read_result(study, "trust_source_effects", run.run_id)
    instrument = study.resolved_instrument()
    trust = {c.name for c in instrument.constructs if c.domain == "trust"}
    rated = [i.name for i in instrument.items if i.construct_name in trust and i.scale == "likert"]
    assert list(effects["source"]) == [name for name in rated if name in set(effects["source"])]
    assert len(effects) >= 10 and (effects["estimator"] == "did").all()
    assert effects["wave"].nunique() == 1
    assert effects[["conf_low_primary", "conf_high_primary"]].notna().all().all()
    assert (effects["conf_low_primary"] < effects["estimate"]).all()
    assert (effects["estimate"] < effects["conf_high_primary"]).all()
    # A construct of one item is that item: its estimate and primary interval are the
    # construct's difference-in-differences in the estimates table.
    estimates = read_result(study, "estimates", run.run_id)
    single = [c for c in trust if [i.name for i in instrument.items_of(c)] == [c]]
    assert single, "the bundled instrument lost its one-item trust construct"
    for name in single:
        mine = effects[effects["source"] == name].iloc[0]
        theirs = estimates[
            (estimates["outcome"] == name)
            & (estimates["estimator"] == "did")
            & (estimates["wave"] == mine["wave"])
        ].iloc[0]
        for column in ("estimate", "std_error", "conf_low_primary", "conf_high_primary"):
            assert mine[column] == pytest.approx(theirs[column], rel=1e-10)
