"""The simulated synthesis: planted effects recovered from exported estimates alone, a report
that renders in Chromium without errors or network loads, and a run that skips unchanged inputs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from flows.simulation.synthesis import (
    PLANTED,
    SynthesisSettings,
    simulate_synthesis,
    write_simulated_synthesis,
)
from flows.synthesis.build import run_synthesis
from flows.synthesis.file import load_synthesis
from flows.synthesis.run import synthesize
from tests.flows.report.chromium import render

REPOSITORY = Path(__file__).resolve().parents[3]
ARTIFACTS = REPOSITORY / "test-artifacts"
EXAMPLE = REPOSITORY / "data" / "syntheses" / "example"


@pytest.fixture(scope="module")
def thirty_studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """Thirty simulated studies (one wave each), written as exported estimates only."""
    folder = tmp_path_factory.mktemp("thirty")
    simulated = simulate_synthesis(
        SynthesisSettings(n_studies=30, seed=11, follow_up_share=0.0, clusters=(30, 50))
    )
    path = write_simulated_synthesis(simulated, folder, title="Thirty studies")
    return path, simulated.truth


def test_the_synthesis_recovers_the_planted_mean_effects_and_heterogeneity(
    thirty_studies: tuple[Path, dict[str, object]],
) -> None:
    path, truth = thirty_studies
    # No microdata: the folder holds only estimate tables, the synthesis file and the truth.
    assert {p.suffix for p in (path.parent / "estimates").iterdir()} == {".csv"}
    result = run_synthesis(load_synthesis(path))
    pooled = result.pooled.set_index("outcome")
    planted = truth["outcomes"]
    assert isinstance(planted, dict)
    for spec in PLANTED:
        row = pooled.loc[spec.name]
        target = planted[spec.name]["mean_over_these_studies"]
        # Within three standard errors (a 99.7% event per outcome; the 95% interval's own
        # coverage is measured over thousands of sets in bench/synthesis_coverage.py).
        assert abs(row["estimate"] - target) < 3 * row["std_error"], spec.name
        assert row["model"] == "random effects (REML, HKSJ)"
        assert row["n_studies"] == 30
    # risk_perception: tau 0.08 plus a returnee shift of 0.15 in a third of the studies gives
    # a marginal between-study SD of about sqrt(0.08^2 + 0.15^2 * 2/9) = 0.107.
    assert 0.04 < pooled.loc["risk_perception", "tau"] < 0.2
    assert pooled.loc["trust_official", "tau"] < 0.08
    # The meta-regression on the messenger recovers the planted returnee shift.
    shift = result.moderators.set_index(["outcome", "term"]).loc[
        ("risk_perception", "messenger[returnee]")
    ]
    assert shift["conf_low"] < 0.15 < shift["conf_high"]
    assert shift["p_value"] < 0.05


def test_the_bundled_example_synthesis_reads_only_exported_estimates() -> None:
    synthesis = load_synthesis(EXAMPLE / "synthesis.toml")
    assert all(study.estimates is not None for study in synthesis.studies)
    truth = json.loads((EXAMPLE / "truth" / "truth.json").read_text(encoding="utf-8"))
    assert truth["n_studies"] == len(synthesis.studies)


def test_the_synthesis_report_renders_in_chromium_without_errors_or_network(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("synthesis", ".prefect"))
    outcome = synthesize(folder / "synthesis.toml")
    assert not outcome.reused
    html = outcome.report.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "default-src 'none'" in html
    page = render(outcome.report, screenshot=ARTIFACTS / "synthesis-report.png")
    assert page.console_errors == []
    assert [url for url in page.network_requests if not url.startswith("file:")] == []
    assert page.section_ids == [
        "assumptions",
        "evidence-map",
        "pooled",
        "forest",
        "moderators",
        "small-study",
        "studies",
        "caveats",
        "methods",
    ]
    assert "Evidence map" in page.text and "no evidence" in page.text
    for table in ("pooled", "verdicts", "evidence_map", "harmonized", "moderators"):
        csv = pd.read_csv(outcome.report.parent / f"{table}.csv")
        parquet = pd.read_parquet(outcome.report.parent / f"{table}.parquet")
        assert len(csv) == len(parquet) > 0, table
    # Every pooled estimate shown is a column of pooled.csv.
    pooled = pd.read_csv(outcome.report.parent / "pooled.csv")
    for value in pooled["estimate"]:
        assert f"{value:.3f}" in page.text


def test_an_unchanged_synthesis_is_reused_and_a_changed_estimate_rebuilds_it(
    partner_synthesis: Callable[..., Path],
) -> None:
    path = partner_synthesis()
    first = synthesize(path)
    again = synthesize(path)
    assert again.reused and again.fingerprint == first.fingerprint
    shared = path.parent / "shared" / "dakar.csv"
    table = pd.read_csv(shared)
    table.loc[0, "estimate"] = float(table.loc[0, "estimate"]) * 1.5
    table.to_csv(shared, index=False)
    changed = synthesize(path)
    assert not changed.reused and changed.fingerprint != first.fingerprint
    assert synthesize(path, force=True).fingerprint == changed.fingerprint
