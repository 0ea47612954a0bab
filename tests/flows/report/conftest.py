"""Reports of three designs, each ingested, estimated and rendered once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.estimation import estimate_study
from flows.ingest import ingest_wave
from flows.report import build_report
from flows.study import load_study

REPOSITORY = Path(__file__).resolve().parents[3]
ARTIFACTS = REPOSITORY / "test-artifacts"
ACCEPTANCE = REPOSITORY / "tests" / "acceptance" / "data"

# name: (study folder, wave files in its inbox or None for the folder's own inbox, what it is)
DESIGNS: dict[str, tuple[Path, list[str] | None]] = {
    # cluster-randomised panel on the bundled instrument (simulated, with field faults)
    "example": (REPOSITORY / "data" / "studies" / "example", None),
    # individually randomised panel, a clinical trial's instrument (Beat the Blues)
    "individually_randomised": (ACCEPTANCE / "beat_the_blues", ["baseline.csv", "endline.csv"]),
    # quasi-experimental panel with an instrument of its own (Card and Krueger's stores)
    "own_instrument": (ACCEPTANCE / "card_krueger", ["before.csv", "after.csv"]),
}


def _report(root: Path, name: str) -> Path:
    source, files = DESIGNS[name]
    root.mkdir(parents=True)
    for file in ("study.toml", "instrument.toml"):
        if (source / file).is_file():
            shutil.copy2(source / file, root / file)
    if files is None:
        shutil.copytree(source / "inbox", root / "inbox")
    else:
        (root / "inbox").mkdir()
        for file in files:
            shutil.copy2(source / file, root / "inbox" / file)
    study = load_study(root / "study.toml")
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    # Few draws: the browser tests look at the page, not at the p-values.
    run = estimate_study(study, bootstrap_draws=49, lee_draws=10, seed=5)
    return build_report(study, run_id=run.run_id, out_dir=root / "report")


@pytest.fixture(scope="session")
def design_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The HTML report of each design in ``DESIGNS``, keyed by its name."""
    root = tmp_path_factory.mktemp("designs")
    return {name: _report(root / name, name) for name in DESIGNS}
