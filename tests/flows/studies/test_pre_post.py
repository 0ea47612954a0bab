"""A pre/post study of our own, written from the README: continuous score, a post-only item."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flows.estimation import read_result
from flows.estimation.run import estimate_study
from flows.ingest import ingest_wave
from flows.study import load_study
from tests.flows.studies.files import SHORT_INSTRUMENT, short_wave, write_study

POST_ONLY = """
[[instrument.items]]
name = "took_up"
construct = "service"
scale = "binary"
question = "Did you use the service after the campaign?"

[outcomes]
primary = ["wellbeing", "took_up"]
"""


def test_a_pre_post_panel_reports_change_and_says_the_post_only_item_is_not_estimable(
    tmp_path: Path,
) -> None:
    study = load_study(
        write_study(
            tmp_path,
            design="pre_post",
            columns='respondent = "id"',
            instrument=SHORT_INSTRUMENT + POST_ONLY,
        )
    )
    before = short_wave(n_rows=120, wave="baseline", seed=1).drop(columns="group")
    after = short_wave(n_rows=110, wave="endline", seed=2).drop(columns="group")
    after["wellbeing"] = np.clip(after["wellbeing"] + 0.3, 1, 5).round(2)
    after["took_up"] = np.random.default_rng(3).integers(0, 2, len(after))
    for frame, name in ((before, "baseline"), (after, "endline")):
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        ingest_wave(study, path, wave=name)
    run = estimate_study(study, bootstrap_draws=0, lee_draws=10, seed=1)
    change = read_result(study, "within_arm_change", run.run_id)
    wellbeing = change[change["outcome"] == "wellbeing"]
    paired = wellbeing[wellbeing["test"] == "paired_t"]
    assert len(paired) == 1, wellbeing[["test", "estimate"]]
    assert 0.15 < float(paired["estimate"].iloc[0]) < 0.45
    assert "took_up" not in set(change["outcome"])
    assert any("not estimable: no baseline for ['took_up']" in w for w in run.warnings)
    assert read_result(study, "estimates", run.run_id).empty
