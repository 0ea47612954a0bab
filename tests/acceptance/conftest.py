"""Run a real public data set through the `trustshift` command line, as a user would.

Each study folder under ``data/`` holds a study file and an instrument written from the
README, and every wave in two formats. A run copies the study and one file per wave into a
fresh folder, then calls ``trustshift ingest``, ``validate``, ``estimate`` and ``report``
(in process, the commands a user types) and reads the estimates the report exported.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from typer.testing import CliRunner

with warnings.catch_warnings():
    # great_expectations 1.24 imports the stdlib's deprecated sre_constants and sre_parse
    # modules, which warn once at import on Python 3.11; nothing of ours is involved.
    warnings.filterwarnings(
        "ignore",
        message="module 'sre_(constants|parse)' is deprecated",
        category=DeprecationWarning,
    )
    import great_expectations  # noqa: F401

from flows.cli import app

DATA = Path(__file__).resolve().parent / "data"
REFERENCE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "reference.json").read_text(encoding="utf-8")
)


@dataclass(frozen=True)
class StudyRun:
    """What a user gets back: the study folder, every command's output and the estimates."""

    folder: Path
    outputs: dict[str, str]
    estimates: pd.DataFrame
    report: str

    def row(self, outcome: str, estimator: str) -> pd.Series:
        """The one estimate of ``outcome`` by ``estimator`` (ancova, did, ...)."""
        estimates = self.estimates
        rows = estimates[(estimates["outcome"] == outcome) & (estimates["estimator"] == estimator)]
        assert len(rows) == 1, f"{outcome} by {estimator}: {len(rows)} rows in estimates.csv"
        return rows.iloc[0]


def prepare(study: str, files: list[str], folder: Path) -> Path:
    """A fresh copy of a study with the named wave files in its inbox; the study file."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("study.toml", "instrument.toml"):
        shutil.copyfile(DATA / study / name, folder / name)
    inbox = folder / "inbox"
    inbox.mkdir()
    for name in files:
        shutil.copyfile(DATA / study / name, inbox / name)
    return folder / "study.toml"


def invoke(*arguments: str) -> str:
    """Run one trustshift command; fail with its output unless it exits 0."""
    result = CliRunner().invoke(app, list(arguments))
    assert result.exit_code == 0, f"trustshift {' '.join(arguments)}: {result.output}"
    return result.output


def run_study(study: str, files: list[str], folder: Path) -> StudyRun:
    """ingest, validate, estimate and report one study; the report's estimates.csv."""
    study_file = prepare(study, files, folder)
    outputs = {
        "ingest": invoke("ingest", str(study_file)),
        "validate": invoke("validate", str(study_file)),
        # The bootstrap and permutation p-values are not compared with R: 999 draws suffice.
        "estimate": invoke(
            "estimate", str(study_file), "--seed", "20261201", "--bootstrap-draws", "999"
        ),
        "report": invoke("report", str(study_file)),
    }
    (report,) = sorted((folder / "reports").glob("*/report.html"))
    estimates = pd.read_csv(report.parent / "estimates.csv")
    return StudyRun(
        folder=folder,
        outputs=outputs,
        estimates=estimates,
        report=report.read_text(encoding="utf-8"),
    )
