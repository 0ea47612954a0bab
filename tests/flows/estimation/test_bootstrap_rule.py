"""With many clusters the wild bootstrap is not the primary inference: it is skipped by rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from flows.estimation import estimate_study, read_result
from flows.estimation.design_inference import cluster_bootstrap
from flows.ingest import ingest_wave
from flows.study import load_study
from tests.flows.estimation.survey import SurveySettings, write_survey_study


def test_a_study_with_at_least_few_clusters_below_skips_the_bootstrap_and_says_so(
    tmp_path: Path,
) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(n_clusters=8, per_cluster=8))
    with study_file.open("a", encoding="utf-8") as handle:
        handle.write("\n[inference]\nfew_clusters_below = 6\n")
    study = load_study(study_file)
    assert not cluster_bootstrap(study, 8)
    assert cluster_bootstrap(study, 5)
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    run = estimate_study(study, bootstrap_draws=19, lee_draws=5, seed=2)
    estimates = read_result(study, "estimates", run.run_id)
    effects = estimates[estimates["estimator"].isin(["ancova", "did"])]
    assert not effects.empty
    assert effects["p_value_wild_bootstrap"].isna().all()
    assert effects["p_value_romano_wolf"].isna().all()
    assert set(effects["primary_inference"]) == {"cr1"}
    pd.testing.assert_series_equal(
        effects["p_value_primary"], effects["p_value"], check_names=False
    )
    # Randomization inference is no bootstrap: it stays.
    assert effects["p_value_randomization"].notna().all()
    caveats = read_result(study, "run_warnings", run.run_id)
    skipped = caveats[caveats["message"].str.startswith("wild cluster bootstrap not computed")]
    assert skipped["message"].tolist() == [
        "wild cluster bootstrap not computed: 8 clusters, at least few_clusters_below=6, so the "
        "primary inference is CR1 (analytic); no bootstrap p-value, interval or Romano-Wolf / "
        "Westfall-Young step-down. Raise [inference] few_clusters_below in the study file to "
        "compute them."
    ]
