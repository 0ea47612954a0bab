"""The study file the README shows is one a user can copy: it loads and reads an export."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from flows import api
from flows.study import load_study

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_example_study_file_loads_and_reads_a_wave(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    example = next(block for block in blocks if block.startswith("id = "))
    (tmp_path / "study.toml").write_text(example, encoding="utf-8")
    study = load_study(tmp_path)
    assert study.design.assignment == "individually_randomised" and not study.clustered
    export = tmp_path / "baseline.csv"
    pd.DataFrame(
        {"id": [1, 2, 3], "group": ["T", "C", "T"], "wellbeing_score": [1.91, 3.4, 4.75]}
    ).to_csv(export, index=False)
    coded = api.read_wave(export, study, wave="baseline")
    assert coded["wellbeing_score"].tolist() == [1.91, 3.4, 4.75]
    assert coded["treated"].tolist() == [1, 0, 1]
