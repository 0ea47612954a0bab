"""bench/plain_stages.py does the pipeline's work: the same quarantine and CR1 estimates."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from flows.estimation.run import estimate_study
from flows.ingest import ingest_wave
from flows.orchestration.stages import validate_and_store
from flows.study import load_study

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "studies" / "example"


def _plain_stages() -> ModuleType:
    path = ROOT / "bench" / "plain_stages.py"
    spec = importlib.util.spec_from_file_location("plain_stages", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def both_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The example study through the pipeline (in process) and through the plain path."""
    folder = tmp_path_factory.mktemp("plain") / "example"
    shutil.copytree(EXAMPLE, folder)
    study = load_study(folder / "study.toml")
    for wave in study.wave_names:
        ingest_wave(study, folder / "inbox" / f"{wave}.csv")
    for wave in study.wave_names:
        validate_and_store(study, wave, run_id="plain-comparison")
    run = estimate_study(study, bootstrap_draws=0, lee_draws=2)
    with duckdb.connect(str(folder / study.locations.warehouse), read_only=True) as connection:
        quarantine = connection.execute(
            "SELECT wave, count(DISTINCT row_number) FROM quarantine GROUP BY wave"
        ).fetchall()
        estimates = connection.execute(
            "SELECT outcome, wave, estimate, std_error, n_obs FROM estimates "
            "WHERE run_id = ? AND estimator = 'ancova'",
            [run.run_id],
        ).df()
        reasons = connection.execute(
            "SELECT wave, coalesce(missing_reason, 'answered') AS reason, count(*) AS n_answers, "
            "count(value) AS n_values FROM answers GROUP BY ALL ORDER BY ALL"
        ).df()
    plain = _plain_stages()
    out = folder / "plain"
    # Chunks of 200 rows: the example's waves (about 500-600 rows) are read in several.
    plain.ingest(study, out, chunk_rows=200)
    counts = plain.validate(study, out)
    table = plain.estimate(study, out)
    plain_reasons = []
    for wave in study.wave_names:
        answers = pq.read_table(out / wave / "answers.parquet").to_pandas()
        answers["reason"] = answers["missing_reason"].astype(object).fillna("answered")
        counted = answers.groupby("reason").agg(
            n_answers=("reason", "size"), n_values=("value", "count")
        )
        plain_reasons.append(counted.reset_index().assign(wave=wave))
    return {
        "pipeline_reasons": reasons,
        "plain_reasons": pd.concat(plain_reasons, ignore_index=True),
        "pipeline_quarantine": dict(quarantine),
        "plain_quarantine": counts,
        "pipeline_estimates": estimates,
        "plain_estimates": table,
        "study": study,
    }


def test_the_plain_long_answers_hold_the_pipelines_values_and_reasons(
    both_paths: dict[str, object],
) -> None:
    columns = ["wave", "reason", "n_answers", "n_values"]
    pipeline = both_paths["pipeline_reasons"]
    plain = both_paths["plain_reasons"]
    assert isinstance(pipeline, pd.DataFrame) and isinstance(plain, pd.DataFrame)
    pd.testing.assert_frame_equal(
        plain[columns].sort_values(["wave", "reason"]).reset_index(drop=True),
        pipeline[columns].sort_values(["wave", "reason"]).reset_index(drop=True),
        check_dtype=False,
    )
    assert {"dont_know", "out_of_range", "not_applicable"} <= set(plain["reason"])


def test_the_plain_quarantine_counts_equal_the_pipelines(both_paths: dict[str, object]) -> None:
    assert both_paths["plain_quarantine"] == both_paths["pipeline_quarantine"]
    assert sum(both_paths["plain_quarantine"].values()) > 0  # type: ignore[attr-defined]


def test_the_plain_estimates_are_the_pipelines_cr1_ancova(both_paths: dict[str, object]) -> None:
    pipeline = both_paths["pipeline_estimates"]
    plain = both_paths["plain_estimates"]
    assert isinstance(pipeline, pd.DataFrame) and isinstance(plain, pd.DataFrame)
    # The same outcome-and-wave pairs: the plain path fits as many models as the main estimator.
    assert sorted(zip(plain["outcome"], plain["wave"], strict=True)) == sorted(
        zip(pipeline["outcome"], pipeline["wave"], strict=True)
    )
    joined = pipeline.merge(plain, on=["outcome", "wave"], suffixes=("_pipeline", "_plain"))
    assert (joined["n_obs_pipeline"] == joined["n_obs_plain"]).all()
    pd.testing.assert_series_equal(
        joined["estimate_plain"], joined["estimate_pipeline"], check_names=False, rtol=0, atol=1e-8
    )
    pd.testing.assert_series_equal(
        joined["std_error_plain"], joined["std_error_pipeline"], check_names=False, rtol=1e-8
    )
    study = both_paths["study"]
    primary = joined[
        joined["outcome"].isin(study.outcomes.primary)  # type: ignore[attr-defined]
        & (joined["wave"] == study.outcomes.primary_wave)  # type: ignore[attr-defined]
    ]
    assert len(primary) == len(study.outcomes.primary)  # type: ignore[attr-defined]
