"""Validation follows the study file: suites generated from another version of it are set
aside (bundled) or refused (the study's own, perhaps edited)."""

from __future__ import annotations

import shutil
from pathlib import Path

from flows.orchestration.stages import suites_for
from flows.study import load_study

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "studies" / "example" / "study.toml"


def test_the_bundled_suites_serve_the_unchanged_example_only(tmp_path: Path) -> None:
    copy = tmp_path / "study.toml"
    shutil.copyfile(EXAMPLE, copy)
    suites, source = suites_for(load_study(copy))
    assert suites is not None and source.endswith("expectations")

    edited = copy.read_text(encoding="utf-8").replace(
        "fieldwork_end = 2025-07-18", "fieldwork_end = 2025-06-20"
    )
    copy.write_text(edited, encoding="utf-8")
    suites, source = suites_for(load_study(copy))
    assert (suites, source) == (None, "built from the study file")
