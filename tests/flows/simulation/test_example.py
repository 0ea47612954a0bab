"""The committed example study stays honest: regenerating it gives the same bytes."""

from __future__ import annotations

from pathlib import Path

from flows.simulation.example import EXAMPLE_STUDY, make_example_study
from flows.simulation.simulator import PII_COLUMNS
from flows.study import load_study

EXAMPLE = EXAMPLE_STUDY.parent


def test_regenerating_the_example_gives_byte_identical_files(tmp_path: Path) -> None:
    make_example_study(tmp_path)
    for folder, names in (
        ("inbox", ["baseline.csv", "endline.csv", "follow_up.csv"]),
        ("truth", ["effects.csv", "faults.csv", "settings.json"]),
    ):
        for name in names:
            assert (tmp_path / folder / name).read_bytes() == (
                EXAMPLE / folder / name
            ).read_bytes(), name
    assert sorted(p.name for p in (EXAMPLE / "inbox").iterdir()) == [
        "baseline.csv",
        "endline.csv",
        "follow_up.csv",
    ]


def test_example_waves_are_small_and_carry_identifying_columns() -> None:
    study = load_study(EXAMPLE_STUDY)
    assert set(PII_COLUMNS) <= set(study.pii)
    for path in (EXAMPLE / "inbox").iterdir():
        assert path.stat().st_size < 500_000
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert set(PII_COLUMNS) <= set(header)
